// Tunnel socket buffers: the config's sizes onto the sockets, and one line saying what the kernel gave.
#include "app/tunnel_buffers.hpp"

#include "common/log.hpp"

namespace wirebridge::app {

namespace {
std::string asked_text(io::SocketBuffers a) {
    if (a.receive == 0 && a.send == 0) return "the kernel's defaults: tunnel.rcvbuf and tunnel.sndbuf are 0";
    std::string s;
    if (a.receive == a.send) s = "asked " + std::to_string(a.receive) + " each";
    else if (a.receive == 0) s = "asked " + std::to_string(a.send) + " for send, receive left to the kernel";
    else if (a.send == 0) s = "asked " + std::to_string(a.receive) + " for receive, send left to the kernel";
    else s = "asked " + std::to_string(a.receive) + " and " + std::to_string(a.send);
    return s + "; the kernel doubles it";
}

// A buffer the kernel cut: the forced option was refused (no CAP_NET_ADMIN), so the sysctl capped it.
bool short_of(unsigned asked, unsigned got) { return asked != 0 && got < 2ull * asked; }
}  // namespace

io::SocketBuffers tunnel_buffers(const config::TunnelConfig& t) { return io::SocketBuffers{t.rcvbuf, t.sndbuf}; }

BufferReport describe_buffers(const std::string& what, io::SocketBuffers asked, io::SocketBuffers got) {
    BufferReport r;
    r.info = what + " buffers: receive " + std::to_string(got.receive) + ", send " + std::to_string(got.send) +
             " bytes (" + asked_text(asked) + ")";
    std::string cut;
    if (short_of(asked.receive, got.receive))
        cut += "receive " + std::to_string(got.receive) + " of " + std::to_string(2ull * asked.receive) +
               " (net.core.rmem_max caps it)";
    if (short_of(asked.send, got.send))
        cut += std::string(cut.empty() ? "" : ", ") + "send " + std::to_string(got.send) + " of " +
               std::to_string(2ull * asked.send) + " (net.core.wmem_max caps it)";
    if (!cut.empty())
        r.warning = what + " buffers smaller than asked: " + cut +
                    "; SO_RCVBUFFORCE/SO_SNDBUFFORCE need CAP_NET_ADMIN, which this process lacks. Under "
                    "load the tunnel loses what does not fit: raise the sysctl to the size asked, or run "
                    "with CAP_NET_ADMIN (docs/CONFIG.md, tunnel.rcvbuf)";
    return r;
}

namespace {
void log_buffers(const std::string& what, io::SocketBuffers asked, io::SocketBuffers got) {
    const BufferReport r = describe_buffers(what, asked, got);
    log_info(r.info);
    if (!r.warning.empty()) log_warn(r.warning);
}
}  // namespace

void apply_udp_buffers(io::UdpSocket& socket, const config::TunnelConfig& t, const std::string& what) {
    const io::SocketBuffers asked = tunnel_buffers(t);
    auto got = socket.set_buffers(asked);
    if (!got) return log_warn(what + " buffers: " + got.error().message + "; running with the kernel's");
    log_buffers(what, asked, *got);
}

void log_tcp_buffers(int fd, const config::TunnelConfig& t, const std::string& what) {
    const io::SocketBuffers asked = tunnel_buffers(t);
    if (asked == io::SocketBuffers{}) return;
    auto got = io::socket_buffers(fd);
    if (!got) return log_warn(what + " buffers: " + got.error().message);
    log_buffers(what, asked, *got);
}

}  // namespace wirebridge::app
