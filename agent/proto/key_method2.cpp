// Key-method 2 message codec.
#include "proto/key_method2.hpp"

#include <cstring>

namespace wirebridge::proto {

namespace {

void wipe(void* p, size_t n) {
    volatile uint8_t* v = static_cast<volatile uint8_t*>(p);
    while (n--) *v++ = 0;
}

void write_string(ByteWriter& w, const std::string& s) {
    if (s.empty()) {
        w.u16(0);
        return;
    }
    w.u16(static_cast<uint16_t>(s.size() + 1));
    w.bytes(s.data(), s.size());
    w.u8(0);
}

// Reads a u16-prefixed string; the last byte is the terminator (openvpn overwrites it with NUL).
// Missing string = end of buffer: `present` false, not an error.
bool read_string(ByteReader& r, size_t max, std::string& out, bool& present) {
    out.clear();
    present = false;
    if (r.remaining() == 0) return true;
    const uint16_t len = r.u16();
    if (!r.ok()) return false;
    present = true;
    if (len == 0) return true;
    if (len > max + 1) return false;
    ByteSpan b = r.bytes(len);
    if (!r.ok()) return false;
    size_t n = len - 1;
    const void* nul = std::memchr(b.data(), 0, n);
    if (nul) n = static_cast<size_t>(static_cast<const uint8_t*>(nul) - b.data());
    out.assign(reinterpret_cast<const char*>(b.data()), n);
    return true;
}

}  // namespace

KeyMethod2::~KeyMethod2() {
    wipe(pre_master.data(), pre_master.size());
    wipe(random1.data(), random1.size());
    wipe(random2.data(), random2.size());
    if (!password.empty()) wipe(password.data(), password.size());
}

std::vector<uint8_t> encode_key_method2(const KeyMethod2& km) {
    std::vector<uint8_t> out(4 + 1 + kPreMasterLen + 2 * kRandomLen + 4 * 3 + km.options.size() +
                             km.username.size() + km.password.size() + km.peer_info.size() + 8);
    ByteWriter w(out);
    w.u32(0);
    w.u8(kKeyMethod2);
    if (km.tls_client) w.bytes(km.pre_master.data(), km.pre_master.size());
    w.bytes(km.random1.data(), km.random1.size());
    w.bytes(km.random2.data(), km.random2.size());
    write_string(w, km.options);
    write_string(w, km.username);
    write_string(w, km.password);
    write_string(w, km.peer_info);
    out.resize(w.ok() ? w.size() : 0);
    return out;
}

Drop parse_key_method2(ByteSpan in, bool sender_is_tls_client, KeyMethod2& out, size_t* consumed) {
    ByteReader r(in);
    if (r.u32() != 0 || !r.ok()) return r.ok() ? Drop::bad_message : Drop::truncated;
    const uint8_t method = r.u8();
    if (!r.ok()) return Drop::truncated;
    if ((method & kKeyMethodMask) != kKeyMethod2) return Drop::bad_message;
    out.tls_client = sender_is_tls_client;
    if (sender_is_tls_client && !r.copy(out.pre_master.data(), kPreMasterLen)) return Drop::truncated;
    if (!r.copy(out.random1.data(), kRandomLen) || !r.copy(out.random2.data(), kRandomLen))
        return Drop::truncated;
    bool present = false;
    if (!read_string(r, kMaxOptionsString, out.options, present)) return Drop::bad_message;
    if (!present) return Drop::truncated;  // the options string is mandatory
    if (!read_string(r, kMaxUserPass, out.username, present)) return Drop::bad_message;
    if (!read_string(r, kMaxUserPass, out.password, present)) return Drop::bad_message;
    if (!read_string(r, kMaxPeerInfo, out.peer_info, present)) return Drop::bad_message;
    if (consumed) *consumed = r.position();
    return Drop::none;
}

std::string options_string_cipher(std::string_view options) {
    while (!options.empty()) {
        const size_t comma = options.find(',');
        std::string_view item = options.substr(0, comma);
        if (item.substr(0, 7) == "cipher ") return std::string(item.substr(7));
        if (comma == std::string_view::npos) break;
        options.remove_prefix(comma + 1);
    }
    return {};
}

std::string options_string(bool tls_client, bool tcp, size_t tun_mtu, bool compression) {
    // 2.6 still computes link-mtu from the BF-CBC/SHA1 defaults; peers only warn on mismatch.
    std::string s = "V4,dev-type tap,link-mtu " + std::to_string(tun_mtu + 73) + ",tun-mtu " +
                    std::to_string(tun_mtu) + ",proto " + (tcp ? (tls_client ? "TCPv4_CLIENT" : "TCPv4_SERVER") : "UDPv4") +
                    (compression ? ",comp-lzo" : "") + ",cipher BF-CBC,auth SHA1,keysize 128,key-method 2," +
                    (tls_client ? "tls-client" : "tls-server");
    return s;
}

}  // namespace wirebridge::proto
