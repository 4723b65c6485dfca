// ServerRunner: accepts clients, runs their sessions, and switches frames between them and the TAP.
#include "app/server_runner.hpp"

#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
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

namespace {
session::PeerAddress to_peer(const io::SocketAddress& a) { return session::PeerAddress::from(a.get(), a.length); }
io::SocketAddress to_socket(const session::PeerAddress& p) {
    io::SocketAddress a;
    std::memcpy(&a.storage, &p.storage, p.len);
    a.length = p.len;
    return a;
}
}  // namespace

ServerRunner::ServerRunner(const config::Config& cfg, std::unique_ptr<session::ServerDispatcher> dispatcher,
                           io::EventLoop loop, io::TapDevice tap)
    : cfg_(cfg), tls_stamp_(tls_files_stamp(cfg.tunnel)), d_(std::move(dispatcher)), loop_(std::move(loop)),
      tap_(std::move(tap)), switch_(switch_settings(cfg)) {
    buf_.resize(kPacketBuffer);
    if (auto r = tap_.enable_offload(); !r) log_warn(r.error().message + "; frames are read one at a time");
    // Queues are attached now, while the process still may (before privileges are dropped).
    workers_wanted_ = wanted_workers();
    if (workers_wanted_ > 1) {
        if (auto r = tap_.add_queues(workers_wanted_); !r) {
            log_warn(r.error().message + "; the data path stays on one thread");
            workers_wanted_ = 1;
        }
    }
}

ServerRunner::~ServerRunner() { stop_workers(); }

unsigned ServerRunner::wanted_workers() const {
    // TCP: one byte stream per client, cut into packets in order by one reader (refused at load).
    if (cfg_.tunnel.proto != config::Transport::udp) return 1;
    if (cfg_.tunnel.fragment) return 1;  // --fragment: cut and reassembled on one thread (DataChannel)
    unsigned n = cfg_.tunnel.workers;
    if (n == 0) {
        const long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n = cores > 0 ? static_cast<unsigned>(cores) : 1;
    }
    return std::min(n, 64u);
}

// One socket, or (workers) a SO_REUSEPORT group of one socket per worker, all bound to `local`
// at once: the kernel spreads clients over the group by 4-tuple, so every member must be read.
// The workers take the group; this thread keeps a dup of member 0 for its control output (sends only).
Result<void> ServerRunner::open_udp(const io::SocketAddress& local) {
    const unsigned n = workers_wanted_ > 1 ? std::min(workers_wanted_, tap_.queue_count()) : 1;
    for (unsigned k = 0; k < n; ++k) {
        auto s = io::UdpSocket::open(local, n > 1);
        if (!s) return fail(s.error());
        if (auto m = mark_uplink_socket(s->fd(), cfg_); !m) return fail(m.error());  // a hub inline
        const std::string what = n > 1 ? "UDP socket " + std::to_string(k + 1) + " of " + std::to_string(n) : "UDP socket";
        apply_udp_buffers(*s, cfg_.tunnel, what);
        if (auto g = s->enable_gro(); !g) log_warn(g.error().message);
        s->count_soft_errors_in(&socket_errors_);
        group_.push_back(std::move(*s));
    }
    auto mine = group_[0].share();
    if (!mine) return fail(mine.error());
    udp_.emplace(std::move(*mine));
    return {};
}

