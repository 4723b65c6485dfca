// CBC + HMAC data channel over EVP_CIPHER_CTX and EVP_MAC: keyed once per context, IV per packet.
#include "crypto/cbc_hmac.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cctype>
#include <climits>
#include <cstring>
#include <string>
#include <utility>

namespace wirebridge::crypto {

namespace {

EVP_CIPHER_CTX* ctx_of(void* p) { return static_cast<EVP_CIPHER_CTX*>(p); }

const EVP_CIPHER* evp_cipher(CbcCipher c) { return c == CbcCipher::Aes128Cbc ? EVP_aes_128_cbc() : EVP_aes_256_cbc(); }

void put_be32(uint8_t* p, uint32_t v) {
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
}

}  // namespace

std::optional<CbcCipher> parse_cbc_cipher(std::string_view name) {
    std::string n;
    for (char c : name) n.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    if (n == "AES-128-CBC") return CbcCipher::Aes128Cbc;
    if (n == "AES-256-CBC") return CbcCipher::Aes256Cbc;
    return std::nullopt;
}

std::string_view cbc_cipher_name(CbcCipher c) { return c == CbcCipher::Aes128Cbc ? "AES-128-CBC" : "AES-256-CBC"; }

CbcChannelKeys split_cbc_key_block(std::span<const uint8_t, kKeyBlockSize> block, Role role, const CbcSuite& s) {
    auto direction = [&](std::size_t index) {
        const uint8_t* base = block.data() + index * 128;
        return CbcKeys{SecureBytes(std::span<const uint8_t>(base, cbc_key_size(s.cipher))),
                       SecureBytes(std::span<const uint8_t>(base + 64, digest_size(s.digest)))};
    };
    const std::size_t send = role == Role::Client ? 0 : 1;
    return CbcChannelKeys{direction(send), direction(1 - send)};
}

CbcHmacContext::~CbcHmacContext() { EVP_CIPHER_CTX_free(ctx_of(ctx_)); }

CbcHmacContext::CbcHmacContext(CbcHmacContext&& o) noexcept
    : suite_(o.suite_), ctx_(std::exchange(o.ctx_, nullptr)), hmac_(std::move(o.hmac_)) {}

CbcHmacContext& CbcHmacContext::operator=(CbcHmacContext&& o) noexcept {
    if (this != &o) {
        EVP_CIPHER_CTX_free(ctx_of(ctx_));
        suite_ = o.suite_;
        ctx_ = std::exchange(o.ctx_, nullptr);
        hmac_ = std::move(o.hmac_);
    }
    return *this;
}

Result<void*> CbcHmacContext::make_ctx(const CbcSuite& s, const CbcKeys& keys, bool encrypt) {
    if (keys.cipher_key.size() != cbc_key_size(s.cipher) || keys.hmac_key.size() != digest_size(s.digest))
        return fail(std::string(cbc_cipher_name(s.cipher)) + "/" + std::string(digest_name(s.digest)) +
                    ": wrong key sizes");
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    if (ctx == nullptr) return fail("out of memory creating a cipher context");
    if (EVP_CipherInit_ex(ctx, evp_cipher(s.cipher), nullptr, keys.cipher_key.data(), nullptr, encrypt ? 1 : 0) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        return fail(std::string("cannot initialise ") + std::string(cbc_cipher_name(s.cipher)));
    }
    return static_cast<void*>(ctx);
}

Result<CbcEncryptor> CbcEncryptor::create(const CbcSuite& s, const CbcKeys& keys) {
    auto ctx = make_ctx(s, keys, true);
    if (!ctx) return fail(ctx.error());
    auto h = Hmac::create(s.digest, keys.hmac_key.span());
    if (!h) {
        EVP_CIPHER_CTX_free(ctx_of(*ctx));
        return fail(h.error());
    }
    return CbcEncryptor(s, *ctx, std::move(*h));
}

Result<CbcDecryptor> CbcDecryptor::create(const CbcSuite& s, const CbcKeys& keys) {
    auto ctx = make_ctx(s, keys, false);
    if (!ctx) return fail(ctx.error());
    auto h = Hmac::create(s.digest, keys.hmac_key.span());
    if (!h) {
        EVP_CIPHER_CTX_free(ctx_of(*ctx));
        return fail(h.error());
    }
    return CbcDecryptor(s, *ctx, std::move(*h));
}

std::size_t CbcEncryptor::seal(std::span<uint8_t> buf, std::size_t header_len, std::size_t payload_at, std::size_t len,
                               uint32_t packet_id) {
    const std::size_t mac = hmac_size();
    const std::size_t iv_at = header_len + mac;
    const std::size_t plain_at = iv_at + kCbcBlockSize;  // packet-id, then the payload
    const std::size_t plain_len = kPacketIdSize + len;
    const std::size_t ct_len = (plain_len / kCbcBlockSize + 1) * kCbcBlockSize;  // PKCS#7: 1..16 bytes
    if (buf.size() < plain_at + ct_len || payload_at + len > buf.size() || ct_len > INT_MAX)
        return 0;
    std::memmove(buf.data() + plain_at + kPacketIdSize, buf.data() + payload_at, len);
    put_be32(buf.data() + plain_at, packet_id);
    uint8_t* iv = buf.data() + iv_at;
    if (RAND_bytes(iv, static_cast<int>(kCbcBlockSize)) != 1) return 0;
    EVP_CIPHER_CTX* ctx = ctx_of(ctx_);
    uint8_t* p = buf.data() + plain_at;
    int n = 0, m = 0;
    // CBC in place (out == in) is allowed; Final writes the padded last block after it.
    if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, iv) != 1 ||
        EVP_EncryptUpdate(ctx, p, &n, p, static_cast<int>(plain_len)) != 1 || EVP_EncryptFinal_ex(ctx, p + n, &m) != 1 ||
        static_cast<std::size_t>(n + m) != ct_len)
        return 0;
    hmac_.reset();
    hmac_.update(std::span<const uint8_t>(iv, kCbcBlockSize + ct_len));
    hmac_.final(buf.subspan(header_len, mac));
    return plain_at + ct_len;
}

