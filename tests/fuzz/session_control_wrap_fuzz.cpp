// Fuzz target: tls-auth / tls-crypt unwrap of arbitrary bytes, and wrap->unwrap round trips.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "proto/control_packet.hpp"
#include "session/control_wrap.hpp"

using namespace wirebridge;
using namespace wirebridge::session;

namespace {

crypto::StaticKey fixed_key() {
    std::array<uint8_t, crypto::kStaticKeySize> b{};
    for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i * 7 + 3);
    return crypto::StaticKey(b);
}

ControlWrap make(WrapMode m, Role r) {
    WrapConfig c;
    c.mode = m;
    c.key = fixed_key();
    c.direction = r == Role::server ? crypto::KeyDirection::Normal : crypto::KeyDirection::Inverse;
    auto w = ControlWrap::create(c, r, 1000);
    if (!w) std::abort();
    return std::move(*w);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static ControlWrap auth_srv = make(WrapMode::tls_auth, Role::server);
    static ControlWrap crypt_srv = make(WrapMode::tls_crypt, Role::server);
    static ControlWrap auth_cli = make(WrapMode::tls_auth, Role::client);
    static ControlWrap crypt_cli = make(WrapMode::tls_crypt, Role::client);
    const proto::ByteSpan in(data, size);
    std::vector<uint8_t> out;
    for (ControlWrap* w : {&auth_srv, &crypt_srv}) {
        if (w->unwrap(in, out, 1000) == proto::Drop::none) {
            proto::ControlPacket p;
            (void)proto::parse_control_packet(out, p);
        }
    }
    // Anything the client wraps, the server unwraps to the same bytes (prefix + body).
    if (size >= proto::kWrapPrefixLen) {
        for (auto [cli, srv] : {std::pair{&auth_cli, &auth_srv}, std::pair{&crypt_cli, &crypt_srv}}) {
            std::vector<uint8_t> wire, back;
            if (!cli->wrap(in, wire)) std::abort();
            if (srv->unwrap(wire, back, 1000, false) != proto::Drop::none) std::abort();
            if (back.size() != size || std::memcmp(back.data(), data, size) != 0) std::abort();
        }
    }
    return 0;
}
