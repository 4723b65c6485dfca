// The agent's configuration as plain structs: what the YAML file says, validated and with defaults filled.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "config/address.hpp"
#include "config/limits.hpp"

namespace wirebridge::config {

enum class Role { client, server };
enum class Transport { udp, tcp };
using LogLevel = wirebridge::LogLevel;  // common/log.hpp
// What the kernel does with selected traffic while no agent answers the queue.
enum class FailMode { open, closed };

const char* to_string(Role r);
const char* to_string(Transport t);
using wirebridge::to_string;  // LogLevel
const char* to_string(FailMode f);

struct BridgeConfig {
    std::string name;
    std::vector<std::string> ports;
    std::optional<Cidr> address;  // the appliance's one address; no routes are ever added
    // false (default): the bridge, its ports and address stay when the agent stops, so the wire
    // is never cut; true: a clean stop undoes what the agent created (the bridge, enslavement).
    bool remove_on_stop = false;
    // The LAN's router (the hosts' gateway, shared by the routers): the agent's own tunnel goes
    // there through a private table chosen by its socket mark, so main keeps only the connected
    // route (docs/INLINE.md). Same family as address.
    std::optional<IpAddress> gateway;
    std::uint32_t uplink_table = 1193;   // that table, and the priority of its rule
    std::uint32_t uplink_mark = 0x40000; // the tunnel socket's SO_MARK; the rule matches MARK/MARK
};

// tls_auth: {key: FILE, direction: 0|1, digest: SHA1}; without direction both directions use the same
// key (OpenVPN's "bidirectional" mode). digest is OpenVPN's `--auth` (the HMAC of tls-auth).
struct TlsAuthConfig {
    std::string key;
    std::optional<int> direction;
    std::string digest = "SHA1";  // canonical: SHA1, SHA256, SHA384, SHA512
    bool operator==(const TlsAuthConfig&) const = default;
};

// verify_x509_name: {name: TEXT, type: name|name-prefix|subject}, as OpenVPN's --verify-x509-name.
struct VerifyNameConfig {
    std::string name;
    std::string type = "name";
    bool operator==(const VerifyNameConfig&) const = default;
};

// auth_user_pass_verify: {command: [PROGRAM, ARGS...], method: via-file|via-env, timeout: seconds}, as
// OpenVPN's --auth-user-pass-verify CMD METHOD: the program's exit status 0 admits the client.
struct AuthVerifyConfig {
    std::vector<std::string> command;  // argv, run without a shell; command[0] an absolute path
    std::string method = "via-file";   // via-file: argv gets a 0600 file "username\npassword\n"; via-env: $password
    unsigned timeout = 10;             // seconds before the program is killed and the client refused
    bool operator==(const AuthVerifyConfig&) const = default;
};

// pool as a map (OpenVPN's server-bridge GW MASK START END): the clients' subnet (its prefix is
// the netmask pushed with each address), optionally a START-END range inside it, the route-gateway
// pushed, and a file remembering each CN's address (ifconfig-pool-persist).
struct PoolOptions {
    std::optional<IpAddress> start, end;  // both or neither; inside pool's subnet
    std::optional<IpAddress> gateway;     // pushed as route-gateway
    std::optional<std::string> persist;   // CN,ADDRESS, lines (OpenVPN's ifconfig-pool-persist format)
    bool operator==(const PoolOptions&) const = default;
};

struct KeepaliveConfig {
    unsigned interval = 10;  // seconds without sending before a ping
    unsigned timeout = 60;   // seconds without receiving before the peer is declared dead
};

// --mssfix: `0` (off), `N` (N counts the UDP/TCP payload), `N mtu` (N counts the outer IP packet),
// `N fixed` (the MSS is N - 40).
struct MssfixConfig {
    unsigned size = 1492;
    std::string mode = "mtu";  // payload | mtu | fixed
};

// --fragment N [mtu]: N counts the UDP payload, or with `mtu` the outer IP packet.
struct FragmentConfig {
    unsigned size = 0;
    bool mtu = false;
};

// Per-client settings of a server, by the client certificate's common name.
inline constexpr std::size_t kMaxAllowedMacs = 64;  // in one client's `macs` (checked one by one per frame)
struct ClientConfig {
    std::string name;
    std::optional<std::uint16_t> vlan;  // the client's VLAN when vlan.tagging is on (else vlan.pvid)
    std::optional<unsigned> max_macs;   // overrides max_macs_per_client
    // Set: the only source MACs the client's frames may have (others are dropped, mac_not_allowed).
    std::optional<std::vector<MacAddress>> macs = std::nullopt;
};

// tunnel.rcvbuf / tunnel.sndbuf: UDP's default, and the range a set one must be in (or 0). Below
// 64 KiB a buffer holds less than one 64 KB GRO/GSO run; 64 MiB is about 50 ms of a 10 Gbit/s
// link, per socket.
inline constexpr unsigned kUdpSocketBuffer = 4u << 20;
inline constexpr unsigned kSocketBufferMin = 64u << 10;
inline constexpr unsigned kSocketBufferMax = 64u << 20;
struct TunnelConfig {
    Role role = Role::client;
    Transport proto = Transport::udp;
    std::optional<Endpoint> local;  // server: listen here; client: optional bind
    std::vector<Endpoint> remote;   // client: servers, tried in order
    std::string device = "tap0";
    std::optional<Cidr> address;  // static address for the TAP device
    std::optional<Cidr> pool;     // server: the clients' IPv4 subnet; none: no address pushed (DHCP through the bridge)
    PoolOptions pool_options;     // server: range, route-gateway, persistence (pool as a map)
    bool join_bridge = false;
    // Absolute paths (relative ones in the file are taken relative to the file's folder).
    std::string ca;
    std::string cert;
    std::string key;
    std::optional<std::string> tls_crypt;
    std::optional<TlsAuthConfig> tls_auth;
    // Peer certificate checks, as OpenVPN's options of the same names. remote_cert_tls unset: the
    // role's default (client: "server", as OpenVPN's sample client.conf; server: "none", as an
    // OpenVPN server without the option).
    std::optional<std::string> remote_cert_tls;  // server | client | none
    std::optional<VerifyNameConfig> verify_x509_name;
    std::optional<std::string> crl;               // crl-verify (PEM), reread on SIGHUP
    std::string tls_version_min = "1.2";          // 1.2 | 1.3
    std::optional<std::string> askpass;           // a file whose first line is the key's passphrase
    // SHA256 fingerprints of accepted peer certificates (OpenVPN's peer-fingerprint); with them ca
    // may be left out (self-signed pairs, no PKI).
    std::vector<std::string> peer_fingerprint;
    std::optional<std::string> dh;                // server: PEM DH parameters for DHE TLS 1.2 clients (--dh)
    std::optional<std::string> auth_user_pass;    // client: file with the username and password lines
    std::optional<AuthVerifyConfig> auth_user_pass_verify;  // server: the program that checks them
    // Canonical OpenVPN names, in preference order.
    std::vector<std::string> data_ciphers{"AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305"};
    // --data-ciphers-fallback: the cipher for a peer that negotiates none; "" = none.
    std::string data_ciphers_fallback;
    // --auth: the data channel's HMAC with a CBC cipher (SHA1, SHA256, SHA384, SHA512).
    std::string auth = "SHA1";
    // Compression framing, as OpenVPN's `comp-lzo` / `compress ALG` (never compresses, decompresses
    // what the peer sends): none, comp-lzo, lzo, stub, lz4, stub-v2, lz4-v2.
    std::string compress = "none";
    // TCP MSS clamping as OpenVPN's --mssfix; unset: OpenVPN 2.6's default (`1492 mtu` with a
    // 1500-byte tun_mtu, else `tun_mtu fixed`).
    std::optional<MssfixConfig> mssfix;
    unsigned tun_mtu = 1500;  // the TAP's MTU, as --tun-mtu
    // The TAP's transmit queue (OpenVPN's --txqueuelen): the frames the kernel holds for the agent
    // while it is not running. 4096, not the system's 1000: a reader descheduled for a few ms at
    // 200 k frames/s overflows 1000 (docs/CONFIG.md).
    unsigned txqueuelen = 4096;
    // The tunnel socket's buffers in bytes (OpenVPN's --rcvbuf / --sndbuf), forced past
    // net.core.rmem_max / wmem_max (212992 on stock kernels) with the kept CAP_NET_ADMIN. 0 leaves
    // the kernel's. UDP: 4 MiB unless set (a 64-byte flood at 250 k datagrams/s lost 12 % with a
    // 212992-byte buffer, ~1 % with 4 MiB: docs/CONFIG.md). TCP: 0 unless set (the loader makes it
    // so), the kernel's autotuning.
    unsigned rcvbuf = kUdpSocketBuffer;
    unsigned sndbuf = kUdpSocketBuffer;
    // OpenVPN's --fragment (UDP only; unset or size 0: off).
    std::optional<FragmentConfig> fragment;
    KeepaliveConfig keepalive;
    unsigned reneg_seconds = 3600;  // 0 disables time-based renegotiation
    // Client, UDP: data path threads, each with its own TAP queue (docs/PERFORMANCE.md); 0 = one per
    // online core. 1 keeps the data path on the main thread.
    unsigned workers = 1;
    bool client_to_client = false;
    // Server: clients with the same certificate CN may be connected together; false (OpenVPN's
    // default, no --duplicate-cn): a new connection replaces the old one of its CN.
    bool duplicate_cn = false;
    // Server: the virtual switch.
    unsigned mac_age = 300;               // seconds a learned MAC lives without traffic; 0 = never ages
    unsigned max_macs_per_client = 1024;  // MACs learned behind one client; frames from more are dropped
    // Broadcast + multicast (+ unknown unicast flooded to other clients) frames/s accepted from one
    // client; 0 = no limit. The default bounds a site's N-1 amplification (docs/SECURITY.md).
    unsigned multicast_limit = 1000;
    bool vlan_tagging = false;            // the TAP carries 802.1Q tags; clients are untagged VLAN members
    std::uint16_t vlan_pvid = 1;          // the VLAN of a client without its own
    std::vector<ClientConfig> clients;
};

struct FastpathConfig {
    bool enabled = false;
    std::uint32_t reply_mark = 0;
    std::uint32_t orig_mark = 0;
    // true: with enabled, a start where xt_GWMARK cannot be loaded is refused (naming the
    // package); false: the agent runs without the fast path and says so.
    bool require_module = true;
};

enum class InterestAction { queue, bypass };

// One selector of "traffic of interest"; every field that is set must match.
struct InterestRule {
    std::optional<Cidr> src;
    std::optional<Cidr> dst;
    std::optional<std::string> proto;  // tcp | udp | icmp | icmpv6
    std::optional<std::uint16_t> sport;
    std::optional<std::uint16_t> dport;
    InterestAction action = InterestAction::queue;
};

struct InterestConfig {
    std::uint16_t queue = 0;            // the first NFQUEUE number
    std::uint16_t queues = 1;           // queue .. queue+queues-1, the kernel spreads flows over them
    std::uint32_t table = 1194;         // routing table of the tunnel decision (default dev <tap>)
    std::uint32_t rule_priority = 1194; // policy rules at this priority and the next two
    FailMode failure = FailMode::open;  // open: pass unqueued (untunnelled); closed: drop
    std::vector<InterestRule> rules;
};

// Several agents on one host (wirebridge@a, wirebridge@b, or one per network namespace) each get
// their own runtime folder, so none refuses to start on, or removes, another's socket.
inline constexpr const char* kRuntimeRoot = "/run/wirebridge";
// The default control socket of a site: /run/wirebridge/SITE/control.sock.
std::string default_control_socket(const std::string& site);

struct ControlConfig {
    std::string socket;  // the loader fills in default_control_socket(site) when the file names none
    // control.metrics: ADDRESS:PORT (address literal) of the HTTP /metrics endpoint; none: off.
    std::optional<Endpoint> metrics;
};

struct LogConfig {
    LogLevel level = LogLevel::info;
};

struct Config {
    std::string file;  // where it was read from
    std::string site;
    std::optional<BridgeConfig> bridge;
    TunnelConfig tunnel;
    FastpathConfig fastpath;
    std::optional<InterestConfig> interest;
    ControlConfig control;
    LogConfig log;
    LimitsConfig limits;  // `limits:` (docs/SECURITY.md)
    std::optional<std::string> user;  // drop privileges to this user after set-up

    std::string summary() const;  // one line for `wirebridge check`
};

// The data ciphers wirebridge implements, canonical spelling.
const std::vector<std::string>& supported_ciphers();

}  // namespace wirebridge::config
