// TapDevice: a Linux TAP interface (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR), optionally multi-queue and offloading.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "io/fd.hpp"

namespace wirebridge::io {

// Every queue carries a virtio-net header (IFF_VNET_HDR) in front of each frame, so that offloads
// can be switched on later (enable_offload) without reopening the device (the header can only be
// chosen when a queue is attached).
class TapDevice {
public:
    // Creates (or attaches to) the TAP device `name` with `queues` queues, every queue fd
    // non-blocking. The name the kernel gave is name(). The device is multi-queue
    // (IFF_MULTI_QUEUE) even with one queue, so that data path workers can add queues later
    // (add_queues); an existing single-queue device is attached as it is (multi_queue() false).
    static Result<TapDevice> open(const std::string& name, unsigned queues = 1);

    bool multi_queue() const { return multi_queue_; }
    // Attaches queues until there are `total` (each a new fd, with the device's vnet header and
    // offloads). The kernel spreads the frames it sends out by flow hash over the attached queues.
    Result<void> add_queues(unsigned total);
    // Detaches (false) or re-attaches (true) queue q (TUNSETQUEUE): a detached queue gets no frames,
    // so nothing piles up in a queue whose worker is stopped. Queue 0 always stays attached.
    Result<void> set_queue_attached(unsigned queue, bool attached);

    // Lets the kernel hand this TAP unchecksummed frames and TCP super-frames up to 64 KB
    // (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN). After this, read with read_packet()
    // and cut what it returns with io::GsoSplitter; read_frame() refuses super-frames.
    // Also asks whether the kernel takes UDP super-frames on write (VIRTIO_NET_HDR_GSO_UDP_L4, tun
    // since Linux 6.2: TUNSETOFFLOAD accepts TUN_F_USO4|TUN_F_USO6); the answer is udp_gso_writes().
    // Reads stay as above: the probe's USO flags are switched off again, so the kernel never hands
    // this TAP UDP super-frames.
    Result<void> enable_offload();
    bool offload() const { return offload_; }
    // Whether a write may carry a UDP GSO super-frame (TapWriter merges runs of datagrams then).
    bool udp_gso_writes() const { return udp_gso_writes_; }

    const std::string& name() const { return name_; }
    int ifindex() const { return ifindex_; }
    unsigned queue_count() const { return static_cast<unsigned>(queues_.size()); }
    int fd(unsigned queue = 0) const { return queues_[queue].get(); }

    // One Ethernet frame (the vnet header is handled here): read into buf, or write it whole.
    // With offloads on, a frame whose checksum the kernel left partial is completed here; a GSO
    // super-frame is an error (use read_packet()).
    Result<IoCount> read_frame(std::span<std::uint8_t> buf, unsigned queue = 0);
    Result<IoCount> write_frame(std::span<const std::uint8_t> frame, unsigned queue = 0);
    // One raw read: vnet header (kVnetHeaderSize) then the frame; buf should hold kMaxSuperFrame.
    Result<IoCount> read_packet(std::span<std::uint8_t> buf, unsigned queue = 0);

    // Gives the device no IPv6 link-local address (net.ipv6.conf.NAME.addr_gen_mode = 1, "none"),
    // before it is up: a bridge port then sends no DAD, router solicitation or MLD report of its
    // own from its MAC. Without IPv6 in the kernel there is nothing to do.
    Result<void> no_ipv6_link_local();
    Result<void> set_up(bool up);
    Result<void> set_mtu(unsigned mtu);
    // The device's transmit queue length (SIOCSIFTXQLEN): for a TAP, the frames its queues hold for
    // the reader (tun resizes each queue's ring to it, and sizes queues attached later by it).
    Result<void> set_txqueuelen(unsigned frames);
    Result<std::array<std::uint8_t, 6>> mac() const;
    // Adds ADDRESS/PREFIX (IPv4 or IPv6, bytes in network order) to the device; an IPv4 address
    // replaces the previous one (SIOCSIFADDR semantics).
    Result<void> set_ipv4(std::uint32_t address_be, int prefix);
    Result<void> add_ipv6(const std::array<std::uint8_t, 16>& address, int prefix);

private:
    std::string name_;
    int ifindex_ = 0;
    bool offload_ = false;
    bool udp_gso_writes_ = false;
    bool multi_queue_ = false;
    std::vector<Fd> queues_;
};

}  // namespace wirebridge::io
