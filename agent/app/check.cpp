// What `wirebridge check` does: load, then build what `run` builds before it touches the system.
#include "app/check.hpp"

#include "app/tunnel_setup.hpp"
#include "config/loader.hpp"
#include "crypto/cert_report.hpp"

namespace wirebridge::app {

int check_config(const std::string& file, std::ostream& out, std::ostream& err, std::int64_t now) {
    const auto r = config::load_config(file);
    if (!r.ok()) {
        for (const auto& e : r.errors) err << e.to_string() << "\n";
        err << file << ": " << r.errors.size() << (r.errors.size() == 1 ? " error" : " errors") << "\n";
        return 1;
    }
    const config::Config& cfg = *r.config;
    // The TLS context and the static keys, by the same code `run` uses: a private key given as
    // `cert`, a key that does not match the certificate or a bad tls-crypt key fail here too.
    if (auto s = make_session_config(cfg); !s) {
        err << file << ": " << s.error().message << "\n" << file << ": 1 error\n";
        return 1;
    }
    crypto::CertCheck cc;
    cc.cert_file = cfg.tunnel.cert;
    cc.ca_file = cfg.tunnel.ca;
    // The peer checks our certificate as made for our role (remote-cert-tls on its side).
    cc.peer_requires = cfg.tunnel.role == config::Role::client ? crypto::RemoteCertTls::Client
                                                               : crypto::RemoteCertTls::Server;
    cc.now = now;
    for (const auto& w : crypto::certificate_warnings(cc)) err << file << ": warning: " << w << "\n";
    out << file << ": OK: " << cfg.summary() << "\n";
    return 0;
}

}  // namespace wirebridge::app