AeadStatus CbcDecryptor::open(std::span<uint8_t> packet, std::size_t header_len, AeadOpened& out) {
    if (header_len != kDataV1HeaderSize && header_len != kDataV2HeaderSize) return AeadStatus::BadHeader;
    const std::size_t mac = hmac_size();
    const std::size_t iv_at = header_len + mac;
    const std::size_t ct_at = iv_at + kCbcBlockSize;
    if (packet.size() < ct_at + kCbcBlockSize) return AeadStatus::TooShort;
    const std::size_t ct_len = packet.size() - ct_at;
    if (ct_len % kCbcBlockSize != 0 || ct_len > INT_MAX) return AeadStatus::AuthFailed;
    uint8_t want[kMaxDigestSize];
    hmac_.reset();
    hmac_.update(packet.subspan(iv_at));
    hmac_.final(want);
    if (CRYPTO_memcmp(want, packet.data() + header_len, mac) != 0) return AeadStatus::AuthFailed;
    EVP_CIPHER_CTX* ctx = ctx_of(ctx_);
    uint8_t* p = packet.data() + ct_at;
    int n = 0, m = 0;
    if (EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, packet.data() + iv_at) != 1 ||
        EVP_DecryptUpdate(ctx, p, &n, p, static_cast<int>(ct_len)) != 1)
        return AeadStatus::CryptoError;
    // Authentic but badly padded: only a peer with our HMAC key can send it; refuse it all the same.
    if (EVP_DecryptFinal_ex(ctx, p + n, &m) != 1) return AeadStatus::AuthFailed;
    const std::size_t plain_len = static_cast<std::size_t>(n + m);
    if (plain_len < kPacketIdSize) return AeadStatus::TooShort;
    out.packet_id = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
    out.payload = std::span<uint8_t>(p + kPacketIdSize, plain_len - kPacketIdSize);
    return AeadStatus::Ok;
}

}  // namespace wirebridge::crypto