int ServerRunner::run() {
    auto sig = io::open_signal_fd();
    if (!sig) {
        log_error(sig.error().message);
        return 1;
    }
    sigfd_ = std::move(*sig);
    auto local = to_socket_address(*cfg_.tunnel.local);
    if (!local) {
        log_error(local.error().message);
        return 1;
    }
    Result<void> reg;
    if (cfg_.tunnel.proto == config::Transport::udp) {
        if (auto s = open_udp(*local); !s) {
            log_error(s.error().message);
            return 1;
        }
        if (group_.size() > 1 && !start_workers()) {
            // Sockets 1..N-1 are closed: the group is member 0 alone, read by one worker on this loop.
            log_warn("could not start " + std::to_string(workers_wanted_) + " data path workers; the data path stays on one thread");
            for (unsigned q = 1; q < tap_.queue_count(); ++q) [[maybe_unused]] auto d = tap_.set_queue_attached(q, false);
            auto one = udp_->share();
            if (!one) {
                log_error(one.error().message);
                return 1;
            }
            group_.push_back(std::move(*one));
        }
        if (workers_.empty() && !start_workers()) {
            log_error("the data path could not start");
            return 1;
        }
    } else {
        // Buffers set before listen(): the connections it accepts inherit them (tunnel.rcvbuf/sndbuf).
        auto l = io::TcpListener::open(*local, false, tunnel_buffers(cfg_.tunnel));
        if (!l) {
            log_error(l.error().message);
            return 1;
        }
        log_tcp_buffers(l->fd(), cfg_.tunnel, "TCP listener (its connections inherit them)");
        if (auto m = mark_uplink_socket(l->fd(), cfg_); !m) {  // a hub inline: accepted ones inherit it
            log_error(m.error().message);
            return 1;
        }
        listener_.emplace(std::move(*l));
        // The links this thread accepts are pumped by one worker on this loop (it reads the TAP too).
        if (!start_workers()) {
            log_error("the data path could not start");
            return 1;
        }
        reg = loop_.add_fd(listener_->fd(), EPOLLIN, [this](std::uint32_t) { on_accept(); });
    }
    if (reg) reg = loop_.add_fd(sigfd_.get(), EPOLLIN, [this](std::uint32_t) { on_signal(); });
    if (!reg) {
        log_error(reg.error().message);
        stop_workers();
        return 1;
    }
    log_info("listening on " + local->to_string() + " over " + config::to_string(cfg_.tunnel.proto) + ", device " +
             tap_.name());
    arm_timer();
    auto r = loop_.run();
    stop_workers();  // after the exit notifications went out (their acks came through the workers)
    if (!r) {
        log_error(r.error().message);
        return 1;
    }
    return exit_code_;
}

bool ServerRunner::start_workers() {
    const unsigned n = listener_ ? 1 : static_cast<unsigned>(group_.size());
    auto mb = datapath::WorkerMailbox::create(kMailboxCapacity);
    if (!mb) {
        log_warn(mb.error().message);
        group_.clear();
        return false;
    }
    mailbox_ = std::move(*mb);
    if (auto r = loop_.add_fd(mailbox_->fd(), EPOLLIN, [this](std::uint32_t) { on_mail(); }); !r) {
        log_warn(r.error().message);
        group_.clear();
        return false;
    }
    directory_ = std::make_unique<datapath::HubDirectory>(n);
    // Interleaved senders reorder a client's ids by up to one block per other worker: keep that
    // inside the client's replay window (64 ids in OpenVPN's default).
    const std::size_t block = std::max<std::size_t>(1, std::min<std::size_t>(kBatch, proto::kReplayBacktrack / n));
    for (unsigned k = 0; k < n; ++k) {
        datapath::HubWorker::Setup setup;
        setup.index = k;
        setup.tap = &tap_;
        setup.send_block = block;
        setup.directory = directory_.get();
        setup.sw = &switch_;
        setup.switch_mutex = &switch_mutex_;
        setup.mailbox = mailbox_.get();
        setup.host_loop = n == 1 ? &loop_ : nullptr;
        if (listener_)
            setup.link_ended = [this](const io::SocketAddress& peer, const std::string& why) { tcp_link_ended(peer, why); };
        auto w = listener_ ? datapath::HubWorker::start_tcp(setup) : datapath::HubWorker::start(setup, std::move(group_[k]));
        if (!w) {
            log_warn("worker " + std::to_string(k) + ": " + w.error().message);
            group_.clear();
            stop_workers();
            return false;
        }
        workers_.push_back(std::move(*w));
    }
    group_.clear();
    past_counts_.assign(n, datapath::HubWorkerCounts{});
    traffic_tick();
    if (n > 1)
        log_info("data path: " + std::to_string(n) + " workers (TAP queues 0-" + std::to_string(n - 1) +
                 ", one SO_REUSEPORT socket each, id blocks of " + std::to_string(block) + ")");
    return true;
}

void ServerRunner::stop_workers() {
    if (workers_.empty()) {
        if (mailbox_) loop_.remove_fd(mailbox_->fd());
        mailbox_.reset();
        directory_.reset();
        return;
    }
    sync_traffic();
    for (auto& w : workers_) w->stop();  // joined: nothing touches the TAP queues, switch or keys after this
    for (auto& w : workers_) {
        const datapath::HubWorkerCounts c = w->counts();
        past_counts_[w->index()] = c;
        if (workers_.size() > 1)
            log_info("worker " + std::to_string(w->index()) + " stopped: " + std::to_string(c.packets_in) + " packets opened, " +
                 std::to_string(c.packets_out) + " sealed, " + std::to_string(c.frames_from_tap) + " frames from its TAP queue, " +
                 std::to_string(c.frames_to_tap) + " to it");
    }
    workers_.clear();
    if (traffic_timer_) loop_.cancel_timer(traffic_timer_);
    traffic_timer_ = 0;
    if (mailbox_) loop_.remove_fd(mailbox_->fd());
    mailbox_.reset();
    for (auto& [id, peer] : peers_) peer->hub.reset();
    directory_.reset();
}

