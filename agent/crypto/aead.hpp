// AEAD data channel (OpenVPN 2.6 format): per-key, per-direction encrypt/decrypt contexts.
//
// Wire layout of an AEAD data packet (OpenVPN 2.6, crypto.c openvpn_encrypt_aead):
//
//   DATA_V2:  | op<<3|kid | peer-id (24, BE) | packet-id (32, BE) | tag (16) | ciphertext ... |
//             |<------ header, 4 bytes ----->|
//   DATA_V1:  | op<<3|kid | packet-id (32, BE) | tag (16) | ciphertext ... |
//
//   nonce (12) = packet-id (4) || implicit IV (8)
//   AAD        = header (4) || packet-id   for DATA_V2
//                packet-id                 for DATA_V1 (the opcode byte is not authenticated)
//
// Keys come from the 256-byte key block (TLS EKM "EXPORTER-OpenVPN-datakeys" or the legacy PRF):
//   block = c2s cipher (64) || c2s hmac (64) || s2c cipher (64) || s2c hmac (64)
//   cipher key = first key-size bytes of the direction's cipher half,
//   implicit IV = first 8 bytes of the direction's hmac half.
//
// Usage (per key_id, per worker thread; contexts are created once and reused for every packet):
//   auto keys = crypto::split_key_block(block, crypto::Role::Client, crypto::AeadCipher::Aes256Gcm);
//   auto enc = crypto::AeadEncryptor::create(cipher, keys.send);   // Result<AeadEncryptor>
//   auto dec = crypto::AeadDecryptor::create(cipher, keys.recv);
//   // send: caller writes the header at pkt[0..hdr) and the plaintext at pkt[hdr+20 ..), then
//   crypto::AeadStatus s = enc->seal(pkt, hdr, packet_id);       // fills packet-id, tag; encrypts in place
//   // receive: on the packet as it came off the wire
//   crypto::AeadOpened o;
//   s = dec->open(pkt, hdr, o);     // o.packet_id (replay check is the caller's), o.payload (in place)
//
// Neither call allocates, locks or throws; errors are a small enum (AeadStatus) that can index
// counters. The tag is checked in constant time (by OpenSSL's GCM, called through its provider's
// functions: aes_gcm.hpp; for ChaCha20-Poly1305, built
// here from OpenSSL's primitives for speed, by CRYPTO_memcmp before anything is decrypted:
// chacha20_poly1305.hpp). A context is NOT thread-safe: the
// intended use is one context per key per worker thread (create() is cheap enough to do that).
// Packet-id 0 is never valid in OpenVPN; the replay window (caller) refuses it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

#include "common/result.hpp"
#include "crypto/aes_gcm.hpp"
#include "crypto/chacha20_poly1305.hpp"
#include "crypto/role.hpp"
#include "crypto/secure_bytes.hpp"

namespace wirebridge::crypto {

enum class AeadCipher { Aes128Gcm, Aes256Gcm, Chacha20Poly1305 };

inline constexpr std::size_t kKeyBlockSize = 256;
inline constexpr std::size_t kPacketIdSize = 4;
inline constexpr std::size_t kAeadTagSize = 16;
inline constexpr std::size_t kImplicitIvSize = 8;
// Bytes between the header and the payload: packet-id + tag.
inline constexpr std::size_t kAeadOverhead = kPacketIdSize + kAeadTagSize;
inline constexpr std::size_t kDataV1HeaderSize = 1;
inline constexpr std::size_t kDataV2HeaderSize = 4;

// OpenVPN's spelling, case-insensitive: "AES-128-GCM", "AES-256-GCM", "CHACHA20-POLY1305".
std::optional<AeadCipher> parse_aead_cipher(std::string_view name);
// Canonical (upper-case) OpenVPN name, as sent in IV_CIPHERS and pushed with `cipher`.
std::string_view aead_cipher_name(AeadCipher c);

constexpr std::size_t aead_key_size(AeadCipher c) { return c == AeadCipher::Aes128Gcm ? 16 : 32; }

// One direction's key material.
struct AeadKeys {
    SecureBytes key;                          // aead_key_size(cipher) bytes
    SecureArray<kImplicitIvSize> implicit_iv;
};

struct DataChannelKeys {
    AeadKeys send;
    AeadKeys recv;
};

// Splits a 256-byte key block into this peer's send and receive keys: the TLS client sends with
// the c2s halves, the TLS server with the s2c halves.
DataChannelKeys split_key_block(std::span<const uint8_t, kKeyBlockSize> block, Role role, AeadCipher c);

enum class AeadStatus : uint8_t {
    Ok = 0,
    TooShort,      // packet shorter than header + packet-id + tag
    BadHeader,     // header_len is neither 1 (DATA_V1) nor 4 (DATA_V2)
    AuthFailed,    // tag mismatch: wrong key, tampered or truncated packet
    CryptoError,   // OpenSSL refused an operation (should not happen)
    Count_
};
std::string_view aead_status_text(AeadStatus s);

struct AeadOpened {
    uint32_t packet_id = 0;
    std::span<uint8_t> payload;  // decrypted in place inside the packet buffer
};

class AeadContextBase {
public:
    ~AeadContextBase();
    AeadContextBase(AeadContextBase&& o) noexcept;
    AeadContextBase& operator=(AeadContextBase&& o) noexcept;
    AeadContextBase(const AeadContextBase&) = delete;
    AeadContextBase& operator=(const AeadContextBase&) = delete;

    AeadCipher cipher() const { return cipher_; }

protected:
    AeadContextBase(AeadCipher c, std::optional<AesGcm> gcm, std::optional<ChachaPoly> chacha,
                    std::span<const uint8_t, kImplicitIvSize> iv);
    // The keyed context of either kind: an AesGcm for AES-GCM, a ChachaPoly for ChaCha20.
    static Result<AeadContextBase> make(AeadCipher c, const AeadKeys& keys, bool encrypt);
    void nonce(uint32_t packet_id, uint8_t out[12]) const;

    AeadCipher cipher_;
    std::optional<AesGcm> gcm_;         // AES-GCM, keyed once
    std::optional<ChachaPoly> chacha_;  // ChaCha20-Poly1305
    SecureArray<kImplicitIvSize> implicit_iv_;
};

class AeadEncryptor : public AeadContextBase {
public:
    static Result<AeadEncryptor> create(AeadCipher c, const AeadKeys& keys);

    // packet = [header (header_len)][4 bytes for packet-id][16 bytes for tag][plaintext];
    // writes packet-id and tag and encrypts the plaintext in place.
    AeadStatus seal(std::span<uint8_t> packet, std::size_t header_len, uint32_t packet_id);

private:
    explicit AeadEncryptor(AeadContextBase&& base) : AeadContextBase(std::move(base)) {}
};

class AeadDecryptor : public AeadContextBase {
public:
    static Result<AeadDecryptor> create(AeadCipher c, const AeadKeys& keys);

    // packet = the whole received packet; on Ok the payload is decrypted in place and `out` points
    // into it. On failure the payload bytes are unspecified (do not forward them).
    AeadStatus open(std::span<uint8_t> packet, std::size_t header_len, AeadOpened& out);

private:
    explicit AeadDecryptor(AeadContextBase&& base) : AeadContextBase(std::move(base)) {}
};

}  // namespace wirebridge::crypto
