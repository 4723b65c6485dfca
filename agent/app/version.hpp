// `wirebridge --version`: the build (version, commit), the OpenSSL it runs with and the kernel
// module as loaded, the first line "wirebridge VERSION" for scripts.
#pragma once

#include <string>

namespace wirebridge::app {

// `sys_module` is where the kernel lists loaded modules (tests give their own).
std::string version_text(const std::string& sys_module = "/sys/module");

}  // namespace wirebridge::app
