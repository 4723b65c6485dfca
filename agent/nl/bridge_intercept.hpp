// BridgeIntercept: the bridge-level rules (nftables, bridge family) that take frames of selected
// traffic off the wire into the box's own IP stack although they are addressed to the router.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "nl/flow_tuple.hpp"

struct nft_ctx;

namespace wirebridge::nl {

// What the agent wants on the bridge (docs/INLINE.md). One table per site, one base chain on the
// bridge's prerouting hook at priority 10 (after br_netfilter's 0, so the iptables hooks and
// xt_GWMARK see the frame as the host sent it, to its router's MAC): a unicast frame for another
// host (pkttype otherhost) that a queue selector matches and no bypass selector does gets the
// bridge's own MAC as destination and pkttype host, so the bridge passes it up to the IP stack,
// where the interest chain queues it and the decision routes it. Everything else is bridged as is.
struct InterceptPlan {
    std::string table;                    // e.g. "wb_branch_a" (intercept_table_for_site)
    std::string bridge_mac;               // "aa:bb:cc:dd:ee:ff": the bridge device's address
    std::vector<std::string> skip_ports;  // frames in from these ports are never taken (the TAP)
    std::vector<TrafficSelector> queue_selectors;
    std::vector<TrafficSelector> bypass_selectors;
    // failure open: the table carries nftables' owner flag, so the kernel deletes it the moment
    // the agent's netlink socket closes (SIGKILL, a crash): selected traffic falls back to the
    // router at once. failure closed: the table outlives the agent until a start or cleanup.
    bool owned = true;

    bool operator==(const InterceptPlan&) const = default;
};

// "wb_" plus the site name with everything but letters, digits and '_' turned into '_'; a
// name that had to change gets a short hash so "a-b" and "a_b" stay apart.
std::string intercept_table_for_site(const std::string& site);

// The nft match text of one selector in the bridge family ("ip daddr 10.20.0.0/16 udp dport 53").
std::string nft_match_text(const TrafficSelector& s);
// The nft script that creates the table; with `replace`, the existing one of the same name
// (stale, or ours) is deleted in the same transaction.
std::string intercept_install_text(const InterceptPlan& plan, bool replace);
// The nft script that deletes the table.
std::string intercept_remove_text(const std::string& table);

// Runs nft scripts through libnftables in this process. The context (and its netlink socket)
// lives as long as this object: an owner-flagged table lives exactly as long.
class BridgeIntercept {
public:
    static Result<BridgeIntercept> open();
    BridgeIntercept(BridgeIntercept&&) noexcept;
    BridgeIntercept& operator=(BridgeIntercept&&) noexcept;
    ~BridgeIntercept();

    // Installs or replaces the table; replaced_stale() says whether one was there before.
    Result<void> apply(const InterceptPlan& plan);
    // Deletes the table this object installed (nothing if none). Idempotent.
    Result<void> remove();
    // Deletes `table` if it exists (a killed run's, failure closed). True if there was one.
    Result<bool> remove_stale(const std::string& table);
    bool exists(const std::string& table);
    bool installed() const { return !table_.empty(); }
    bool replaced_stale() const { return replaced_stale_; }
    // Runs one script; the error carries nft's own message.
    Result<std::string> run(const std::string& script);

private:
    explicit BridgeIntercept(nft_ctx* ctx) : ctx_(ctx) {}
    nft_ctx* ctx_ = nullptr;
    std::string table_;
    bool replaced_stale_ = false;
};

// The bridge device's MAC as "aa:bb:cc:dd:ee:ff" (SIOCGIFHWADDR).
Result<std::string> device_mac(const std::string& device);

}  // namespace wirebridge::nl