void ServerRunner::wake_workers() {
    for (auto& w : workers_) w->wake();
}

void ServerRunner::on_mail() {
    if (!mailbox_) return;
    std::vector<datapath::WorkerMailbox::Mail> mails;
    mailbox_->take(mails);
    for (auto& m : mails) {
        switch (m.kind) {
            case datapath::WorkerMailbox::Kind::packet:
                on_packet(to_peer(m.from), m.bytes);
                // Its events now (keys_ready installs the key): a data packet of the new key mailed
                // right behind it is then opened by the data channel, and counted.
                pump();
                break;
            case datapath::WorkerMailbox::Kind::payload: {
                auto it = peers_.find(m.peer_id);
                if (it == peers_.end()) break;
                ++it->second->keepalive_in;
                it->second->keepalive_bytes_in += m.bytes.size();
                if (session::Session* s = d_->find(m.peer_id)) s->on_data_payload(m.bytes, now_ms());
                break;
            }
            case datapath::WorkerMailbox::Kind::error:
                log_error(std::string(m.bytes.begin(), m.bytes.end()) + "; stopping");
                exit_code_ = 1;
                loop_.stop();
                return;
        }
    }
    pump();
    flush();
}

// Keepalive and reneg-bytes need the workers' traffic: once a second, and right before the
// sessions' timers decide.
void ServerRunner::traffic_tick() {
    traffic_timer_ = loop_.add_timer(std::chrono::seconds(1), [this] {
        traffic_timer_ = 0;
        sync_traffic();
        if (!workers_.empty()) traffic_tick();
    });
}

void ServerRunner::sync_traffic() {
    if (workers_.empty()) return;
    const proto::TimeMs now = now_ms();
    for (auto& [id, peer] : peers_) {
        if (!peer->hub) continue;
        const datapath::WorkerTraffic t = peer->hub->traffic_sum();
        if (session::Session* s = d_->find(id)) {
            if (t.bytes_in > peer->told.bytes_in) s->note_data_received(t.bytes_in - peer->told.bytes_in, now);
            if (t.bytes_out > peer->told.bytes_out) s->note_data_sent(t.bytes_out - peer->told.bytes_out, now);
        }
        peer->told = t;
    }
}

void ServerRunner::on_accept() {
    for (int i = 0; i < 16; ++i) {
        auto c = listener_->accept();
        if (!c) {
            ++tcp_accept_errors_;
            return pause_accepting(c.error().message);
        }
        if (!c->has_value()) return;
        // Caps: a refused connection is accepted and closed at once (left in the backlog it would
        // keep the listener readable).
        const io::SocketAddress& peer = (*c)->peer();
        const session::SourcePrefix src = session::SourcePrefix::host(peer.get(), peer.length);
        std::size_t same = 0;
        for (const auto& [a, t] : tcp_links_) same += session::SourcePrefix::host(t.addr.get(), t.addr.length) == src;
        if (tcp_links_.size() >= cfg_.limits.tcp_max_connections || same >= cfg_.limits.tcp_max_per_source) {
            ++tcp_refused_;
            if (tcp_refused_ == 1 || tcp_refused_ % 1000 == 0)
                log_warn("TCP connection from " + peer.to_string() + " refused: " +
                         (same >= cfg_.limits.tcp_max_per_source ? "limits.tcp_max_per_source" : "limits.tcp_max_connections") +
                         " reached (" + std::to_string(tcp_refused_) + " refused so far: tcp_connection_limit drops)");
            continue;  // the stream closes here
        }
        const io::SocketAddress addr = peer;
        log_info("TCP connection from " + addr.to_string());
        // The worker reads, writes and closes it from now on (it tells tcp_link_ended).
        if (auto r = workers_.front()->add_link(io::TcpLink(std::move(**c), true)); !r) {
            log_info("TCP connection from " + addr.to_string() + " closed: cannot watch it: " + r.error().message);
            continue;
        }
        tcp_links_[to_peer(addr)] = AcceptedLink{addr, now_ms()};
    }
}

