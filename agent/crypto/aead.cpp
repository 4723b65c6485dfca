// AEAD data channel: key schedule once per context (AesGcm, ChachaPoly), only the nonce per packet.
#include "crypto/aead.hpp"

#include <cctype>
#include <climits>
#include <cstring>
#include <string>
#include <utility>

namespace wirebridge::crypto {

namespace {

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

AeadContextBase::AeadContextBase(AeadCipher c, std::optional<AesGcm> gcm, std::optional<ChachaPoly> chacha,
                                 std::span<const uint8_t, kImplicitIvSize> iv)
    : cipher_(c), gcm_(std::move(gcm)), chacha_(std::move(chacha)), implicit_iv_(iv) {}

AeadContextBase::~AeadContextBase() = default;  // AesGcm and ChachaPoly free and cleanse their keys

AeadContextBase::AeadContextBase(AeadContextBase&& o) noexcept
    : cipher_(o.cipher_), gcm_(std::move(o.gcm_)), chacha_(std::move(o.chacha_)), implicit_iv_(o.implicit_iv_) {
    o.gcm_.reset();
    o.chacha_.reset();
    secure_wipe(o.implicit_iv_.data(), kImplicitIvSize);
}

AeadContextBase& AeadContextBase::operator=(AeadContextBase&& o) noexcept {
    if (this != &o) {
        cipher_ = o.cipher_;
        gcm_ = std::move(o.gcm_);
        o.gcm_.reset();
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
        return AeadContextBase(c, std::nullopt, std::move(*chacha), keys.implicit_iv.span());
    }
    auto gcm = AesGcm::create(key, encrypt);
    if (!gcm) return fail(gcm.error());
    return AeadContextBase(c, std::move(*gcm), std::nullopt, keys.implicit_iv.span());
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

    put_be32(packet.data() + header_len, packet_id);
    uint8_t iv[12];
    nonce(packet_id, iv);
    uint8_t* tag = packet.data() + header_len + kPacketIdSize;
    uint8_t* body = tag + kAeadTagSize;
    const int body_len = static_cast<int>(packet.size() - header_len - kAeadOverhead);
    auto aad = aad_of(packet, header_len);
    const std::span<const uint8_t, 12> n(iv, 12);
    const std::span<uint8_t> b(body, static_cast<std::size_t>(body_len));
    const std::span<uint8_t, kAeadTagSize> t(tag, kAeadTagSize);
    const bool ok = chacha_ ? chacha_->seal(n, aad, b, t) : gcm_->seal(n, aad, b, t);
    return ok ? AeadStatus::Ok : AeadStatus::CryptoError;
}

AeadStatus AeadDecryptor::open(std::span<uint8_t> packet, std::size_t header_len, AeadOpened& out) {
    if (header_len != kDataV1HeaderSize && header_len != kDataV2HeaderSize) return AeadStatus::BadHeader;
    if (packet.size() < header_len + kAeadOverhead) return AeadStatus::TooShort;
    if (packet.size() - header_len - kAeadOverhead > INT_MAX) return AeadStatus::TooShort;

    const uint32_t packet_id = get_be32(packet.data() + header_len);
    uint8_t iv[12];
    nonce(packet_id, iv);
    uint8_t* tag = packet.data() + header_len + kPacketIdSize;
    uint8_t* body = tag + kAeadTagSize;
    const int body_len = static_cast<int>(packet.size() - header_len - kAeadOverhead);
    auto aad = aad_of(packet, header_len);
    const std::span<const uint8_t, 12> n(iv, 12);
    const std::span<uint8_t> b(body, static_cast<std::size_t>(body_len));
    const std::span<const uint8_t, kAeadTagSize> t(tag, kAeadTagSize);
    if (chacha_) {
        const auto opened = chacha_->open(n, aad, b, t);
        if (opened == ChachaPoly::Opened::auth_failed) return AeadStatus::AuthFailed;
        if (opened != ChachaPoly::Opened::ok) return AeadStatus::CryptoError;
    } else {
        const auto opened = gcm_->open(n, aad, b, t);
        if (opened == AesGcm::Opened::auth_failed) return AeadStatus::AuthFailed;
        if (opened != AesGcm::Opened::ok) return AeadStatus::CryptoError;
    }
    out.packet_id = packet_id;
    out.payload = std::span<uint8_t>(body, static_cast<std::size_t>(body_len));
    return AeadStatus::Ok;
}

}  // namespace wirebridge::crypto
