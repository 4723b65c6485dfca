// bench/packet_path.cpp: see packet_path.hpp.
#include "packet_path.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace wirebridge::bench {
namespace {

bool ipv4_name(int fd, bool peer, sockaddr_in& out) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    const int r = peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len)
                       : getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    if (r != 0 || ss.ss_family != AF_INET) {
        return false;
    }
    std::memcpy(&out, &ss, sizeof out);
    return true;
}

// The interface holding addr, and its flags; empty when none does.
std::string interface_with(const in_addr& addr, unsigned& flags) {
    ifaddrs* all = nullptr;
    if (getifaddrs(&all) != 0) {
        return {};
    }
    std::string name;
    for (const ifaddrs* a = all; a != nullptr; a = a->ifa_next) {
        if (a->ifa_addr != nullptr && a->ifa_addr->sa_family == AF_INET &&
            reinterpret_cast<const sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr == addr.s_addr) {
            name = a->ifa_name;
            flags = a->ifa_flags;
            break;
        }
    }
    freeifaddrs(all);
    return name;
}

// A complete ARP entry (flags ATF_COM) for ip on ifname, from /proc/net/arp:
//   IP address  HW type  Flags  HW address  Mask  Device
bool arp_entry(const std::string& ip, const std::string& ifname, std::array<std::uint8_t, 6>& mac) {
    std::ifstream in("/proc/net/arp");
    std::string line;
    std::getline(in, line);  // the column names
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string addr, type, flags, hw, mask, dev;
        if (!(f >> addr >> type >> flags >> hw >> mask >> dev) || addr != ip || dev != ifname) {
            continue;
        }
        unsigned m[6];
        if ((std::strtoul(flags.c_str(), nullptr, 16) & ATF_COM) == 0 ||
            std::sscanf(hw.c_str(), "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6) {
            return false;
        }
        for (int i = 0; i < 6; ++i) {
            mac[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(m[i]);
        }
        return true;
    }
    return false;
}

}  // namespace

std::optional<std::uint16_t> source_port_of(int fd) {
    sockaddr_in a{};
    if (!ipv4_name(fd, false, a)) {
        return std::nullopt;
    }
    return ntohs(a.sin_port);
}

std::optional<PacketPath> resolve_packet_path(int fd, std::string& why) {
    sockaddr_in src{}, dst{};
    if (!ipv4_name(fd, false, src) || !ipv4_name(fd, true, dst)) {
        why = "--via packet sends IPv4 only (an IPv4 --to)";
        return std::nullopt;
    }
    PacketPath p;
    char dst_text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &dst.sin_addr, dst_text, sizeof dst_text);
    unsigned flags = 0;
    p.ifname = interface_with(src.sin_addr, flags);
    if (p.ifname.empty()) {
        why = "no interface holds the source address the kernel chose for " + std::string(dst_text);
        return std::nullopt;
    }
    p.ifindex = static_cast<int>(if_nametoindex(p.ifname.c_str()));
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", p.ifname.c_str());
    if (p.ifindex == 0 || ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) {
        why = "cannot read the link address of " + p.ifname + ": " + std::strerror(errno);
        return std::nullopt;
    }
    if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER && ifr.ifr_hwaddr.sa_family != ARPHRD_LOOPBACK) {
        why = p.ifname + " is not an Ethernet link (a TUN device?): --via packet builds Ethernet frames";
        return std::nullopt;
    }
    std::memcpy(p.frame.src_mac.data(), ifr.ifr_hwaddr.sa_data, 6);
    std::memcpy(p.frame.src_ip.data(), &src.sin_addr, 4);
    std::memcpy(p.frame.dst_ip.data(), &dst.sin_addr, 4);
    p.frame.dst_port = ntohs(dst.sin_port);
    if ((flags & (IFF_LOOPBACK | IFF_NOARP)) != 0) {
        p.frame.dst_mac = p.frame.src_mac;
        return p;
    }
    // Bounded: one probe, then the table read every 10 ms for a second.
    for (int tries = 0; tries < 100; ++tries) {
        if (arp_entry(dst_text, p.ifname, p.frame.dst_mac)) {
            return p;
        }
        if (tries == 0) {
            const std::uint8_t probe = 0;
            (void)send(fd, &probe, 1, MSG_DONTWAIT);
        }
        const timespec ten_ms{0, 10'000'000};
        nanosleep(&ten_ms, nullptr);
    }
    why = "no ARP entry for " + std::string(dst_text) + " on " + p.ifname +
          " after a second: --via packet needs the receiver on the sender's link (no router between)";
    return std::nullopt;
}

int open_packet_socket(const PacketPath& p, sockaddr_ll& to, std::string& why) {
    const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        why = std::string("packet socket: ") + std::strerror(errno) + (errno == EPERM ? " (needs CAP_NET_RAW)" : "");
        return -1;
    }
    // As the UDP sockets: a send that would block longer than this is counted (eagain).
    const timeval tv{0, 200'000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    to = sockaddr_ll{};
    to.sll_family = AF_PACKET;
    to.sll_protocol = htons(ETH_P_IP);
    to.sll_ifindex = p.ifindex;
    to.sll_halen = 6;
    std::memcpy(to.sll_addr, p.frame.dst_mac.data(), 6);
    return fd;
}

}  // namespace wirebridge::bench