void ServerRunner::pause_accepting(const std::string& why) {
    if (accept_pause_ || !listener_) return;
    log_warn(why + "; not accepting TCP connections for 1 s (" + std::to_string(tcp_accept_errors_) +
             " failed accepts so far: tcp_accept_failed drops)");
    [[maybe_unused]] auto m = loop_.modify_fd(listener_->fd(), 0);
    accept_pause_ = loop_.add_timer(std::chrono::seconds(1), [this] {
        accept_pause_ = 0;
        if (listener_) [[maybe_unused]] auto r = loop_.modify_fd(listener_->fd(), EPOLLIN);
    });
}

void ServerRunner::expire_tcp(proto::TimeMs now) {
    const proto::TimeMs limit = proto::TimeMs{cfg_.limits.tcp_handshake_timeout} * 1000;
    std::vector<io::SocketAddress> stale;
    for (const auto& [a, t] : tcp_links_) {
        if (now - t.accepted_ms <= limit) continue;
        const session::Session* s = d_->find(a);
        if (!s || !s->admitted()) stale.push_back(t.addr);
    }
    for (const io::SocketAddress& addr : stale) {
        ++tcp_timeouts_;
        workers_.front()->close_link(addr, "no authenticated session within limits.tcp_handshake_timeout (" +
                                               std::to_string(cfg_.limits.tcp_handshake_timeout) + " s)");
    }
}

void ServerRunner::tcp_link_ended(const io::SocketAddress& peer, const std::string& why) {
    log_info("TCP connection from " + peer.to_string() + " closed: " + why);
    tcp_links_.erase(to_peer(peer));
}

void ServerRunner::on_packet(const session::PeerAddress& from, std::span<std::uint8_t> pkt) {
    const proto::TimeMs now = now_ms();
    // Data is opened here, by the client's DataChannel (the one data decryption): DATA_V2 names
    // the client by its peer-id, DATA_V1 (a client without peer-id) by its address. What it cannot
    // open for want of a key goes to the dispatcher, which counts it (the session opens no data).
    proto::DataHeader h;
    proto::ByteSpan body;
    if (proto::parse_data_header(pkt, h, body) == proto::Drop::none) {
        const std::uint32_t peer_id = h.opcode == proto::Opcode::data_v2 ? h.peer_id : d_->peer_id_of(from);
        auto it = peers_.find(peer_id);
        if (it != peers_.end() && it->second->addr == from && it->second->dc.ready()) {
            std::span<std::uint8_t> payload;
            const datapath::DataDrop drop = it->second->dc.open(pkt, now / 1000, payload);
            if (drop == datapath::DataDrop::none) {
                session::Session* s = d_->find(peer_id);
                if (s) s->note_data_received(payload.size(), now);
                if (proto::is_ping(payload) || proto::is_occ(payload)) {
                    ++it->second->keepalive_in;
                    it->second->keepalive_bytes_in += payload.size();
                    if (s) s->on_data_payload(payload, now);
                } else {
                    deliver(peer_id, payload, datapath::DataChannel::headroom_of(pkt, payload));
                }
                return;
            }
            if (drop != datapath::DataDrop::no_key) return;
        }
    }
    const session::ServerDispatcher::Input in = d_->on_datagram(from, pkt, now);
    if (in.drop != proto::Drop::none && !in.session) pre_session_log_.note(in.drop, now, [&] { return to_socket(from).to_string(); });
}

void ServerRunner::deliver(datapath::Port in, std::span<std::uint8_t> frame, std::size_t headroom) {
    // Workers: this thread delivers only the rare frames its own DataChannel opened (mailed: a key
    // the workers did not have yet, or DATA_V1); the decision's spans are the switch's, so the lock
    // covers their use too.
    const auto guard = switch_guard();
    const datapath::L2Switch::Decision d = switch_.forward(in, frame, headroom, now_ms());
    for (const datapath::Port p : d.clients) {
        auto it = peers_.find(p);
        if (it != peers_.end()) send_to_peer(p, *it->second, d.client_frame);
    }
    // After the clients: with VLAN tagging the tag goes in place over the frame they were sent.
    if (d.to_tap) {
        const auto f = switch_.tap_frame();
        if (!f.empty())
            if (auto w = tap_writer_.write_frame(f); !w) tap_write_failed(in, w.error());
    }
}

