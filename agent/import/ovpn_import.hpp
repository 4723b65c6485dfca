// `wirebridge import`: an OpenVPN config (parsed by ovpn_file.hpp) -> wirebridge's YAML.
//
// Every option is either mapped to a YAML key, ignored with the reason (it has no effect on what
// the tunnel does, or wirebridge does it anyway), or refused with the reason (wirebridge would
// behave differently, e.g. `dev tun`, pushed routes, plugins, CBC ciphers): a file with a refused
// option yields no YAML to use. Inline <ca> <cert> <key> <tls-auth> <tls-crypt> <dh> <crl-verify>
// <auth-user-pass> <extra-certs> <peer-fingerprint> blocks become files (keys 0600).
//
//   import::ImportOptions o{.source_dir = "/etc/openvpn", .out_dir = "/etc/wirebridge", .stem = "hub", .site = "hub"};
//   import::ImportResult r = import::convert_ovpn(*parsed, o);
//   if (r.ok()) write r.yaml and r.files;   print r.mapped, r.ignored, r.refused
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "import/ovpn_file.hpp"

namespace wirebridge::import {

struct ImportOptions {
    std::string source_dir;  // relative file names in the .ovpn are taken from here
    std::string out_dir;     // where the YAML and the inline blocks' files go
    std::string stem;        // file name prefix for the written files ("hub" -> hub-ca.crt)
    std::string site;        // the YAML's site name
};

struct OutputFile {
    std::string path;
    std::string content;
    mode_t mode = 0644;
};

struct ImportResult {
    std::string yaml;
    std::vector<OutputFile> files;
    std::vector<std::string> mapped;   // "line 4: remote vpn.example.net 1194 -> tunnel.remote"
    std::vector<std::string> ignored;  // "line 9: persist-tun: wirebridge keeps its TAP anyway"
    std::vector<std::string> refused;  // "line 3: dev tun: wirebridge bridges Ethernet frames (TAP only)"
    bool ok() const { return refused.empty(); }
};

ImportResult convert_ovpn(const OvpnFile& file, const ImportOptions& options);

}  // namespace wirebridge::import
