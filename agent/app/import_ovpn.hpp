// `wirebridge import FILE.ovpn [-o OUT.yaml] [--site NAME]` (agent/import does the conversion).
#pragma once

#include <ostream>
#include <string>

namespace wirebridge::app {

// Writes OUT.yaml (default: FILE's stem + ".yaml" beside FILE) and the inline blocks' files beside
// it, never over existing files; prints mapped / ignored / refused options. Exit status: 0 written,
// 1 refused, unreadable or not written.
int import_ovpn_command(const std::string& file, const std::string& out, const std::string& site, std::ostream& o,
                        std::ostream& err);

}  // namespace wirebridge::app
