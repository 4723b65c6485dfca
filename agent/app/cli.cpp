// Command-line parsing for `wirebridge`.
#include "app/cli.hpp"

namespace wirebridge::app {

std::string usage_text() {
    return "usage: wirebridge run -c FILE          run the tunnel described by FILE\n"
           "       wirebridge check -c FILE        validate FILE; print a summary or every error\n"
           "       wirebridge cleanup -c FILE      remove what a killed agent of FILE's site left\n"
           "       wirebridge modules -c FILE      load the kernel modules FILE needs (the unit's ExecStartPre)\n"
           "       wirebridge genkey tls-crypt FILE  write a new tls-crypt key (OpenVPN format)\n"
           "       wirebridge genkey tls-auth FILE   write a new tls-auth key (OpenVPN format)\n"
           "       wirebridge status [--json | --prometheus] [NAME | -c FILE | --socket PATH]\n"
           "                                       peers, keys, traffic, drops, fast path of a running agent\n"
           "       wirebridge flows [--json] [NAME | -c FILE | --socket PATH]\n"
           "                                       flows cached by the kernel fast path (xt_GWMARK)\n"
           "       wirebridge import FILE.ovpn [-o OUT.yaml] [--site NAME]\n"
           "                                       an OpenVPN config -> the equivalent YAML (and key files)\n"
           "       wirebridge --help | --version\n"
           "status and flows ask the agent's control socket: the one FILE names, else --socket;\n"
           "NAME is the instance (/etc/wirebridge/NAME.yaml) or site (/run/wirebridge/NAME/control.sock);\n"
           "with none of them, the only agent running under /run/wirebridge.\n";
}

CliResult parse_cli(const std::vector<std::string>& args) {
    CliResult r;
    auto usage = [&](std::string msg) {
        r.ok = false;
        r.error = "wirebridge: " + msg;
        return r;
    };
    if (args.empty()) return usage("no command given");
    const std::string& cmd = args[0];
    // `wirebridge COMMAND --help` anywhere after the command: that command's help.
    for (std::size_t i = 1; i < args.size(); ++i)
        if ((args[i] == "-h" || args[i] == "--help") && !command_help(cmd).empty()) {
            r.ok = true;
            r.command.kind = Command::Kind::help;
            r.command.help_topic = cmd;
            return r;
        }
    if (cmd == "-h" || cmd == "--help" || cmd == "help") {
        if (args.size() > 1) return usage("'" + cmd + "' takes no arguments");
        r.ok = true;
        r.command.kind = Command::Kind::help;
        return r;
    }
    if (cmd == "-V" || cmd == "--version" || cmd == "version") {
        if (args.size() > 1) return usage("'" + cmd + "' takes no arguments");
        r.ok = true;
        r.command.kind = Command::Kind::version;
        return r;
    }
    if (cmd == "run" || cmd == "check" || cmd == "cleanup" || cmd == "modules") {
        r.command.kind = cmd == "run"       ? Command::Kind::run
                         : cmd == "check"   ? Command::Kind::check
                         : cmd == "cleanup" ? Command::Kind::cleanup
                                            : Command::Kind::modules;
        for (std::size_t i = 1; i < args.size(); ++i) {
            const std::string& a = args[i];
            if (a == "-c" || a == "--config") {
                if (i + 1 >= args.size()) return usage(a + " needs a file name");
                if (!r.command.config_file.empty()) return usage("the config file is given twice");
                r.command.config_file = args[++i];
            } else if (a.rfind("--config=", 0) == 0) {
                if (!r.command.config_file.empty()) return usage("the config file is given twice");
                r.command.config_file = a.substr(9);
            } else {
                return usage("unknown argument '" + a + "' for " + cmd);
            }
        }
        if (r.command.config_file.empty()) return usage(cmd + " needs -c FILE");
        r.ok = true;
        return r;
    }
    if (cmd == "status" || cmd == "flows") {
        r.command.kind = cmd == "status" ? Command::Kind::status : Command::Kind::flows;
        for (std::size_t i = 1; i < args.size(); ++i) {
            const std::string& a = args[i];
            if (a == "--json") {
                r.command.json = true;
            } else if (a == "--prometheus" && cmd == "status") {
                r.command.prometheus = true;
            } else if ((a == "-c" || a == "--config") && i + 1 < args.size()) {
                r.command.config_file = args[++i];
            } else if (a == "--socket" && i + 1 < args.size()) {
                r.command.socket = args[++i];
            } else if (!a.empty() && a[0] != '-' && r.command.instance.empty()) {
                r.command.instance = a;
            } else {
                return usage("unknown or incomplete argument '" + a + "' for " + cmd);
            }
        }
        if (r.command.json && r.command.prometheus) return usage("status takes --json or --prometheus, not both");
        if (!r.command.config_file.empty() + !r.command.socket.empty() + !r.command.instance.empty() > 1)
            return usage(cmd + " takes one of NAME, -c FILE or --socket PATH");
        r.ok = true;
        return r;
    }
    if (cmd == "genkey") {
        if (args.size() != 3) return usage("genkey needs a kind (tls-crypt or tls-auth) and a file name");
        if (args[1] != "tls-crypt" && args[1] != "tls-auth")
            return usage("genkey kind must be tls-crypt or tls-auth, not '" + args[1] + "'");
        r.command.kind = Command::Kind::genkey;
        r.command.key_kind = args[1];
        r.command.key_file = args[2];
        r.ok = true;
        return r;
    }
    if (cmd == "import") {
        r.command.kind = Command::Kind::import_ovpn;
        for (std::size_t i = 1; i < args.size(); ++i) {
            if ((args[i] == "-o" || args[i] == "--output") && i + 1 < args.size()) r.command.config_file = args[++i];
            else if (args[i] == "--site" && i + 1 < args.size()) r.command.site = args[++i];
            else if (!args[i].empty() && args[i][0] != '-' && r.command.import_file.empty()) r.command.import_file = args[i];
            else return usage("import: unexpected '" + args[i] + "' (import FILE.ovpn [-o OUT.yaml] [--site NAME])");
        }
        if (r.command.import_file.empty()) return usage("import needs the OpenVPN config file");
        r.ok = true;
        return r;
    }
    return usage("unknown command '" + cmd + "'");
}

}  // namespace wirebridge::app