void ServerRunner::tap_write_failed(datapath::Port in, const Error& e) {
    // Called with the switch guard held (deliver) or from flush(); with workers flush() takes it.
    // The first lost frame is `in`'s (per port, in status); the rest were a batch of many senders'
    // frames (sent early: slots full, or at flush), in the total only.
    const std::size_t lost = std::max<std::size_t>(tap_writer_.frames_lost(), 1);
    switch_.count_drop(in, datapath::SwitchDrop::tap_write);
    switch_.count_drop(datapath::kTapPort, datapath::SwitchDrop::tap_write, lost - 1);
    tap_write_.failed("TAP " + tap_.name(), e, lost);  // the log: the first and every 1000th
}

void ServerRunner::ensure_port(std::uint32_t peer_id) {
    const session::Session* s = d_->find(peer_id);
    const std::string cn = s ? s->peer_common_name() : std::string();
    // set_port keeps the MACs unless the client's VLAN or MAC allowlist changes.
    const auto guard = switch_guard();
    switch_.set_port(peer_id, port_settings(cfg_.tunnel, cn));
}

// The rare frames this thread opens itself (mailed: a key the worker did not have yet, DATA_V1):
// over UDP on its own socket, over TCP queued on the client's link through the worker.
void ServerRunner::send_to_peer(std::uint32_t peer_id, Peer& p, std::span<const std::uint8_t> frame) {
    if (!p.dc.ready() || frame.size() > kMaxFrame) return;
    std::span<std::uint8_t> buf(buf_);
    std::memcpy(buf.data() + datapath::kHeadroom, frame.data(), frame.size());
    const std::size_t n = p.dc.seal(buf, frame.size());
    if (n == 0) return;
    if (session::Session* s = d_->find(peer_id)) s->note_data_sent(frame.size(), now_ms());
    send_packet(p.addr, std::span<const std::uint8_t>(buf.data(), n));
}

void ServerRunner::send_packet(const session::PeerAddress& to, std::span<const std::uint8_t> pkt) {
    if (udp_) {
        [[maybe_unused]] auto r = udp_->send_to(pkt, to_socket(to));
        return;
    }
    // TCP: the link is the worker's; written at flush().
    if (!workers_.empty()) workers_.front()->queue_packet(to_socket(to), pkt);
}

void ServerRunner::flush() {
    // A batch (merged runs, queued writes) mixes the clients' frames: its failure counts in the total only.
    if (auto w = tap_writer_.flush(); !w) {
        const auto guard = switch_guard();
        tap_write_failed(datapath::kTapPort, w.error());
    }
    if (!listener_ || workers_.empty()) return;
    workers_.front()->flush_packets();  // a failed write ends its link (tcp_link_ended)
    // Connections whose session ended (its last words written above, as far as the socket took them).
    std::vector<session::PeerAddress> ended;
    ended.swap(tcp_to_close_);
    for (const auto& a : ended) {
        const session::Session* s = d_->find(a);
        auto t = tcp_links_.find(a);
        if (t != tcp_links_.end() && (!s || s->gone())) workers_.front()->close_link(t->second.addr, "its session ended");
    }
}

void ServerRunner::user_pass_verdict(std::uint64_t ticket, session::UserPassVerdict verdict) {
    d_->on_user_pass_verdict(ticket, std::move(verdict), now_ms());
    pump();
    flush();
}

