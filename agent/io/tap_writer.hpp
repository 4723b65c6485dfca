// TapWriter: frames to a TAP queue, consecutive TCP segments or UDP datagrams of one flow merged into one GSO write.
//
// The receive-side twin of TapReader. A batch of decrypted frames usually holds runs of segments
// of the same TCP flow; instead of one write() and one trip through the kernel's receive path per
// segment, a run becomes one super-frame written with a virtio-net header (GSO TCPV4/TCPV6,
// NEEDS_CSUM), as a virtio NIC hands the guest GRO'd packets. What may merge follows the kernel's
// own GRO rules (same addresses, ports, ACK, window and options; sequence numbers contiguous;
// equal-size segments with only the last one shorter; no flags but ACK, PSH ending a run), and
// every segment's TCP checksum is verified before it merges, because the merged frame's checksum is
// left for the kernel to trust. Anything else is written as it is, after what is pending, so the
// order of frames never changes.
//
// Runs of UDP datagrams of one flow (same addresses, ports, TOS/TTL; equal payload sizes, only the
// last one shorter; a checksum present and right) merge the same way into a GSO_UDP_L4 super-frame
// when the kernel takes those on a TAP write (Linux 6.2 and later: TapDevice::udp_gso_writes()),
// as its UDP GRO does for a NIC. The kernel cuts the super-frame back into the same datagrams where
// it must: at the receiving socket, or at a bridge port or NIC that cannot carry it. Netfilter and
// the routing decision see the run once.
//
// Where io_uring is available, writes are not made one system call each: every frame (copied into
// one of kSlots buffers) and every merged super-frame becomes a queued write, and flush() submits
// them all in one io_uring_enter, in order, and waits for them (a TAP write never blocks). A batch
// that fills the slots is submitted early. Without io_uring each write is its own write().
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "io/fd.hpp"
#include "io/gso_splitter.hpp"
#include "io/tap_device.hpp"
#include "io/uring.hpp"

namespace wirebridge::io {

class TapWriter {
public:
    enum class Mode : std::uint8_t { automatic, syscalls };
    // Merging only happens when the TAP has offloads on (TapDevice::enable_offload). automatic:
    // io_uring batches when the kernel allows them, write() otherwise.
    TapWriter(TapDevice& tap, unsigned queue = 0, Mode mode = Mode::automatic);

    // Queues or writes one frame. A frame the kernel refuses is dropped like on a lossy link;
    // only errors that make the TAP unusable (EIO while it is down) are returned.
    Result<void> write_frame(std::span<const std::uint8_t> frame);
    // Writes what is pending. Call at the end of every batch (before waiting for more input).
    Result<void> flush();
    // The frames the last write_frame() or flush() lost to the error it returned (0 after one that
    // succeeded): a refused io_uring batch loses every frame in it, a merged super-frame each of
    // its segments, and a write_frame() that fails loses its own frame too. Callers count these as
    // drops, one a frame, whatever the batching.
    std::size_t frames_lost() const { return lost_; }

    struct Counters {
        std::uint64_t writes = 0;    // frames and super-frames written (each a write() or a queued write)
        std::uint64_t merged = 0;    // frames that went out inside a super-frame
        std::uint64_t syscalls = 0;  // write() or io_uring_enter calls
        std::uint64_t dropped = 0;   // writes the kernel refused (full queue, bad frame)
    };
    const Counters& counters() const { return counters_; }
    // true when writes go through io_uring batches.
    bool batched() const { return ring_.has_value(); }
    // Which path writes take and why, in one phrase for the log ("io_uring batches ..." or
    // "write() ...: <reason>", then what merges: "runs of TCP segments and of UDP datagrams merged",
    // ...); batching decided at construction (changes only if a batch fails later), merging by
    // the TAP's offloads.
    std::string path() const { return path_ + "; " + merging(); }

    static constexpr unsigned kSlots = 64;
    // Merged runs a batch may queue, in an arena: runs queue while they hold less than a largest
    // run (kMaxSuperFrame), so the arena always has room for one more of the largest size.
    static constexpr unsigned kRuns = 16;
    static constexpr std::size_t kRunArena = 2 * kMaxSuperFrame;
    static constexpr std::size_t kSlotSize = kVnetHeaderSize + 2048;

private:
    // Where a mergeable TCP segment's or UDP datagram's parts are, from parse().
    struct Segment {
        bool ipv6 = false;
        std::uint8_t proto = 0;  // IPPROTO_TCP or IPPROTO_UDP
        std::size_t l3 = 0, l4 = 0, hdr = 0, payload = 0;
        std::uint32_t seq = 0;
        std::uint8_t flags = 0;
    };
    // The two halves of path(): how writes go out (sets up the ring), and what merges.
    std::string batching(Mode mode);
    std::string merging() const;
    bool parse(std::span<const std::uint8_t> f, Segment& s) const;
    bool parse_udp(std::span<const std::uint8_t> f, std::size_t l3, std::size_t l4, Segment& s) const;
    bool can_merge(std::span<const std::uint8_t> f, const Segment& s) const;
    void start(std::span<const std::uint8_t> f, const Segment& s);
    void append(std::span<const std::uint8_t> f, const Segment& s);
    Result<void> write_raw(const std::uint8_t* data, std::size_t len);
    // Queues (batched) or writes (not) the pending run, if any.
    Result<void> finish_run();
    // A frame with a zero vnet header, batched into a slot or written at once.
    Result<void> write_plain(std::span<const std::uint8_t> frame);
    // write_frame() but for the count of what an error lost.
    Result<void> take(std::span<const std::uint8_t> frame);
    Result<void> submit();

    TapDevice& tap_;
    unsigned queue_;
    std::vector<std::uint8_t> super_;  // the run arena: queued runs, then the pending one
    std::size_t run_at_ = 0;            // where the pending run starts in super_ (vnet header first)
    std::size_t len_ = 0;               // its bytes, 0 = nothing pending
    Segment first_;                     // the pending run's first segment
    std::size_t segs_ = 0;
    std::uint32_t next_seq_ = 0;
    bool closed_ = false;               // the last merged segment was short or had PSH
    Counters counters_;
    std::string path_;

    std::optional<Uring> ring_;
    std::vector<std::uint8_t> slots_;  // kSlots x kSlotSize, vnet header + frame
    unsigned used_ = 0;                // slots queued in the current batch
    unsigned queued_ = 0;              // writes queued in the current batch
    unsigned runs_queued_ = 0;         // runs in super_ named by queued writes (user data kSlots + i)
    std::size_t arena_end_ = 0;        // where the last of them ends
    std::size_t run_segs_[kRuns] = {};  // the frames in each
    std::size_t lost_ = 0;             // frames_lost()
};

}  // namespace wirebridge::io
