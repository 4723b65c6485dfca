// Username/password authentication, as OpenVPN's `auth-user-pass FILE` (client) and
// `auth-user-pass-verify CMD via-file|via-env` (server).
//
//   auto up = auth::read_user_pass_file("/etc/wirebridge/site.pass");   // Result<UserPass>
//
//   auth::UserPassVerifier v({.command = {"/usr/local/bin/check", "arg"}, .via_file = true, .timeout_s = 10});
//   auth::VerifyResult r = v.verify(request);   // blocks until the program exits (at most timeout_s)
//
// The program is started directly (posix_spawn, no shell), with stdin on /dev/null and an
// environment of its own, the variables OpenVPN sets for this script: script_type=user-pass-verify,
// username, common_name, untrusted_ip (untrusted_ip6) and untrusted_port, password (via-env only),
// auth_failed_reason_file, the client's IV_/UV_ peer-info variables, and a fixed PATH. via-file:
// its last argument is a 0600 file holding "username\npassword\n", removed after it exits. Exit
// status 0 admits the client; any other status, a signal, or the timeout (the program is then
// killed) refuses it. What the program wrote into auth_failed_reason_file (first line, at most 200
// bytes) is sent to the client as AUTH_FAILED,REASON, as OpenVPN does.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace wirebridge::auth {

struct UserPass {
    std::string username;
    std::string password;
    UserPass() = default;
    UserPass(const UserPass&) = default;
    UserPass& operator=(const UserPass&) = default;
    ~UserPass();  // wipes the password
};

// The file's first line is the username, the second the password (OpenVPN's auth-user-pass FILE).
// A file without a password line is refused: wirebridge never prompts.
Result<UserPass> read_user_pass_file(const std::string& path);

struct VerifyRequest {
    std::string username;
    std::string password;
    std::string common_name;   // the client certificate's CN
    std::string untrusted_ip;  // the client's transport address
    uint16_t untrusted_port = 0;
    bool ipv6 = false;
    std::string peer_info;     // the client's peer-info lines (IV_VER=..., one per line)
    ~VerifyRequest();
};

struct VerifyResult {
    bool ok = false;
    std::string why;            // for the hub's log: "exit status 1", "timed out after 10 s", ...
    std::string client_reason;  // from auth_failed_reason_file: sent as AUTH_FAILED,REASON
};

struct VerifyOptions {
    std::vector<std::string> command;  // argv; command[0] an absolute path
    bool via_file = true;              // false: via-env ($password)
    unsigned timeout_s = 10;
    std::string tmp_dir = "/tmp";      // where the via-file and reason files are made
};

class UserPassVerifier {
public:
    explicit UserPassVerifier(VerifyOptions o) : o_(std::move(o)) {}
    VerifyResult verify(const VerifyRequest& r) const;

    // The environment verify() gives the program (without the files' paths), for tests.
    std::vector<std::string> environment(const VerifyRequest& r) const;

private:
    VerifyOptions o_;
};

}  // namespace wirebridge::auth