void ServerRunner::pump() {
    session::ServerDispatcher::Output o;
    while (d_->pop_output(o)) send_packet(o.to, o.bytes);
    session::ServerDispatcher::PeerEvent pe;
    while (d_->pop_event(pe)) {
        using session::EventType;
        const std::uint32_t id = pe.peer_id;
        auto& ev = pe.event;
        switch (ev.type) {
            case EventType::keys_ready: {
                session::Session* s = d_->find(id);
                if (!s) break;
                auto k = s->export_keys(ev.key_id);
                if (!k) break;
                auto& peer = peers_[id];
                if (!peer) {
                    peer = std::make_unique<Peer>();
                    ensure_port(id);  // before its first frame
                }
                peer->addr = pe.from;
                if (directory_) {
                    // Published to the workers; this thread shares the key's replay window and send
                    // counter with them (it opens what they mail it, and seals the rare frames it delivers).
                    const io::SocketAddress addr = to_socket(pe.from);
                    if (!peer->hub || !(peer->hub->addr == addr)) {
                        peer->hub = directory_->add(id, addr);
                        peer->told = datapath::WorkerTraffic{};
                    }
                    auto published = peer->hub->keys.install(std::move(*k));
                    directory_->publish();
                    wake_workers();
                    if (!published) break;
                    if (auto r = peer->dc.install(published->keys, published->replay); !r)
                        log_error("data keys for peer " + std::to_string(id) + ": " + r.error().message);
                    break;
                }
                if (auto r = peer->dc.install(*k); !r) log_error("data keys for peer " + std::to_string(id) + ": " + r.error().message);
                break;
            }
            case EventType::keys_primary:
                if (auto it = peers_.find(id); it != peers_.end()) {
                    it->second->dc.set_primary(ev.key_id);
                    if (it->second->hub) {
                        it->second->hub->keys.set_primary(ev.key_id);
                        directory_->publish();
                        wake_workers();
                    }
                }
                break;
            case EventType::keys_retired:
                if (auto it = peers_.find(id); it != peers_.end()) {
                    it->second->dc.retire(ev.key_id);
                    if (it->second->hub) {
                        it->second->hub->keys.retire(ev.key_id);
                        directory_->publish();
                        wake_workers();
                    }
                }
                break;
            case EventType::tunnel_up: {
                ensure_port(id);
                session::Session* s = d_->find(id);
                std::uint16_t vlan = 0;
                {
                    const auto guard = switch_guard();
                    vlan = switch_.port_vlan(id);
                }
                if (auto it = peers_.find(id); it != peers_.end()) {
                    it->second->up_since = now_ms();
                    if (s) it->second->name = s->peer_common_name();
                }
                log_info("client " + to_socket(pe.from).to_string() +
                         (s && !s->peer_common_name().empty() ? " (" + s->peer_common_name() + ")" : std::string()) +
                         " up as peer-id " + std::to_string(id) +
                         (switch_.settings().vlan_tagging ? ", vlan " + std::to_string(vlan) : std::string()) +
                         (s ? ", cipher " + s->cipher_name() : std::string()) +
                         (s && s->mss_limit() ? ", mss " + std::to_string(s->mss_limit()) : std::string()) +
                         (s && s->virtual_address() ? ", address " + *s->virtual_address() : std::string()));
                break;
            }
            case EventType::peer_gone: {
                if (listener_) {
                    // TCP: the connection goes with its session (unless a new session took it over).
                    tcp_to_close_.push_back(pe.from);
                }
                if (id == proto::kUndefinedPeerId) {
                    // Never authenticated (or refused at admission): it held no peer-id, port or keys.
                    log_info("client " + to_socket(pe.from).to_string() + " gone before it was admitted: " +
                             session::session_error_name(ev.error) + (ev.message.empty() ? "" : ": " + ev.message));
                    break;
                }
                auto it = peers_.find(id);
                const std::string who = it != peers_.end() && !it->second->name.empty() ? it->second->name + ", " : "";
                log_info("client " + to_socket(pe.from).to_string() + " (" + who + "peer-id " + std::to_string(id) + ") gone: " +
                         session::session_error_name(ev.error) + (ev.message.empty() ? "" : ": " + ev.message));
                {
                    const auto guard = switch_guard();
                    switch_.remove_port(id);
                }
                if (directory_ && it != peers_.end() && it->second->hub) {
                    directory_->remove(id);  // the workers let go at once; the keys are wiped when the last does
                    wake_workers();
                }
                peers_.erase(id);
                break;
            }
            case EventType::info:
                log_info("client " + std::to_string(id) + " says: " + ev.message);
                break;
            case EventType::notice:
                log_warn("client " + to_socket(pe.from).to_string() + " (peer-id " + std::to_string(id) + "): " + ev.message);
                break;
        }
    }
    arm_timer();
}

void ServerRunner::arm_timer() {
    const proto::TimeMs due = d_->next_deadline();
    if (due == armed_for_ && timer_) return;
    if (timer_) loop_.cancel_timer(timer_);
    timer_ = 0;
    armed_for_ = due;
    // The dispatcher also removes finished sessions on timers: tick at least once a second.
    const proto::TimeMs when = std::min(due, now_ms() + 1000);
    timer_ = loop_.add_timer(to_time_point(when), [this] {
        timer_ = 0;
        armed_for_ = proto::kNever;
        sync_traffic();  // the workers' traffic counts for keepalive and reneg-bytes
        d_->on_timer(now_ms());
        if (listener_) expire_tcp(now_ms());
        {
            const auto guard = switch_guard();
            switch_.expire(now_ms());
            // MAC moves between clients: one line a second at most (a takeover attempt shows here,
            // its refusals in status as mac_move_limit / mac_sticky drops).
            const std::uint64_t moves = switch_.mac_moves();
            if (moves != moves_logged_) {
                log_info(std::to_string(moves - moves_logged_) + " MAC(s) moved between clients (" + std::to_string(moves) +
                         " since start)");
                moves_logged_ = moves;
            }
        }
        pump();
        flush();
        if (stopping_ && d_->size() == 0) loop_.stop();
    });
}

