// `wirebridge COMMAND --help`: one screen per command, options and what the exit status means.
#include "app/cli.hpp"

namespace wirebridge::app {

std::string command_help(const std::string& command) {
    if (command == "run")
        return "usage: wirebridge run -c FILE\n"
               "Runs the appliance FILE describes: TAP device, bridge, rules, the tunnel and the\n"
               "control socket (/run/wirebridge/SITE/control.sock unless control.socket says).\n"
               "  -c, --config FILE   the YAML configuration (docs/CONFIG.md)\n"
               "Signals: SIGHUP reloads FILE (what cannot change is refused, nothing is dropped),\n"
               "SIGTERM/SIGINT stop cleanly and remove what was set up. Under systemd (Type=notify)\n"
               "it reports READY, STATUS, RELOADING and WATCHDOG; logs carry journal priorities.\n"
               "Exit: 0 after a clean stop, 1 when set-up or the config failed.\n";
    if (command == "check")
        return "usage: wirebridge check -c FILE\n"
               "Validates FILE without touching the system: every key, value and file it names,\n"
               "then builds the TLS context and reads the keys exactly as `run` does (a private\n"
               "key given as cert, or a key of another certificate, is refused). Warns about a\n"
               "certificate that expires within 30 days or lacks what the peer's remote-cert-tls\n"
               "checks. Errors are FILE:LINE:COLUMN: sentence; warnings FILE: warning: sentence.\n"
               "  -c, --config FILE   the YAML configuration\n"
               "Exit: 0 usable (warnings allowed), 1 errors, 2 usage.\n";
    if (command == "cleanup")
        return "usage: wirebridge cleanup -c FILE\n"
               "Removes what a killed agent of FILE's site left: its iptables chains, its policy\n"
               "rules (decision and uplink) and, with interest.failure: open, its nft bridge table\n"
               "(kept with failure: closed). Run it only while no agent of that site runs; the unit\n"
               "runs it as ExecStopPost. Says each thing it removed.\n"
               "  -c, --config FILE   the YAML configuration\n"
               "Exit: 0 (also when nothing was left), 1 when FILE or a removal failed.\n";
    if (command == "modules")
        return "usage: wirebridge modules -c FILE\n"
               "Loads the kernel modules FILE needs (with fastpath.enabled: br_netfilter and\n"
               "xt_GWMARK; none otherwise) and says what it loaded and what the config needs. The\n"
               "unit runs it with full privileges before the agent (ExecStartPre=+), which itself\n"
               "cannot load modules under ProtectKernelModules.\n"
               "  -c, --config FILE   the YAML configuration\n"
               "Exit: 0, 1 when xt_GWMARK is required (fastpath.require_module) and cannot be\n"
               "loaded (the message names the package) or FILE is not valid.\n";
    if (command == "status")
        return "usage: wirebridge status [--json | --prometheus] [NAME | -c FILE | --socket PATH]\n"
               "Asks a running agent: each peer's state and when it was last heard first, then\n"
               "addresses, cipher and key, traffic, MACs, drops, the fast path and workers.\n"
               "  --json         one JSON object (docs/CONTROL.md)\n"
               "  --prometheus   Prometheus text format, for node_exporter's textfile collector\n"
               "  NAME           the instance (/etc/wirebridge/NAME.yaml) or site\n"
               "                 (/run/wirebridge/NAME/control.sock)\n"
               "  -c FILE        the agent running FILE\n"
               "  --socket PATH  that control socket\n"
               "Without NAME, FILE or PATH: the only agent running; with several, they are named.\n"
               "Exit: 0 answered, 1 no agent answered, 2 usage.\n";
    if (command == "flows")
        return "usage: wirebridge flows [--json] [NAME | -c FILE | --socket PATH]\n"
               "The flows the kernel fast path (xt_GWMARK) has cached in the agent's network\n"
               "namespace: tuple, the MAC replies go to, the gateway MAC, the port, the age.\n"
               "  --json   {\"flows\":[...]} (docs/CONTROL.md)\n"
               "NAME, -c and --socket choose the agent as for `wirebridge status`.\n";
    if (command == "genkey")
        return "usage: wirebridge genkey tls-crypt FILE\n"
               "       wirebridge genkey tls-auth FILE\n"
               "Writes a new 2048-bit static key in OpenVPN's own format (mode 0600); the same\n"
               "file goes to the hub and every site. An existing FILE is never overwritten.\n";
    if (command == "import")
        return "usage: wirebridge import FILE.ovpn [-o OUT.yaml] [--site NAME]\n"
               "Reads an OpenVPN client or server config and writes the equivalent wirebridge YAML\n"
               "(default: FILE's name with .yaml, beside it) and, from its inline <ca> <cert> <key>\n"
               "<tls-auth> <tls-crypt> ... blocks, key files beside the YAML (OUT-ca.crt, ...; keys\n"
               "0600). Prints each option: mapped (to which key), ignored (and why), refused (and\n"
               "why: wirebridge would behave differently, e.g. dev tun, pushed routes, plugins).\n"
               "With a refused option nothing is written. Existing files are never overwritten.\n"
               "  -o, --output OUT.yaml   where the YAML goes\n"
               "  --site NAME             the site name (default: FILE's name)\n"
               "Exit: 0 written, 1 refused or unreadable, 2 usage.\n";
    return "";
}

}  // namespace wirebridge::app
