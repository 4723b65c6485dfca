// TapDevice: /dev/net/tun, TUNSETIFF, vnet headers and offloads, and interface ioctls for up/MTU/queue length/address.
#include "io/tap_device.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>

#include "io/gso_splitter.hpp"

namespace wirebridge::io {

namespace {

// linux/if_tun.h of Linux 6.2 and later (older userspace headers lack them).
constexpr unsigned kTunUso4 = 0x20, kTunUso6 = 0x40;

// The kernel's in6_ifreq (linux/ipv6.h clashes with netinet/in.h).
struct In6Ifreq {
    in6_addr addr;
    std::uint32_t prefixlen;
    int ifindex;
};

Result<Fd> control_socket(int family) {
    Fd s(socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!s.valid()) return fail_errno("socket for interface ioctls");
    return s;
}

ifreq make_ifreq(const std::string& name) {
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    return ifr;
}

}  // namespace

namespace {

Result<Fd> attach_queue(const std::string& name, bool multi_queue, std::string* kernel_name) {
    Fd fd(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (!fd.valid()) return fail_errno("open /dev/net/tun");
    ifreq ifr = make_ifreq(name);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    if (multi_queue) ifr.ifr_flags |= IFF_MULTI_QUEUE;
    if (ioctl(fd.get(), TUNSETIFF, &ifr) != 0) return fail_errno("TUNSETIFF " + name);
    if (kernel_name) *kernel_name = ifr.ifr_name;
    return fd;
}

}  // namespace

Result<TapDevice> TapDevice::open(const std::string& name, unsigned queues) {
    if (name.empty() || name.size() >= IFNAMSIZ) return fail("TAP name '" + name + "' is not 1 to 15 characters", EINVAL);
    if (queues == 0) queues = 1;
    TapDevice t;
    auto first = attach_queue(name, true, &t.name_);
    t.multi_queue_ = true;
    if (!first && first.error().code == EINVAL && queues == 1) {
        // An existing device made without IFF_MULTI_QUEUE: usable, with its one queue.
        first = attach_queue(name, false, &t.name_);
        t.multi_queue_ = false;
    }
    if (!first) return fail(first.error());
    t.queues_.push_back(std::move(*first));
    t.ifindex_ = static_cast<int>(if_nametoindex(t.name_.c_str()));
    if (t.ifindex_ == 0) return fail_errno("if_nametoindex " + t.name_);
    if (auto r = t.add_queues(queues); !r) return fail(r.error());
    return t;
}

Result<void> TapDevice::add_queues(unsigned total) {
    if (total <= queues_.size()) return {};
    if (!multi_queue_) return fail(name_ + " is a single-queue TAP device: it cannot take more queues", EINVAL);
    while (queues_.size() < total) {
        auto q = attach_queue(name_, true, nullptr);
        if (!q) return fail(q.error());
        queues_.push_back(std::move(*q));
    }
    return {};
}

Result<void> TapDevice::set_queue_attached(unsigned queue, bool attached) {
    if (queue == 0 || queue >= queues_.size()) return {};
    ifreq ifr{};
    ifr.ifr_flags = attached ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
    if (ioctl(queues_[queue].get(), TUNSETQUEUE, &ifr) != 0 && errno != EINVAL)
        return fail_errno(std::string(attached ? "attach" : "detach") + " queue " + std::to_string(queue) + " of " + name_);
    return {};
}

Result<void> TapDevice::enable_offload() {
    const unsigned features = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
    // tun refuses flags it does not know with EINVAL ("a way to test for new features"): a kernel
    // that takes USO also builds UDP GSO skbs from a write's vnet header (both came in 6.2).
    udp_gso_writes_ = ioctl(queues_[0].get(), TUNSETOFFLOAD, features | kTunUso4 | kTunUso6) == 0;
    if (ioctl(queues_[0].get(), TUNSETOFFLOAD, features) != 0) {
        udp_gso_writes_ = false;
        return fail_errno("TUNSETOFFLOAD on " + name_);
    }
    offload_ = true;
    return {};
}

Result<IoCount> TapDevice::read_packet(std::span<std::uint8_t> buf, unsigned queue) {
    const ssize_t n = ::read(queues_[queue].get(), buf.data(), buf.size());
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return IoCount{0, true};
        return fail_errno("read from " + name_);
    }
    if (static_cast<std::size_t>(n) < kVnetHeaderSize) return fail("short read from " + name_, EPROTO);
    return IoCount{static_cast<std::size_t>(n), false};
}

Result<IoCount> TapDevice::read_frame(std::span<std::uint8_t> buf, unsigned queue) {
    std::uint8_t hdr[kVnetHeaderSize];
    iovec iov[2] = {{hdr, sizeof hdr}, {buf.data(), buf.size()}};
    const ssize_t n = ::readv(queues_[queue].get(), iov, 2);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return IoCount{0, true};
        return fail_errno("read from " + name_);
    }
    if (static_cast<std::size_t>(n) < kVnetHeaderSize) return fail("short read from " + name_, EPROTO);
    const std::size_t len = static_cast<std::size_t>(n) - kVnetHeaderSize;
    if (hdr[0] == 0 && hdr[1] == 0) return IoCount{len, false};
    // Offloads on: complete a partial checksum in place; super-frames belong to read_packet().
    if (hdr[1] != 0) return fail("GSO frame from " + name_ + " read with read_frame", EPROTO);
    std::uint16_t start = 0, offset = 0;
    std::memcpy(&start, hdr + 6, 2);
    std::memcpy(&offset, hdr + 8, 2);
    if (start >= len || offset + 2u > len - start) return fail("bad checksum offsets from " + name_, EPROTO);
    std::uint16_t sum = static_cast<std::uint16_t>(~ones_complement_sum(buf.subspan(start, len - start)));
    if (sum == 0) sum = 0xffff;
    buf[start + offset] = static_cast<std::uint8_t>(sum >> 8);
    buf[start + offset + 1] = static_cast<std::uint8_t>(sum);
    return IoCount{len, false};
}