void ServerRunner::on_signal() {
    const int sig = io::read_signal(sigfd_.get());
    if (sig == SIGHUP) {
        if (reload_handler_) reload_handler_();
        else log_info("SIGHUP received: reloading is not supported yet; nothing changed");
        return;
    }
    if (sig != SIGTERM && sig != SIGINT) return;
    if (stopping_) return;
    stopping_ = true;
    log_info(std::string(sig == SIGTERM ? "SIGTERM" : "SIGINT") + ": stopping, notifying " +
             std::to_string(d_->size()) + " client(s)");
    d_->close_all(now_ms());
    pump();
    flush();
    if (d_->size() == 0) loop_.stop();
    loop_.add_timer(std::chrono::seconds(3), [this] { loop_.stop(); });
}

control::Status ServerRunner::status() const {
    control::Status st;
    st.site = cfg_.site;
    st.role = "server";
    st.reloads = reloads_;
    st.last_reload = last_reload_;
    const proto::TimeMs now = now_ms();
    const auto guard = switch_guard();  // the switch's tables (workers learn while we read)
    for (const auto& [id, peer] : peers_) {
        control::PeerStatus p;
        p.peer_id = id;
        p.name = "peer-id " + std::to_string(id);
        p.real_address = to_socket(peer->addr).to_string();
        if (const session::Session* s = d_->find(id)) {
            if (!s->peer_common_name().empty()) p.name = s->peer_common_name();
            p.cipher = s->cipher_name();
            if (s->virtual_address()) p.virtual_address = *s->virtual_address();
            if (const proto::TimeMs k = s->key_established(); k != proto::kNever && now > k)
                p.key_age_seconds = static_cast<std::uint64_t>((now - k) / 1000);
            if (const proto::TimeMs h = s->last_received(); h != 0)
                p.last_heard_seconds = now > h ? static_cast<std::uint64_t>((now - h) / 1000) : 0;
            p.handshakes = s->counters().handshakes;
        }
        if (peer->up_since && now > peer->up_since)
            p.connected_seconds = static_cast<std::uint64_t>((now - peer->up_since) / 1000);
        p.key_id = peer->dc.primary() ? *peer->dc.primary() : 0;
        for (const auto& m : switch_.macs_on(id, now)) {
            p.macs.push_back(m.mac);
            p.mac_entries.push_back(control::MacStatus{m.mac, m.vlan, static_cast<std::uint64_t>(m.age_s)});
        }
        if (switch_.settings().vlan_tagging) p.vlan = switch_.port_vlan(id);
        add_traffic(peer->dc, p, st);
        if (peer->hub) {
            const datapath::WorkerTraffic w = peer->hub->traffic_sum();
            p.bytes_in += w.bytes_in;
            p.bytes_out += w.bytes_out;
            p.packets_in += w.packets_in;
            p.packets_out += w.packets_out;
            for (std::size_t i = 0; i < w.drops.size(); ++i)
                if (w.drops[i] != 0) st.drops[datapath::data_drop_name(static_cast<datapath::DataDrop>(i))] += w.drops[i];
        }
        p.packets_in -= std::min(p.packets_in, peer->keepalive_in);
        p.bytes_in -= std::min(p.bytes_in, peer->keepalive_bytes_in);
        if (const datapath::SwitchDrops* drops = switch_.port_drops(id)) {
            for (std::size_t i = 1; i < drops->size(); ++i)
                if ((*drops)[i]) p.drops[datapath::switch_drop_name(static_cast<datapath::SwitchDrop>(i))] = (*drops)[i];
        }
        st.peers.push_back(std::move(p));
    }
    // Switch drops in total, those of clients gone and of the TAP side included.
    const datapath::SwitchDrops& drops = switch_.drops();
    for (std::size_t i = 1; i < drops.size(); ++i)
        if (drops[i]) st.drops[datapath::switch_drop_name(static_cast<datapath::SwitchDrop>(i))] += drops[i];
    if (const std::uint64_t e = socket_errors_.load(std::memory_order_relaxed)) st.drops["socket_error"] = e;
    if (mailbox_) add_mailbox_drops(*mailbox_, st);
    if (tcp_refused_) st.drops["tcp_connection_limit"] = tcp_refused_;
    if (tcp_accept_errors_) st.drops["tcp_accept_failed"] = tcp_accept_errors_;
    if (tcp_timeouts_) st.drops["tcp_handshake_timeout"] = tcp_timeouts_;
    std::uint64_t link_full = 0;  // TCP: packets the links of clients that do not read refused
    for (const auto& w : workers_) link_full += w->counts().tcp_link_full;
    if (link_full) st.drops["tcp_link_full"] = link_full;
    // Before a session exists (resets, cookie echoes, stray packets) and admission refusals.
    const session::SessionCounters& pre = d_->counters();
    for (std::size_t i = 1; i < proto::kDropCount; ++i)
        if (pre.drops[i]) st.drops[std::string("pre_session_") + proto::drop_name(static_cast<proto::Drop>(i))] += pre.drops[i];
    // Authenticated clients beyond their control-channel budgets; restarts negotiated beside.
    const session::ServerDispatcher::PeerLimitCounts lim = d_->peer_limits_hit();
    if (lim.push_requests) st.drops["push_request_limit"] = lim.push_requests;
    if (lim.soft_resets) st.drops["soft_reset_limit"] = lim.soft_resets;
    if (lim.cert_changes) st.drops["cert_changed"] = lim.cert_changes;
    const auto& refused = d_->refusals();
    for (std::size_t i = 0; i < refused.size(); ++i)
        if (refused[i]) st.drops[session::refusal_name(static_cast<session::Refusal>(i))] += refused[i];
    for (const auto& w : workers_) {
        // One UDP worker on this thread: the peers' counts say it all. Over TCP its one worker has
        // its row all the same, as a UDP hub's worker 0: it pumps every client's link.
        if (workers_.size() == 1 && !listener_) break;
        const datapath::HubWorkerCounts c = w->counts();
        st.workers.push_back(control::WorkerStatus{w->index(), c.packets_in, c.packets_out, c.frames_from_tap, c.frames_to_tap});
    }
    return st;
}

