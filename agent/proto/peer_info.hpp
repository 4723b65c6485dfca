// Peer-info: the KEY=VALUE\n lines at the end of key-method 2 (IV_PROTO, IV_CIPHERS, ...).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wirebridge::proto {

class PeerInfo {
public:
    PeerInfo() = default;
    static PeerInfo parse(std::string_view text);

    // Sets (or replaces) KEY=VALUE. Keys and values must be printable without '\n' or '='-in-key.
    void set(std::string key, std::string value);
    std::optional<std::string_view> get(std::string_view key) const;
    std::string serialize() const;

    uint32_t iv_proto() const;                  // 0 if absent or malformed
    std::vector<std::string> ciphers() const;   // IV_CIPHERS split at ':'
    // What a server may assume the client can use (OpenVPN 2.6's tls_peer_ncp_list): IV_CIPHERS;
    // without it AES-256-GCM and AES-128-GCM when IV_NCP >= 2 (a 2.4 client); else nothing.
    std::vector<std::string> ncp_ciphers() const;
    const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }

    // What a wirebridge pull client sends: IV_PROTO 2|4|8|128, the AEAD cipher list.
    static PeerInfo for_pull_client(const std::vector<std::string>& ciphers, std::string_view version,
                                    bool tls_ekm = true);

private:
    std::vector<std::pair<std::string, std::string>> entries_;
};

// The first of `ours` (server's order) that appears in `theirs`, case-insensitively; empty if none.
std::string negotiate_cipher(const std::vector<std::string>& ours, const std::vector<std::string>& theirs);

// A server's choice, as OpenVPN 2.6 makes it (ssl_ncp.c ncp_get_best_cipher, multi.c): the first
// of ours the client supports: its IV_CIPHERS, or without them (a 2.4-era client) AES-256-GCM and
// AES-128-GCM if IV_NCP >= 2 and the cipher its options string names (`remote_cipher`); when
// the client announces nothing at all, `fallback` (--data-ciphers-fallback, may be empty). "" =
// no shared cipher.
std::string choose_server_cipher(const std::vector<std::string>& ours, const PeerInfo& client, const std::string& remote_cipher,
                                 const std::string& fallback);

}  // namespace wirebridge::proto
