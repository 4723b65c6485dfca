// Fuzz target: tls-auth unwrap of arbitrary packets with each digest; 0xff-prefixed inputs are
// wrapped first and must unwrap to themselves.
#include <cstdint>
#include <cstring>
#include <vector>

#include "crypto/static_key.hpp"
#include "crypto/tls_auth.hpp"

using namespace wirebridge::crypto;

namespace {

struct Keys {
    std::vector<TlsAuth> tx, rx;  // SHA1, SHA256, SHA512
};

Keys& keys() {
    static Keys k = [] {
        std::array<uint8_t, kStaticKeySize> b{};
        for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i * 31 + 3);
        StaticKey sk(b);
        auto make = [&](KeyDirection d, Digest g) { return TlsAuth::from_static_key(sk, d, g).value(); };
        Keys keys;
        for (Digest g : {Digest::Sha1, Digest::Sha256, Digest::Sha384, Digest::Sha512}) {
            keys.tx.push_back(make(KeyDirection::Inverse, g));
            keys.rx.push_back(make(KeyDirection::Normal, g));
        }
        return keys;
    }();
    return k;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Keys& k = keys();
    if (size > 1 && data[0] == 0xff) {
        const std::size_t which = data[1] % 3u;
        std::vector<uint8_t> plain(data + 2, data + size);
        std::vector<uint8_t> wrapped(plain.size() + k.tx[which].overhead());
        auto n = k.tx[which].wrap(plain, wrapped, ReplayId{5, 6});
        if (!n) return 0;
        auto u = k.rx[which].unwrap(wrapped, wrapped);
        if (!u || u->length != plain.size() || std::memcmp(wrapped.data(), plain.data(), plain.size()) != 0)
            __builtin_trap();
        return 0;
    }
    for (auto& rx : k.rx) {
        std::vector<uint8_t> pkt(data, data + size);
        std::vector<uint8_t> out(size);
        (void)rx.unwrap(pkt, out);
        (void)rx.unwrap(pkt, pkt);
    }
    return 0;
}
