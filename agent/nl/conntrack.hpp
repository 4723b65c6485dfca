// Conntrack: the kernel's connection table over ctnetlink (libmnl):
// NEW/DESTROY events for flow counts, and a dump-and-remark pass for policy changes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>

#include "common/result.hpp"
#include "nl/flow_tuple.hpp"
#include "nl/netlink_socket.hpp"

namespace wirebridge::nl {

struct ConntrackEntry {
    enum class Kind : uint8_t { New, Update, Destroy } kind = Kind::New;
    FlowTuple orig;  // original direction (ports 0 for protocols without them)
    uint32_t mark = 0;
    uint32_t id = 0;
};

// Reads one ctnetlink message (an event or a dump entry); refuses what is not one.
Result<ConntrackEntry> parse_conntrack_message(std::span<const uint8_t> msg);

struct ConntrackEventStats {
    uint64_t events = 0;
    uint64_t overruns = 0;  // ENOBUFS: the kernel dropped events we never saw
};

// A non-blocking subscription to NEW and DESTROY events of the caller's netns.
class ConntrackEvents {
public:
    using Handler = std::function<void(const ConntrackEntry&)>;

    static Result<ConntrackEvents> open();
    ConntrackEvents(ConntrackEvents&&) noexcept;
    ConntrackEvents& operator=(ConntrackEvents&&) noexcept;
    ~ConntrackEvents();

    int fd() const;
    // Handles what is pending, at most max_messages datagrams; returns the events handled.
    Result<size_t> process(const Handler& handler, size_t max_messages = 64);
    const ConntrackEventStats& stats() const { return stats_; }

private:
    ConntrackEvents() = default;
    NetlinkSocket sock_;
    ConntrackEventStats stats_;
};

struct RemarkResult {
    size_t seen = 0;     // entries dumped
    size_t changed = 0;  // entries whose mark was updated
    size_t gone = 0;     // entries that ended between dump and update
};

// Blocking requests (set-up and reload time, never per packet).
class ConntrackTable {
public:
    // Returns the new value of the bits in `mask` for an entry, or nullopt to leave it.
    using Decide = std::function<std::optional<uint32_t>(const ConntrackEntry&)>;

    static Result<ConntrackTable> open();
    ConntrackTable(ConntrackTable&&) noexcept;
    ConntrackTable& operator=(ConntrackTable&&) noexcept;
    ~ConntrackTable();

    // Dumps the table and sets (mark & ~mask) | value on every entry decide() answers for
    // with a value that differs from its current bits.
    Result<RemarkResult> remark(uint32_t mask, const Decide& decide);

private:
    ConntrackTable() = default;
    NetlinkSocket sock_;
};

}  // namespace wirebridge::nl
