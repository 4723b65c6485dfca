// Key-method 2 message: the first plaintext each side writes into the TLS tunnel.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/bytes.hpp"
#include "proto/constants.hpp"

namespace wirebridge::proto {

//  +-----------+----+---------------+---------+---------+----------------+----------+----------+-----------+
//  | 0 (u32)   | km | pre_master 48 | random1 | random2 | options string | username | password | peer-info |
//  |           | =2 | (TLS client)  |   32    |   32    | u16 len+str+NUL| (same)   | (same)   | (same)    |
//  +-----------+----+---------------+---------+---------+----------------+----------+----------+-----------+
// Strings: u16 length including the NUL, then the bytes; length 0 means empty (2.6 writes that
// for absent username/password). Username, password and peer-info may be missing entirely.
struct KeyMethod2 {
    bool tls_client = true;  // selects whether pre_master is present
    std::array<uint8_t, kPreMasterLen> pre_master{};
    std::array<uint8_t, kRandomLen> random1{};
    std::array<uint8_t, kRandomLen> random2{};
    std::string options;
    std::string username;
    std::string password;
    std::string peer_info;

    ~KeyMethod2();  // wipes secrets
};

// Encodes; empty username/password/peer-info become length-0 strings.
std::vector<uint8_t> encode_key_method2(const KeyMethod2& km);
// Parses the message a peer of the other role sent (`sender_is_tls_client`: pre_master present).
// `consumed` (optional) receives the message length, since TLS may deliver it together with the
// text messages that follow it.
Drop parse_key_method2(ByteSpan in, bool sender_is_tls_client, KeyMethod2& out, size_t* consumed = nullptr);

// The options-compat string 2.6 sends (only ever compared for warnings, but keep it honest).
// compression: a compression framing is active; OpenVPN then adds ",comp-lzo" whatever the algorithm
// (a 2.6 server's `compress migrate` reads it to push "comp-lzo no").
std::string options_string(bool tls_client, bool tcp, size_t tun_mtu = 1500, bool compression = false);

// The cipher a peer's options string names (",cipher AES-256-CBC,"), or "" (OpenVPN's
// remote_ciphername: what a 2.3/2.4 client without IV_CIPHERS runs).
std::string options_string_cipher(std::string_view options);

}  // namespace wirebridge::proto
