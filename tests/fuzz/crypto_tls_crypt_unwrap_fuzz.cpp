// Fuzz target: tls-crypt unwrap of arbitrary packets (server and client keys), in place and not.
// Inputs whose first byte is 0xff are instead wrapped first, so the fuzzer also reaches the code
// after authentication (replay-id and plaintext extraction) through mutations of valid packets.
#include <cstdint>
#include <cstring>
#include <vector>

#include "crypto/static_key.hpp"
#include "crypto/tls_crypt.hpp"

using namespace wirebridge::crypto;

namespace {

struct Keys {
    TlsCrypt server, client;
};

Keys& keys() {
    static Keys k = [] {
        std::array<uint8_t, kStaticKeySize> b{};
        for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i * 29 + 7);
        StaticKey sk(b);
        return Keys{TlsCrypt::from_static_key(sk, Role::Server).value(),
                    TlsCrypt::from_static_key(sk, Role::Client).value()};
    }();
    return k;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Keys& k = keys();
    if (size > 0 && data[0] == 0xff) {
        std::vector<uint8_t> plain(data + 1, data + size);
        std::vector<uint8_t> wrapped(plain.size() + TlsCrypt::overhead());
        auto n = k.client.wrap(plain, wrapped, ReplayId{1, 2});
        if (!n) return 0;  // shorter than op+sid
        auto u = k.server.unwrap(wrapped, wrapped);
        if (!u || u->length != plain.size() || std::memcmp(wrapped.data(), plain.data(), plain.size()) != 0)
            __builtin_trap();
        return 0;
    }
    std::vector<uint8_t> pkt(data, data + size);
    std::vector<uint8_t> out(size);
    (void)k.server.unwrap(pkt, out);
    (void)k.client.unwrap(pkt, pkt);
    return 0;
}
