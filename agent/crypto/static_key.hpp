// StaticKey: OpenVPN's 2048-bit static key files (tls-auth, tls-crypt, --secret) and key directions.
//
// File format (crypto.c read_key_file / write_key_file, as `openvpn --genkey secret|tls-crypt`):
//
//   #
//   # 2048 bit OpenVPN static key
//   #
//   -----BEGIN OpenVPN Static key V1-----
//   <256 bytes as lower-case hex, 16 bytes per line: 16 lines>
//   -----END OpenVPN Static key V1-----
//
// The 256 bytes are two keys of cipher (64) || hmac (64): key[0] = bytes 0..127, key[1] = 128..255.
// Text before the BEGIN line and after the END line is ignored (like openvpn); inside, hex digits,
// white space and whole `#` comment lines are allowed.
//
// Key direction (`tls-auth FILE [0|1]`, `key-direction`): 0 sends with key[0] and receives with
// key[1]; 1 is the reverse; none uses key[0] both ways. tls-crypt has no direction option: the
// server behaves as direction 0, the client as direction 1 (tls_crypt.c tls_crypt_init_key).
//
// Usage:
//   auto k = crypto::read_static_key_file("/etc/wirebridge/tc.key");   // Result<StaticKey>
//   auto k2 = crypto::parse_static_key(text, "<tls-auth> in site.yaml");
//   auto dir = crypto::parse_key_direction("1");                       // optional<KeyDirection>
//   auto keys = crypto::select_keys(*k, crypto::KeyDirection::Inverse); // send/recv KeyHalf views
//   crypto::write_static_key_file(path, crypto::StaticKey::generate()); // mode 0600, like openvpn
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "crypto/role.hpp"
#include "crypto/secure_bytes.hpp"

namespace wirebridge::crypto {

inline constexpr std::size_t kStaticKeySize = 256;
inline constexpr std::size_t kKeyHalfSize = 64;

enum class KeyDirection {
    Bidirectional,  // no direction given: key[0] both ways
    Normal,         // "0": send key[0], receive key[1]
    Inverse,        // "1": send key[1], receive key[0]
};

// "0" -> Normal, "1" -> Inverse, "" or "none"/"bidirectional" -> Bidirectional.
std::optional<KeyDirection> parse_key_direction(std::string_view s);

// One of the two keys in the file, as views into the StaticKey.
struct KeyHalf {
    std::span<const uint8_t, kKeyHalfSize> cipher;
    std::span<const uint8_t, kKeyHalfSize> hmac;
};

struct KeyPair {
    KeyHalf send;
    KeyHalf recv;
};

class StaticKey {
public:
    StaticKey() = default;
    explicit StaticKey(std::span<const uint8_t, kStaticKeySize> bytes) : bytes_(bytes) {}

    // 256 fresh random bytes; aborts if the DRBG fails (nothing sensible can follow).
    static StaticKey generate();

    std::span<const uint8_t, kStaticKeySize> bytes() const { return bytes_.span(); }
    std::span<uint8_t, kStaticKeySize> bytes() { return bytes_.span(); }
    // index 0 or 1
    KeyHalf key(std::size_t index) const;

private:
    SecureArray<kStaticKeySize> bytes_;
};

// Which key this peer sends and receives with.
KeyPair select_keys(const StaticKey& k, KeyDirection d);
// tls-crypt (and dynamic tls-crypt): the server is direction 0, the client direction 1.
inline KeyDirection tls_crypt_direction(Role r) {
    return r == Role::Server ? KeyDirection::Normal : KeyDirection::Inverse;
}

// Parses the text of a key file; `source` names it in errors ("tc.key:7: ...").
Result<StaticKey> parse_static_key(std::string_view text, std::string_view source);
Result<StaticKey> read_static_key_file(const std::string& path);

// Exactly the text `openvpn --genkey secret` writes.
std::string format_static_key(const StaticKey& k);
// Writes format_static_key(k) to a new file with mode 0600; refuses to overwrite an existing file.
Result<void> write_static_key_file(const std::string& path, const StaticKey& k);

}  // namespace wirebridge::crypto
