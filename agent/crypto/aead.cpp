// AEAD data channel over EVP_CIPHER_CTX: key schedule once per context, only the nonce per packet.
#include "crypto/aead.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cctype>
#include <climits>
#include <cstring>
#include <string>
#include <utility>

namespace wirebridge::crypto {

namespace {

EVP_CIPHER_CTX* ctx_of(void* p) { return static_cast<EVP_CIPHER_CTX*>(p); }

const EVP_CIPHER* evp_cipher(AeadCipher c) {
    switch (c) {
    case AeadCipher::Aes128Gcm: return EVP_aes_128_gcm();
    case AeadCipher::Aes256Gcm: return EVP_aes_256_gcm();
    case AeadCipher::Chacha20Poly1305: return EVP_chacha20_poly1305();
    }
    return nullptr;
}

void put_be32(uint8_t* p, uint32_t v) {
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
}

uint32_t get_be32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// AAD is header||packet-id for DATA_V2 and the packet-id alone for DATA_V1; both are contiguous
// in the packet, so the AAD is one slice of it.
std::span<const uint8_t> aad_of(std::span<const uint8_t> packet, std::size_t header_len) {
    std::size_t start = header_len == kDataV2HeaderSize ? 0 : header_len;
    return packet.subspan(start, header_len + kPacketIdSize - start);
}

}  // namespace

std::optional<AeadCipher> parse_aead_cipher(std::string_view name) {
    std::string n;
    for (char c : name) n.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    if (n == "AES-128-GCM") return AeadCipher::Aes128Gcm;
    if (n == "AES-256-GCM") return AeadCipher::Aes256Gcm;
    if (n == "CHACHA20-POLY1305") return AeadCipher::Chacha20Poly1305;
    return std::nullopt;
}

std::string_view aead_cipher_name(AeadCipher c) {
    switch (c) {
    case AeadCipher::Aes128Gcm: return "AES-128-GCM";
    case AeadCipher::Aes256Gcm: return "AES-256-GCM";
    case AeadCipher::Chacha20Poly1305: return "CHACHA20-POLY1305";
    }
    return "?";
}

std::string_view aead_status_text(AeadStatus s) {
    switch (s) {
    case AeadStatus::Ok: return "ok";
    case AeadStatus::TooShort: return "packet too short";
    case AeadStatus::BadHeader: return "bad data header length";
    case AeadStatus::AuthFailed: return "authentication failed";
    case AeadStatus::CryptoError: return "crypto library error";
    case AeadStatus::Count_: break;
    }
    return "?";
}

DataChannelKeys split_key_block(std::span<const uint8_t, kKeyBlockSize> block, Role role, AeadCipher c) {
    // One key (cipher 64 + hmac 64) per direction: [0] client->server, [1] server->client.
    auto direction = [&](std::size_t index) {
        const uint8_t* base = block.data() + index * 128;
        AeadKeys k{SecureBytes(std::span<const uint8_t>(base, aead_key_size(c))), {}};
        std::memcpy(k.implicit_iv.data(), base + 64, kImplicitIvSize);
        return k;
    };
    std::size_t send = role == Role::Client ? 0 : 1;
    return DataChannelKeys{direction(send), direction(1 - send)};
}

AeadContextBase::AeadContextBase(AeadCipher c, void* ctx, std::optional<ChachaPoly> chacha,
                                 std::span<const uint8_t, kImplicitIvSize> iv)
    : cipher_(c), ctx_(ctx), chacha_(std::move(chacha)), implicit_iv_(iv) {}

AeadContextBase::~AeadContextBase() { EVP_CIPHER_CTX_free(ctx_of(ctx_)); }  // frees and cleanses the key

AeadContextBase::AeadContextBase(AeadContextBase&& o) noexcept
    : cipher_(o.cipher_), ctx_(std::exchange(o.ctx_, nullptr)), chacha_(std::move(o.chacha_)), implicit_iv_(o.implicit_iv_) {
    o.chacha_.reset();
    secure_wipe(o.implicit_iv_.data(), kImplicitIvSize);
}

AeadContextBase& AeadContextBase::operator=(AeadContextBase&& o) noexcept {
    if (this != &o) {
        EVP_CIPHER_CTX_free(ctx_of(ctx_));
        cipher_ = o.cipher_;
        ctx_ = std::exchange(o.ctx_, nullptr);
        chacha_ = std::move(o.chacha_);
        o.chacha_.reset();
        implicit_iv_ = o.implicit_iv_;
        secure_wipe(o.implicit_iv_.data(), kImplicitIvSize);
    }
    return *this;
}

Result<AeadContextBase> AeadContextBase::make(AeadCipher c, const AeadKeys& keys, bool encrypt) {
    std::span<const uint8_t> key = keys.key.span();
    if (key.size() != aead_key_size(c))
        return fail(std::string(aead_cipher_name(c)) + " needs a " + std::to_string(aead_key_size(c)) +
                    "-byte key, got " + std::to_string(key.size()));
    if (c == AeadCipher::Chacha20Poly1305) {
        auto chacha = ChachaPoly::create(key);
        if (!chacha) return fail(chacha.error());
        return AeadContextBase(c, nullptr, std::move(*chacha), keys.implicit_iv.span());
    }
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    if (ctx == nullptr) return fail("out of memory creating a cipher context");
    const int enc = encrypt ? 1 : 0;
    if (EVP_CipherInit_ex(ctx, evp_cipher(c), nullptr, nullptr, nullptr, enc) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, nullptr) != 1 ||
        EVP_CipherInit_ex(ctx, nullptr, nullptr, key.data(), nullptr, enc) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        return fail(std::string("cannot initialise ") + std::string(aead_cipher_name(c)));
    }
    return AeadContextBase(c, ctx, std::nullopt, keys.implicit_iv.span());
}