Result<IoCount> TapDevice::write_frame(std::span<const std::uint8_t> frame, unsigned queue) {
    // A plain frame: no GSO, checksums complete (tun ignores VIRTIO_NET_HDR_F_DATA_VALID on write).
    static const std::uint8_t hdr[kVnetHeaderSize] = {};
    iovec iov[2] = {{const_cast<std::uint8_t*>(hdr), sizeof hdr}, {const_cast<std::uint8_t*>(frame.data()), frame.size()}};
    const ssize_t n = ::writev(queues_[queue].get(), iov, 2);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return IoCount{0, true};
        return fail_errno("write to " + name_);
    }
    return IoCount{static_cast<std::size_t>(n) - std::min<std::size_t>(static_cast<std::size_t>(n), kVnetHeaderSize), false};
}

Result<void> TapDevice::set_up(bool up) {
    auto s = control_socket(AF_INET);
    if (!s) return fail(s.error());
    ifreq ifr = make_ifreq(name_);
    if (ioctl(s->get(), SIOCGIFFLAGS, &ifr) != 0) return fail_errno("SIOCGIFFLAGS " + name_);
    if (up) ifr.ifr_flags |= IFF_UP;
    else ifr.ifr_flags &= ~IFF_UP;
    if (ioctl(s->get(), SIOCSIFFLAGS, &ifr) != 0) return fail_errno("set " + name_ + (up ? " up" : " down"));
    return {};
}

Result<void> TapDevice::no_ipv6_link_local() {
    const std::string path = "/proc/sys/net/ipv6/conf/" + name_ + "/addr_gen_mode";
    Fd f(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!f.valid()) return errno == ENOENT ? Result<void>{} : fail_errno("open " + path);
    if (::write(f.get(), "1\n", 2) != 2) return fail_errno("write " + path);
    return {};
}

Result<void> TapDevice::set_mtu(unsigned mtu) {
    auto s = control_socket(AF_INET);
    if (!s) return fail(s.error());
    ifreq ifr = make_ifreq(name_);
    ifr.ifr_mtu = static_cast<int>(mtu);
    if (ioctl(s->get(), SIOCSIFMTU, &ifr) != 0) return fail_errno("set MTU " + std::to_string(mtu) + " on " + name_);
    return {};
}

Result<void> TapDevice::set_txqueuelen(unsigned frames) {
    auto s = control_socket(AF_INET);
    if (!s) return fail(s.error());
    ifreq ifr = make_ifreq(name_);
    ifr.ifr_qlen = static_cast<int>(frames);
    if (ioctl(s->get(), SIOCSIFTXQLEN, &ifr) != 0)
        return fail_errno("set txqueuelen " + std::to_string(frames) + " on " + name_);
    return {};
}

Result<std::array<std::uint8_t, 6>> TapDevice::mac() const {
    auto s = control_socket(AF_INET);
    if (!s) return fail(s.error());
    ifreq ifr = make_ifreq(name_);
    if (ioctl(s->get(), SIOCGIFHWADDR, &ifr) != 0) return fail_errno("SIOCGIFHWADDR " + name_);
    std::array<std::uint8_t, 6> m{};
    std::memcpy(m.data(), ifr.ifr_hwaddr.sa_data, 6);
    return m;
}

Result<void> TapDevice::set_ipv4(std::uint32_t address_be, int prefix) {
    if (prefix < 0 || prefix > 32) return fail("IPv4 prefix length out of range", EINVAL);
    auto s = control_socket(AF_INET);
    if (!s) return fail(s.error());
    ifreq ifr = make_ifreq(name_);
    auto* sin = reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = address_be;
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text);
    if (ioctl(s->get(), SIOCSIFADDR, &ifr) != 0) return fail_errno(std::string("set address ") + text + " on " + name_);
    ifr = make_ifreq(name_);
    sin = reinterpret_cast<sockaddr_in*>(&ifr.ifr_netmask);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix));
    if (ioctl(s->get(), SIOCSIFNETMASK, &ifr) != 0) return fail_errno("set netmask on " + name_);
    return {};
}

Result<void> TapDevice::add_ipv6(const std::array<std::uint8_t, 16>& address, int prefix) {
    if (prefix < 0 || prefix > 128) return fail("IPv6 prefix length out of range", EINVAL);
    auto s = control_socket(AF_INET6);
    if (!s) return fail(s.error());
    In6Ifreq req{};
    std::memcpy(&req.addr, address.data(), 16);
    req.prefixlen = static_cast<std::uint32_t>(prefix);
    req.ifindex = ifindex_;
    if (ioctl(s->get(), SIOCSIFADDR, &req) != 0 && errno != EEXIST) return fail_errno("add IPv6 address on " + name_);
    return {};
}

}  // namespace wirebridge::io
