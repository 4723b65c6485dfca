// ClientRunner: the client's event loop: transport, session, data channel and TAP.
#include "app/client_runner.hpp"

#include <arpa/inet.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.hpp"
#include "app/reload.hpp"
#include "app/runner_common.hpp"
#include "app/tunnel_buffers.hpp"
#include "app/tunnel_setup.hpp"
#include "app/uplink.hpp"
#include "io/signals.hpp"
#include "proto/data_packet.hpp"
#include "proto/keepalive.hpp"

namespace wirebridge::app {

ClientRunner::ClientRunner(const config::Config& cfg, session::SessionConfig scfg, io::EventLoop loop, io::TapDevice tap)
    : cfg_(cfg), tls_stamp_(tls_files_stamp(cfg.tunnel)), scfg_(std::move(scfg)), loop_(std::move(loop)),
      tap_(std::move(tap)) {
    frame_buf_.resize(kPacketBuffer);
    out_scratch_.reserve(kPacketBuffer);
    if (auto r = tap_.enable_offload(); !r) log_warn(r.error().message + "; frames are read one at a time");
    // Queues are attached now, while the process still may (before privileges are dropped); a
    // worker's queue is detached while the worker is stopped.
    if (const unsigned n = wanted_workers(); n > 1) {
        if (auto r = tap_.add_queues(n); !r) log_warn(r.error().message + "; the data path stays on one thread");
        for (unsigned q = 1; q < tap_.queue_count(); ++q) [[maybe_unused]] auto d = tap_.set_queue_attached(q, false);
    }
}

int ClientRunner::run() {
    auto sig = io::open_signal_fd();
    if (!sig) {
        log_error(sig.error().message);
        return 1;
    }
    sigfd_ = std::move(*sig);
    auto mb = datapath::WorkerMailbox::create(kMailboxCapacity);
    if (!mb) {
        log_error(mb.error().message);
        return 1;
    }
    mailbox_ = std::move(*mb);
    if (auto r = loop_.add_fd(mailbox_->fd(), EPOLLIN, [this](std::uint32_t) { on_mail(); }); !r) {
        log_error(r.error().message);
        return 1;
    }
    if (auto r = loop_.add_fd(sigfd_.get(), EPOLLIN, [this](std::uint32_t) { on_signal(); }); !r) {
        log_error(r.error().message);
        return 1;
    }
    if (auto r = watch_tap(EPOLLIN); !r) {
        log_error(r.error().message);
        return 1;
    }
    // Which TAP I/O path runs: writes know at once, reads at the first batch (it shows whether this
    // kernel's TAP takes RWF_NOWAIT reads through io_uring).
    log_info("TAP " + tap_.name() + " writes: " + tap_writer_.path());
    tap_reader_.on_path_decided([this](const std::string& p) { log_info("TAP " + tap_.name() + " reads: " + p); });
    connect_next();
    if (auto r = loop_.run(); !r) {
        log_error(r.error().message);
        return 1;
    }
    teardown();
    return exit_code_;
}

void ClientRunner::connect_next() {
    reconnect_timer_ = 0;
    if (stopping_) return;
    if (before_connect_) before_connect_();
    const config::Endpoint& remote = cfg_.tunnel.remote[next_remote_ % cfg_.tunnel.remote.size()];
    ++next_remote_;
    auto addr = to_socket_address(remote);
    if (!addr) return schedule_reconnect(addr.error().message);
    peer_ = *addr;
    std::optional<io::SocketAddress> local;
    if (cfg_.tunnel.local) {
        auto l = to_socket_address(*cfg_.tunnel.local);
        if (!l) return schedule_reconnect(l.error().message);
        local = *l;
    }
    if (cfg_.tunnel.proto == config::Transport::udp) {
        io::SocketAddress bind_to = local ? *local : *io::SocketAddress::from_numeric(peer_.family() == AF_INET6 ? "::" : "0.0.0.0", 0);
        auto s = io::UdpSocket::open(bind_to);
        if (!s) return schedule_reconnect(s.error().message);
        udp_.emplace(std::move(*s));
        apply_udp_buffers(*udp_, cfg_.tunnel, "UDP socket");
        udp_->count_soft_errors_in(&socket_errors_);
        udp_->count_refusals_in(&refusals_);
        // The uplink (bridge.gateway): the mark picks the agent's own table before connect routes.
        if (const std::uint32_t mark = uplink_mark(cfg_); mark != 0)
            if (setsockopt(udp_->fd(), SOL_SOCKET, SO_MARK, &mark, sizeof mark) != 0)
                return schedule_reconnect(std::string("SO_MARK on the UDP socket: ") + std::strerror(errno));
        // One peer: a connected socket keeps the route cached; GRO takes the server's GSO runs whole.
        if (auto c = udp_->connect(peer_); !c) return schedule_reconnect(c.error().message);
        if (auto g = udp_->enable_gro(); !g) return schedule_reconnect(g.error().message);
        sock_fd_ = udp_->fd();
        // The data path: worker 0 reads the socket (and mails the session what is for it).
        if (!start_workers()) return schedule_reconnect("the data path could not start");
    } else {
        auto s = io::TcpStream::connect(peer_, local, uplink_mark(cfg_), tunnel_buffers(cfg_.tunnel));
        if (!s) return schedule_reconnect(s.error().message);
        log_tcp_buffers(s->fd(), cfg_.tunnel, "TCP socket");
        // Writable once connected (or failed); then the stream is the data path's (on_connected).
        connecting_.emplace(std::move(*s), false);
        sock_fd_ = connecting_->fd();
        if (auto r = loop_.add_fd(sock_fd_, EPOLLOUT, [this](std::uint32_t ev) { on_connected(ev); }); !r)
            return schedule_reconnect(r.error().message);
    }
    scfg_.link_ipv6 = peer_.family() == AF_INET6;  // --mssfix counts the outer header
    auto s = session::Session::create(scfg_, now_ms());
    if (!s) return schedule_reconnect(s.error().message);
    session_ = std::move(*s);
    log_info("connecting to " + peer_.to_string() + " over " + config::to_string(cfg_.tunnel.proto));
    if (udp_) {
        session_->start(now_ms());
        pump_session();
    }
}

void ClientRunner::teardown() {
    stop_workers();
    worker_keys_.clear();
    if (sock_fd_ >= 0) loop_.remove_fd(sock_fd_);
    sock_fd_ = -1;
    udp_.reset();
    connecting_.reset();
    session_.reset();
    dc_.clear();
    if (session_timer_) loop_.cancel_timer(session_timer_);
    session_timer_ = 0;
    armed_for_ = proto::kNever;
}

void ClientRunner::schedule_reconnect(const std::string& why) {
    teardown();
    if (stopping_) {
        loop_.stop();
        return;
    }
    // 1, 2, 4 ... 30 s; reset once a tunnel came up.
    const unsigned delay = std::min(30u, 1u << std::min(failures_, 5u));
    ++failures_;
    log_warn(why + "; reconnecting in " + std::to_string(delay) + " s");
    reconnect_timer_ = loop_.add_timer(std::chrono::seconds(delay), [this] { connect_next(); });
}

// TCP: the connect completed (or failed). From here the stream is the data path's: one worker on
// this loop reads and writes it, and this thread's packets go through it (send_packet).
void ClientRunner::on_connected(std::uint32_t events) {
    if (!connecting_ || !(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    loop_.remove_fd(sock_fd_);
    sock_fd_ = -1;
    if (auto r = connecting_->finish_connect(); !r) return schedule_reconnect(r.error().message);
    if (!start_workers()) return schedule_reconnect("the data path could not start");
    session_->start(now_ms());
    pump_session();
}

void ClientRunner::on_packet(std::span<std::uint8_t> pkt) {
    const proto::TimeMs now = now_ms();
    // Data is opened by the data channel only (the session opens none): here, data of a key the
    // worker did not have yet, mailed behind the control packet that made it (on_mail).
    if (proto::is_data_packet(pkt) && dc_.ready()) {
        std::span<std::uint8_t> payload;
        const datapath::DataDrop d = dc_.open(pkt, now / 1000, payload);
        if (d == datapath::DataDrop::none) {
            session_->note_data_received(payload.size(), now);
            if (proto::is_ping(payload) || proto::is_occ(payload)) {
                ++keepalive_in_;  // not traffic in the status (as the hub counts)
                keepalive_bytes_in_ += payload.size();
                session_->on_data_payload(payload, now);
            } else if (payload.size() >= 14) {
                if (auto w = tap_writer_.write_frame(payload); !w)
                    tap_write_.failed("TAP " + tap_.name(), w.error(), tap_writer_.frames_lost());
            }
            return;
        }
        if (d != datapath::DataDrop::no_key) {
            log_debug(std::string("data packet dropped: ") + datapath::data_drop_name(d));
            return;
        }
    }
    // Control packets; a data packet the data channel has no key for is refused (no_keys) and counted.
    const session::Session::Input in = session_->on_packet(pkt, now);
    // The one drop an operator can fix (another key or digest on the server); the others are
    // duplicates and strays, counted in the status (control_<reason>).
    if (in.drop == proto::Drop::auth_failed) control_drop_log_.note(in.drop, now, [&] { return peer_.to_string(); });
}

// Queue 0 while no data path runs (connecting, reconnecting): frames are dropped like on a down link.
void ClientRunner::on_tap() {
    for (std::size_t got = 0; got < 4 * kBatchSize; ++got) {
        auto r = tap_reader_.read_frame(std::span<std::uint8_t>(frame_buf_).subspan(datapath::kHeadroom, kMaxFrame));
        if (!r) {
            log_error(r.error().message);
            loop_.stop();
            exit_code_ = 1;
            return;
        }
        if (r->would_block) break;
    }
}

// Frames the reader already took from the TAP (the rest of a batch or of a split super-frame) do
// not make its fd readable again: the probe has the loop come back for them at once.
Result<void> ClientRunner::watch_tap(std::uint32_t events) {
    return loop_.add_fd(tap_.fd(), events, [this](std::uint32_t) { on_tap(); }, [this] { return tap_reader_.pending(); });
}

void ClientRunner::send_packet(std::span<const std::uint8_t> pkt) {
    if (udp_) {
        [[maybe_unused]] auto r = udp_->send_to(pkt, peer_);
    } else if (!workers_.empty()) {
        workers_[0]->queue_packet(pkt);  // TCP: the stream is the worker's
    }
}

void ClientRunner::pump_session() {
    if (!session_) return;
    session_->note_refusals(refusals_.load(std::memory_order_relaxed));  // a crashed server (issue 16)
    while (session_ && session_->pop_output(out_scratch_)) send_packet(out_scratch_);
    if (!udp_ && !workers_.empty()) workers_[0]->flush_packets();  // a failed write ends the stream (on_mail)
    session::Event ev;
    while (session_ && session_->pop_event(ev)) handle_event(ev);
    if (session_) arm_timer();
}

void ClientRunner::arm_timer() {
    const proto::TimeMs due = session_->next_deadline();
    if (due == armed_for_ && session_timer_) return;
    if (session_timer_) loop_.cancel_timer(session_timer_);
    session_timer_ = 0;
    armed_for_ = due;
    if (due == proto::kNever) return;
    session_timer_ = loop_.add_timer(to_time_point(due), [this] {
        session_timer_ = 0;
        armed_for_ = proto::kNever;
        if (!session_) return;
        sync_traffic();  // the workers' traffic counts for keepalive and reneg-bytes
        session_->on_timer(now_ms());
        pump_session();
    });
}

void ClientRunner::handle_event(session::Event& ev) {
    using session::EventType;
    switch (ev.type) {
        case EventType::keys_ready: {
            auto k = session_->export_keys(ev.key_id);
            if (!k) break;
            // This thread and the workers share the key's receive window (and send counter).
            auto published = worker_keys_.install(std::move(*k));
            if (!published) break;
            if (auto r = dc_.install(published->keys, published->replay); !r) log_error("data keys: " + r.error().message);
            else log_debug("data keys ready for key_id " + std::to_string(ev.key_id));
            wake_workers();
            break;
        }
        case EventType::keys_primary:
            dc_.set_primary(ev.key_id);
            worker_keys_.set_primary(ev.key_id);
            wake_workers();
            log_debug("sending with key_id " + std::to_string(ev.key_id));
            break;
        case EventType::keys_retired:
            dc_.retire(ev.key_id);
            worker_keys_.retire(ev.key_id);
            wake_workers();
            break;
        case EventType::tunnel_up: {
            failures_ = 0;
            up_since_ = now_ms();
            const auto& p = ev.pushed;
            std::string msg = "tunnel up with " + peer_.to_string() + ", cipher " + session_->cipher_name() +
                              (session_->mss_limit() ? ", mss " + std::to_string(session_->mss_limit()) : ", mssfix off");
            if (p.ifconfig_local && !cfg_.tunnel.address) {
                in_addr a{}, m{};
                if (inet_pton(AF_INET, p.ifconfig_local->c_str(), &a) == 1 &&
                    inet_pton(AF_INET, p.ifconfig_netmask.value_or("255.255.255.0").c_str(), &m) == 1) {
                    const int prefix = __builtin_popcount(m.s_addr);
                    if (auto r = tap_.set_ipv4(a.s_addr, prefix); !r) log_error(r.error().message);
                    else msg += ", address " + *p.ifconfig_local + "/" + std::to_string(prefix) + " on " + tap_.name();
                }
            }
            // A pushed tun-mtu sizes the TAP as OpenVPN 2.6 does (else the configured one, again:
            // a previous server may have pushed another); more than 1500 does not fit our buffers.
            if (const unsigned mtu = p.tun_mtu.value_or(cfg_.tunnel.tun_mtu); mtu < 576 || mtu > 1500) {
                log_warn("the server pushed tun-mtu " + std::to_string(mtu) + "; not applied (576-1500 only)");
            } else if (auto r = tap_.set_mtu(mtu); !r) {
                log_error(r.error().message);
            } else if (p.tun_mtu) {
                msg += ", tun-mtu " + std::to_string(mtu) + " (pushed)";
            }
            if (session_->compression() != proto::CompressionFraming::none)
                msg += std::string(", compression framing ") + proto::compression_name(session_->compression()) +
                       " (never compressing; decompressing what the server compresses)";
            log_info(msg);
            std::string ignored;
            for (const auto& o : p.ignored) {
                if (!ignored_named_.insert(o).second) continue;
                ignored += (ignored.empty() ? "" : "; ") + o;
            }
            if (!ignored.empty())
                log_warn("the server pushed options wirebridge does not apply (a TAP bridge site takes no routes, "
                         "DNS or gateway): " + ignored);
            break;
        }
        case EventType::peer_gone: {
            const std::string why = std::string(session::session_error_name(ev.error)) + (ev.message.empty() ? "" : ": " + ev.message);
            if (reconnect_pending_ && !stopping_) {
                log_info("session closed (" + why + "); connecting with the new configuration");
                // Not from inside the session's event loop: the session is about to be replaced.
                loop_.add_timer(std::chrono::milliseconds(0), [this] { reconnect_now(); });
                return;
            }
            if (ev.error == session::SessionError::local_exit || stopping_) {
                log_info("session closed (" + why + ")");
                teardown();
                loop_.stop();
                return;
            }
            schedule_reconnect("session with " + peer_.to_string() + " ended (" + why + ")");
            return;
        }
        case EventType::info:
            log_info("server says: " + ev.message);
            break;
        case EventType::notice:
            log_warn("server " + peer_.to_string() + ": " + ev.message);
            break;
    }
}

void ClientRunner::on_signal() {
    const int sig = io::read_signal(sigfd_.get());
    if (sig == SIGHUP) {
        if (reload_handler_) reload_handler_();
        else log_info("SIGHUP received: reloading is not supported yet; nothing changed");
        return;
    }
    if (sig != SIGTERM && sig != SIGINT) return;
    if (stopping_) return;
    stopping_ = true;
    log_info(std::string(sig == SIGTERM ? "SIGTERM" : "SIGINT") + ": stopping");
    if (reconnect_timer_) loop_.cancel_timer(reconnect_timer_);
    reconnect_timer_ = 0;
    if (!session_ || !session_->established()) {
        teardown();
        loop_.stop();
        return;
    }
    // Explicit exit notify, then stop; bounded in case the notification never completes.
    session_->close(now_ms());
    pump_session();
    stop_timer_ = loop_.add_timer(std::chrono::seconds(3), [this] { loop_.stop(); });
}

control::Status ClientRunner::status() const {
    control::Status st;
    st.site = cfg_.site;
    st.role = "client";
    st.reloads = reloads_;
    st.last_reload = last_reload_;
    // ICMP errors (forgeable by anyone on the path) and other transient socket errors, ignored.
    if (const std::uint64_t e = socket_errors_.load(std::memory_order_relaxed)) st.drops["socket_error"] = e;
    // Frames the TAP refused, by this thread and the workers (as the hub counts them).
    std::uint64_t tap_write = tap_write_.count() + past_tap_write_;
    for (const auto& w : workers_) tap_write += w->tap_write_drops();
    if (tap_write) st.drops["tap_write"] = tap_write;
    // TCP: packets the stream refused over its hard limit (the server does not read).
    std::uint64_t link_full = past_tcp_link_full_;
    for (const auto& w : workers_) link_full += w->tcp_link_full_drops();
    if (link_full) st.drops["tcp_link_full"] = link_full;
    if (session_)  // the current session's control channel: e.g. auth_failed, a server with another tls-auth key
        for (std::size_t i = 1; i < proto::kDropCount; ++i)
            if (const std::uint64_t n = session_->counters().drops[i])
                st.drops[std::string("control_") + proto::drop_name(static_cast<proto::Drop>(i))] += n;
    if (mailbox_) add_mailbox_drops(*mailbox_, st);
    if (session_ && dc_.ready()) {
        control::PeerStatus p;
        p.name = "server";
        p.real_address = peer_.to_string();
        if (session_->pushed().ifconfig_local) p.virtual_address = *session_->pushed().ifconfig_local;
        p.cipher = session_->cipher_name();
        if (!session_->peer_common_name().empty()) p.name = session_->peer_common_name();
        if (session_->peer_id() != proto::kUndefinedPeerId) p.peer_id = session_->peer_id();
        p.key_id = dc_.primary() ? *dc_.primary() : 0;
        const proto::TimeMs now = now_ms();
        if (const proto::TimeMs k = session_->key_established(); k != proto::kNever && now > k)
            p.key_age_seconds = static_cast<std::uint64_t>((now - k) / 1000);
        if (up_since_ && now > up_since_) p.connected_seconds = static_cast<std::uint64_t>((now - up_since_) / 1000);
        if (const proto::TimeMs h = session_->last_received(); h != 0)
            p.last_heard_seconds = now > h ? static_cast<std::uint64_t>((now - h) / 1000) : 0;
        p.handshakes = session_->counters().handshakes;
        add_traffic(dc_, p, st);
        const datapath::WorkerTraffic w = worker_traffic();
        p.bytes_in += w.bytes_in;
        p.bytes_out += w.bytes_out;
        p.packets_in += w.packets_in;
        p.packets_out += w.packets_out;
        for (std::size_t i = 0; i < w.drops.size(); ++i)
            if (w.drops[i] != 0) st.drops[datapath::data_drop_name(static_cast<datapath::DataDrop>(i))] += w.drops[i];
        // Payload frames only: the server's keepalive pings and OCC messages are not traffic.
        p.packets_in -= std::min(p.packets_in, keepalive_in_);
        p.bytes_in -= std::min(p.bytes_in, keepalive_bytes_in_);
        st.peers.push_back(std::move(p));
    }
    return st;
}

Result<std::string> ClientRunner::reload(const config::Config& next) {
    const std::string next_stamp = tls_files_stamp(next.tunnel);
    const ReloadPlan plan = plan_reload(cfg_, next, tls_stamp_, next_stamp);
    ++reloads_;
    if (!plan.ok()) {
        last_reload_ = plan.refusal();
        log_error(last_reload_);
        return fail(last_reload_, EINVAL);
    }
    if (plan.session || plan.reconnect) {
        // Read every file first: a bad one leaves the running configuration untouched.
        auto sc = make_session_config(next);
        if (!sc) {
            last_reload_ = "reload refused: " + sc.error().message + "; still running the previous configuration";
            log_error(last_reload_);
            return fail(last_reload_, EINVAL);
        }
        scfg_ = std::move(*sc);
    }
    if (plan.log_level) set_log_level(next.log.level);
    if (plan.keepalive && session_) session_->set_keepalive(scfg_.ping_s, scfg_.ping_restart_s);
    const bool workers_changed = next.tunnel.workers != cfg_.tunnel.workers;
    cfg_ = next;
    tls_stamp_ = next_stamp;
    std::string summary = "reloaded: " + plan.summary();
    if (workers_changed && udp_ && !plan.reconnect && !reconnect_pending_) {
        // The session stays: the workers stop (joined) and start again with the current keys.
        stop_workers();
        if (!start_workers()) schedule_reconnect("the data path could not start again");
    }
    if (workers_changed) summary += "; data path workers: " + std::to_string(std::max<unsigned>(wanted_workers(), 1));
    if (plan.reconnect && !stopping_) {
        summary += "; reconnecting with the new configuration";
        reconnect_pending_ = true;
        if (reconnect_timer_) {
            // Waiting to retry anyway: retry now, from the first remote.
            loop_.cancel_timer(reconnect_timer_);
            reconnect_timer_ = 0;
            loop_.add_timer(std::chrono::milliseconds(0), [this] { reconnect_now(); });
        } else if (session_ && session_->established()) {
            // Tell the server (exit notify) so it frees our peer-id and address at once; the
            // peer_gone that follows reconnects. Bounded in case the notification is never acked.
            session_->close(now_ms());
            pump_session();
            stop_timer_ = loop_.add_timer(std::chrono::seconds(3), [this] {
                stop_timer_ = 0;
                if (reconnect_pending_) reconnect_now();
            });
        } else {
            loop_.add_timer(std::chrono::milliseconds(0), [this] { reconnect_now(); });
        }
    } else if (plan.reneg) {
        summary += "; reneg applies from the next connection";
    }
    last_reload_ = summary;
    log_info(summary);
    return summary;
}

void ClientRunner::reconnect_now() {
    if (!reconnect_pending_ || stopping_) return;
    reconnect_pending_ = false;
    if (stop_timer_) loop_.cancel_timer(stop_timer_);
    stop_timer_ = 0;
    if (reconnect_timer_) loop_.cancel_timer(reconnect_timer_);
    reconnect_timer_ = 0;
    teardown();
    next_remote_ = 0;
    failures_ = 0;
    up_since_ = 0;
    connect_next();
}

unsigned ClientRunner::wanted_workers() const {
    if (cfg_.tunnel.proto != config::Transport::udp) return 1;  // one stream: one reader, one writer
    if (cfg_.tunnel.fragment) return 1;  // --fragment: cut and reassembled on one thread (DataChannel)
    unsigned n = cfg_.tunnel.workers;
    if (n == 0) {
        const long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n = cores > 0 ? static_cast<unsigned>(cores) : 1;
    }
    return std::min(n, 64u);
}

bool ClientRunner::start_workers() {
    if (!workers_.empty()) return true;
    if ((!udp_ && !connecting_) || !mailbox_) return false;
    unsigned n = 1;
    if (wanted_workers() > 1) {
        // No worker runs now, so the TAP's queue list may grow (a reload raised tunnel.workers).
        if (auto r = tap_.add_queues(wanted_workers()); !r) log_warn(r.error().message);
        n = std::min(wanted_workers(), tap_.queue_count());
    }
    loop_.remove_fd(tap_.fd());  // queue 0 is worker 0's
    if (n > 1 && !launch_workers(n)) {
        log_warn("could not start " + std::to_string(n) + " data path workers; the data path stays on one thread");
        n = 1;
    }
    if (n == 1 && !launch_workers(1)) {
        if (auto r = watch_tap(EPOLLIN); !r) log_error(r.error().message);
        return false;
    }
    if (!traffic_timer_) traffic_tick();
    return true;
}

// n == 1: the one worker runs on this thread's loop; n > 1: each on its own thread.
bool ClientRunner::launch_workers(unsigned n) {
    // Interleaved senders reorder ids by up to one block per other worker: keep that inside the
    // peer's replay window (64 ids in OpenVPN's default).
    const std::size_t block = std::max<std::size_t>(1, std::min<std::size_t>(kBatch, proto::kReplayBacktrack / n));
    for (unsigned k = 0; k < n; ++k) {
        if (auto r = tap_.set_queue_attached(k, true); !r) {
            log_warn(r.error().message);
            break;
        }
        datapath::DataWorker::Setup setup;
        setup.index = k;
        setup.tap = &tap_;
        setup.queue = k;
        setup.receive = k == 0;
        setup.send_block = block;
        setup.keys = &worker_keys_;
        setup.mailbox = mailbox_.get();
        setup.peer = peer_;
        setup.host_loop = n == 1 ? &loop_ : nullptr;
        Result<std::unique_ptr<datapath::DataWorker>> w = fail("no transport", EINVAL);
        if (udp_) {
            auto sock = udp_->share();
            if (!sock) {
                log_warn(sock.error().message);
                break;
            }
            w = datapath::DataWorker::start(setup, std::move(*sock));
        } else {
            // TCP (n is 1): the worker takes the stream over.
            w = datapath::DataWorker::start(setup, std::move(*connecting_));
            connecting_.reset();
        }
        if (!w) {
            log_warn("worker " + std::to_string(k) + ": " + w.error().message);
            break;
        }
        workers_.push_back(std::move(*w));
    }
    if (workers_.size() < n) {
        retire_workers();
        for (unsigned q = 1; q < tap_.queue_count(); ++q) [[maybe_unused]] auto d = tap_.set_queue_attached(q, false);
        return false;
    }
    if (n > 1)
        log_info("data path: " + std::to_string(n) + " workers (TAP queues 0-" + std::to_string(n - 1) + ", id blocks of " +
                 std::to_string(block) + ")");
    return true;
}

// Keepalive and reneg-bytes need the workers' traffic; once a second is enough for both (the
// session timer syncs too, right before it decides).
void ClientRunner::traffic_tick() {
    traffic_timer_ = loop_.add_timer(std::chrono::seconds(1), [this] {
        traffic_timer_ = 0;
        sync_traffic();
        if (!workers_.empty()) traffic_tick();
    });
}

// Stops and joins the workers; what they counted is kept for the status and the session.
void ClientRunner::retire_workers() {
    sync_traffic();
    for (auto& w : workers_) w->stop();  // joined: nothing touches the TAP queues or keys after this
    for (auto& w : workers_) {
        const datapath::WorkerTraffic t = w->traffic();
        if (workers_.size() > 1)
            log_info("worker " + std::to_string(w->index()) + " stopped: " + std::to_string(t.packets_out) +
                     " packets sealed, " + std::to_string(t.packets_in) + " opened");
        past_traffic_.add(t);
        past_tap_write_ += w->tap_write_drops();
        past_tcp_link_full_ += w->tcp_link_full_drops();
    }
    workers_.clear();
}

void ClientRunner::stop_workers() {
    if (workers_.empty()) return;
    retire_workers();
    if (traffic_timer_) loop_.cancel_timer(traffic_timer_);
    traffic_timer_ = 0;
    for (unsigned q = 1; q < tap_.queue_count(); ++q) [[maybe_unused]] auto d = tap_.set_queue_attached(q, false);
    // Queue 0 is this thread's again (frames read while no session runs are dropped).
    if (auto r = watch_tap(EPOLLIN); !r) log_error(r.error().message);
    // Mail the stopped workers left (control packets in flight) is dropped like a lost datagram:
    // the control channel retransmits.
    std::vector<datapath::WorkerMailbox::Mail> left;
    if (mailbox_) mailbox_->take(left);
}

void ClientRunner::wake_workers() {
    for (auto& w : workers_) w->wake();
}

void ClientRunner::on_mail() {
    if (!mailbox_) return;
    // A local list: handling a packet may end the session, which stops the workers.
    std::vector<datapath::WorkerMailbox::Mail> mails;
    mailbox_->take(mails);
    for (auto& m : mails) {
        if (!session_) break;
        const proto::TimeMs now = now_ms();
        switch (m.kind) {
            case datapath::WorkerMailbox::Kind::packet:
                on_packet(m.bytes);
                // Its events now (keys_ready installs the key): a data packet of the new key mailed
                // right behind it is then opened by the data channel, and counted.
                pump_session();
                break;
            case datapath::WorkerMailbox::Kind::payload:
                ++keepalive_in_;
                keepalive_bytes_in_ += m.bytes.size();
                session_->on_data_payload(m.bytes, now);
                break;
            case datapath::WorkerMailbox::Kind::error:
                return schedule_reconnect(std::string(m.bytes.begin(), m.bytes.end()));
        }
    }
    // Frames of the data packets opened here.
    if (auto w = tap_writer_.flush(); !w) tap_write_.failed("TAP " + tap_.name(), w.error(), tap_writer_.frames_lost());
    // TCP: the stream ended (its last packets were handled above); a copy, since the worker goes.
    for (const auto& w : workers_)
        if (!w->stream_end().empty()) return schedule_reconnect(std::string(w->stream_end()));
    // A wake-up may carry no mail: worker 0 met a refusal (ICMP port unreachable). The session notes
    // it in pump_session(), what the workers heard first (an authentic packet ends a run).
    if (mails.empty()) sync_traffic();
    pump_session();
}

datapath::WorkerTraffic ClientRunner::worker_traffic() const {
    datapath::WorkerTraffic t = past_traffic_;
    for (const auto& w : workers_) t.add(w->traffic());
    return t;
}

void ClientRunner::sync_traffic() {
    const datapath::WorkerTraffic t = worker_traffic();
    const proto::TimeMs now = now_ms();
    if (session_) {
        // Heard when the worker opened the packet, not now: "nothing heard for" of the refusal
        // rule and of ping-restart counts from there (a sync up to 1 s later would also end a
        // run of refusals noted meanwhile). Never before what the session heard itself.
        const proto::TimeMs heard = std::max(session_->last_received(), t.last_in_ms ? std::min(now, t.last_in_ms) : now);
        if (t.bytes_in > told_session_.bytes_in) session_->note_data_received(t.bytes_in - told_session_.bytes_in, heard);
        // Sent when the worker sent it, too: stamped at the sync, an idle site's next ping came
        // up to 1 s after the ping interval, and could miss a crashed hub's down time (issue 16).
        const proto::TimeMs sent = t.last_out_ms ? std::min(now, t.last_out_ms) : now;
        if (t.bytes_out > told_session_.bytes_out) session_->note_data_sent(t.bytes_out - told_session_.bytes_out, sent);
    }
    told_session_ = t;
}

}  // namespace wirebridge::app