void AeadContextBase::nonce(uint32_t packet_id, uint8_t out[12]) const {
    put_be32(out, packet_id);
    std::memcpy(out + kPacketIdSize, implicit_iv_.data(), kImplicitIvSize);
}

Result<AeadEncryptor> AeadEncryptor::create(AeadCipher c, const AeadKeys& keys) {
    auto base = make(c, keys, true);
    if (!base) return fail(base.error());
    return AeadEncryptor(std::move(*base));
}

Result<AeadDecryptor> AeadDecryptor::create(AeadCipher c, const AeadKeys& keys) {
    auto base = make(c, keys, false);
    if (!base) return fail(base.error());
    return AeadDecryptor(std::move(*base));
}

AeadStatus AeadEncryptor::seal(std::span<uint8_t> packet, std::size_t header_len, uint32_t packet_id) {
    if (header_len != kDataV1HeaderSize && header_len != kDataV2HeaderSize) return AeadStatus::BadHeader;
    if (packet.size() < header_len + kAeadOverhead) return AeadStatus::TooShort;
    if (packet.size() - header_len - kAeadOverhead > INT_MAX) return AeadStatus::TooShort;
    EVP_CIPHER_CTX* ctx = ctx_of(ctx_);

    put_be32(packet.data() + header_len, packet_id);
    uint8_t iv[12];
    nonce(packet_id, iv);
    uint8_t* tag = packet.data() + header_len + kPacketIdSize;
    uint8_t* body = tag + kAeadTagSize;
    const int body_len = static_cast<int>(packet.size() - header_len - kAeadOverhead);
    auto aad = aad_of(packet, header_len);
    if (chacha_)
        return chacha_->seal(std::span<const uint8_t, 12>(iv, 12), aad, std::span<uint8_t>(body, static_cast<std::size_t>(body_len)),
                             std::span<uint8_t, kAeadTagSize>(tag, kAeadTagSize))
                   ? AeadStatus::Ok
                   : AeadStatus::CryptoError;
    int n = 0;
    if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, iv) != 1 ||
        EVP_EncryptUpdate(ctx, nullptr, &n, aad.data(), static_cast<int>(aad.size())) != 1)
        return AeadStatus::CryptoError;
    // GCM and ChaCha20-Poly1305 are stream modes: in == out is allowed and nothing is buffered.
    if (body_len > 0 && EVP_EncryptUpdate(ctx, body, &n, body, body_len) != 1) return AeadStatus::CryptoError;
    // The tag through the provider's parameters directly: EVP_CIPHER_CTX_ctrl would build the
    // same OSSL_PARAM array after a switch over every legacy control.
    OSSL_PARAM params[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, kAeadTagSize),
                            OSSL_PARAM_construct_end()};
    if (EVP_EncryptFinal_ex(ctx, body + body_len, &n) != 1 || EVP_CIPHER_CTX_get_params(ctx, params) != 1)
        return AeadStatus::CryptoError;
    return AeadStatus::Ok;
}

AeadStatus AeadDecryptor::open(std::span<uint8_t> packet, std::size_t header_len, AeadOpened& out) {
    if (header_len != kDataV1HeaderSize && header_len != kDataV2HeaderSize) return AeadStatus::BadHeader;
    if (packet.size() < header_len + kAeadOverhead) return AeadStatus::TooShort;
    if (packet.size() - header_len - kAeadOverhead > INT_MAX) return AeadStatus::TooShort;
    EVP_CIPHER_CTX* ctx = ctx_of(ctx_);

    const uint32_t packet_id = get_be32(packet.data() + header_len);
    uint8_t iv[12];
    nonce(packet_id, iv);
    uint8_t* tag = packet.data() + header_len + kPacketIdSize;
    uint8_t* body = tag + kAeadTagSize;
    const int body_len = static_cast<int>(packet.size() - header_len - kAeadOverhead);
    auto aad = aad_of(packet, header_len);
    if (chacha_) {
        const auto opened = chacha_->open(std::span<const uint8_t, 12>(iv, 12), aad,
                                          std::span<uint8_t>(body, static_cast<std::size_t>(body_len)),
                                          std::span<const uint8_t, kAeadTagSize>(tag, kAeadTagSize));
        if (opened == ChachaPoly::Opened::auth_failed) return AeadStatus::AuthFailed;
        if (opened != ChachaPoly::Opened::ok) return AeadStatus::CryptoError;
        out.packet_id = packet_id;
        out.payload = std::span<uint8_t>(body, static_cast<std::size_t>(body_len));
        return AeadStatus::Ok;
    }
    int n = 0;
    OSSL_PARAM params[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, kAeadTagSize),
                            OSSL_PARAM_construct_end()};
    if (EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, iv) != 1 || EVP_CIPHER_CTX_set_params(ctx, params) != 1 ||
        EVP_DecryptUpdate(ctx, nullptr, &n, aad.data(), static_cast<int>(aad.size())) != 1)
        return AeadStatus::CryptoError;
    if (body_len > 0 && EVP_DecryptUpdate(ctx, body, &n, body, body_len) != 1) return AeadStatus::CryptoError;
    // Final compares the tag (constant time inside OpenSSL).
    if (EVP_DecryptFinal_ex(ctx, body + body_len, &n) != 1) return AeadStatus::AuthFailed;
    out.packet_id = packet_id;
    out.payload = std::span<uint8_t>(body, static_cast<std::size_t>(body_len));
    return AeadStatus::Ok;
}

}  // namespace wirebridge::crypto