Result<std::string> ServerRunner::reload(const config::Config& next) {
    const std::string next_stamp = tls_files_stamp(next.tunnel);
    ++reloads_;
    if (next.tunnel.workers != cfg_.tunnel.workers) {
        // The SO_REUSEPORT group and the TAP queues are made at start, before privileges are dropped.
        last_reload_ = "reload refused: tunnel.workers " + std::to_string(cfg_.tunnel.workers) + " -> " +
                       std::to_string(next.tunnel.workers) +
                       ": a server's data path workers are set at start (restart wirebridge to change them); "
                       "still running the previous configuration";
        log_error(last_reload_);
        return fail(last_reload_, EINVAL);
    }
    const ReloadPlan plan = plan_reload(cfg_, next, tls_stamp_, next_stamp);
    if (!plan.ok()) {
        last_reload_ = plan.refusal();
        log_error(last_reload_);
        return fail(last_reload_, EINVAL);
    }
    std::vector<std::string> notes;
    if (plan.session) {
        // Built (files read) before anything changes, so a bad file leaves everything as it was.
        auto sc = make_session_config(next);
        if (sc) {
            if (auto r = d_->set_session_template(std::move(*sc), now_ms()); !r) sc = fail(r.error());
        }
        if (!sc) {
            last_reload_ = "reload refused: " + sc.error().message + "; still running the previous configuration";
            log_error(last_reload_);
            return fail(last_reload_, EINVAL);
        }
        notes.push_back("TLS, ciphers, keepalive and reneg apply to clients that connect from now on");
    }
    if (plan.log_level) set_log_level(next.log.level);
    if (plan.switch_settings) {
        {
            const auto guard = switch_guard();
            switch_.apply(switch_settings(next));
        }
        cfg_.tunnel.clients = next.tunnel.clients;
        for (const auto& [id, peer] : peers_) ensure_port(id);
        notes.push_back("switch settings applied to all " + std::to_string(peers_.size()) + " client(s)");
    }
    if (plan.duplicate_cn) {
        d_->set_duplicate_cn(next.tunnel.duplicate_cn);
        notes.push_back("duplicate_cn applies to clients that connect from now on");
    }
    cfg_ = next;
    tls_stamp_ = next_stamp;
    std::string summary = "reloaded: " + plan.summary();
    for (const auto& n : notes) summary += "; " + n;
    last_reload_ = summary;
    log_info(summary);
    return summary;
}

}  // namespace wirebridge::app
