// What `wirebridge --version` prints.
#include "app/version.hpp"

#include <fstream>

#include "crypto/library_version.hpp"

#ifndef WIREBRIDGE_VERSION
#define WIREBRIDGE_VERSION "0.0.0"
#endif
#ifndef WIREBRIDGE_COMMIT
#define WIREBRIDGE_COMMIT "unknown"
#endif

namespace wirebridge::app {

namespace {

std::string first_line(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

}  // namespace

std::string version_text(const std::string& sys_module) {
    std::string out = "wirebridge " WIREBRIDGE_VERSION "\n";
    out += "commit " WIREBRIDGE_COMMIT "\n";
    out += crypto::openssl_version() + "\n";
    const std::string mod = sys_module + "/xt_GWMARK";
    const std::string version = first_line(mod + "/version");
    const std::string src = first_line(mod + "/srcversion");
    if (!version.empty())
        out += "xt_GWMARK " + version + " loaded\n";
    else if (!src.empty())
        out += "xt_GWMARK loaded (srcversion " + src + ")\n";
    else
        out += "xt_GWMARK not loaded (the tunnel and the bridge work without it)\n";
    return out;
}

}  // namespace wirebridge::app
