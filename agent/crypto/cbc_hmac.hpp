// CBC + HMAC data channel (OpenVPN's pre-AEAD format), for 2.3/2.4-era peers and `cipher
// AES-256-CBC` deployments: per-key, per-direction encrypt-then-MAC contexts.
//
// Wire layout (OpenVPN 2.6, crypto.c openvpn_encrypt_v1, TLS mode):
//
//   | op<<3|kid [| peer-id 24] | HMAC (20/32/48/64) | IV (16, random) | AES-CBC( packet-id (32, BE) | payload | PKCS#7 pad ) |
//   |<------- header -------->|<---- covers ------>|<------------------------ HMAC input ------------------------------->|
//
//   HMAC = HMAC-<auth>(hmac key, IV || ciphertext); the header is not authenticated (as OpenVPN).
//   The packet-id is the short form (4 bytes) and sits inside the encrypted part.
//
// Keys come from the same 256-byte key block as AEAD keys:
//   block = c2s cipher (64) || c2s hmac (64) || s2c cipher (64) || s2c hmac (64)
//   cipher key = first 16/32 bytes of the direction's cipher half,
//   HMAC key   = first digest-size bytes of the direction's hmac half.
//
// A context is not thread-safe (one per key per worker, as AeadEncryptor). Neither call allocates;
// the HMAC is compared in constant time before anything is decrypted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "common/result.hpp"
#include "crypto/aead.hpp"
#include "crypto/hmac.hpp"
#include "crypto/role.hpp"
#include "crypto/secure_bytes.hpp"

namespace wirebridge::crypto {

enum class CbcCipher { Aes128Cbc, Aes256Cbc };

inline constexpr std::size_t kCbcBlockSize = 16;  // AES block, and the IV

// OpenVPN's spelling, case-insensitive: "AES-128-CBC", "AES-256-CBC".
std::optional<CbcCipher> parse_cbc_cipher(std::string_view name);
std::string_view cbc_cipher_name(CbcCipher c);
constexpr std::size_t cbc_key_size(CbcCipher c) { return c == CbcCipher::Aes128Cbc ? 16 : 32; }

// The cipher and the data channel's `auth` digest, which must match on both sides.
struct CbcSuite {
    CbcCipher cipher = CbcCipher::Aes256Cbc;
    Digest digest = Digest::Sha1;
};

// Bytes between the header and the payload (HMAC, IV, packet-id) and the most padding adds after it.
constexpr std::size_t cbc_overhead_before(const CbcSuite& s) { return digest_size(s.digest) + kCbcBlockSize + kPacketIdSize; }
inline constexpr std::size_t kCbcMaxPadding = kCbcBlockSize;

struct CbcKeys {
    SecureBytes cipher_key;  // cbc_key_size bytes
    SecureBytes hmac_key;    // digest_size bytes
};

struct CbcChannelKeys {
    CbcKeys send;
    CbcKeys recv;
};

// This peer's send and receive keys: the TLS client sends with the c2s halves.
CbcChannelKeys split_cbc_key_block(std::span<const uint8_t, kKeyBlockSize> block, Role role, const CbcSuite& s);

class CbcHmacContext {
public:
    ~CbcHmacContext();
    CbcHmacContext(CbcHmacContext&& o) noexcept;
    CbcHmacContext& operator=(CbcHmacContext&& o) noexcept;
    CbcHmacContext(const CbcHmacContext&) = delete;
    CbcHmacContext& operator=(const CbcHmacContext&) = delete;

    const CbcSuite& suite() const { return suite_; }
    std::size_t hmac_size() const { return digest_size(suite_.digest); }

protected:
    CbcHmacContext(const CbcSuite& s, void* ctx, Hmac hmac) : suite_(s), ctx_(ctx), hmac_(std::move(hmac)) {}
    static Result<void*> make_ctx(const CbcSuite& s, const CbcKeys& keys, bool encrypt);
    CbcSuite suite_;
    void* ctx_;  // EVP_CIPHER_CTX*, keyed once; the IV is set per packet
    Hmac hmac_;
};

class CbcEncryptor : public CbcHmacContext {
public:
    static Result<CbcEncryptor> create(const CbcSuite& s, const CbcKeys& keys);

    // buf holds the header at [0, header_len) and the payload at [payload_at, payload_at + len);
    // the packet is written from buf[0] (the payload is moved into place). Returns the packet's length, or 0 when buf is too small
    // (it needs header_len + cbc_overhead_before() + len + kCbcMaxPadding bytes) or OpenSSL fails.
    std::size_t seal(std::span<uint8_t> buf, std::size_t header_len, std::size_t payload_at, std::size_t len,
                     uint32_t packet_id);

private:
    using CbcHmacContext::CbcHmacContext;
};

class CbcDecryptor : public CbcHmacContext {
public:
    static Result<CbcDecryptor> create(const CbcSuite& s, const CbcKeys& keys);

    // packet = the whole received packet. Checks the HMAC (constant time), decrypts in place and
    // checks the padding; on Ok, out.payload points into packet. TooShort: not even HMAC, IV and
    // one block; AuthFailed: a wrong HMAC or bad padding (tampered, or another key).
    AeadStatus open(std::span<uint8_t> packet, std::size_t header_len, AeadOpened& out);

private:
    using CbcHmacContext::CbcHmacContext;
};

}  // namespace wirebridge::crypto
