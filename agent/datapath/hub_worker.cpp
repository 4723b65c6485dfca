// HubWorker: the hub worker's loop (socket k or the links -> open -> switch -> TAP queue k / clients; TAP queue k -> switch -> seal -> socket k or the clients' links).
#include "datapath/hub_worker.hpp"

#include <netinet/in.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string_view>

#include "common/log.hpp"
#include "datapath/pump_common.hpp"
#include "io/clock.hpp"
#include "proto/data_packet.hpp"
#include "proto/keepalive.hpp"

namespace wirebridge::datapath {

namespace {

constexpr std::size_t kTxBatch = 64;

// What a client that is not established yet may send the hub: its resets, and control or ack
// packets of the handshake (the stateless cookie's echo included).
bool may_start_session(std::span<const std::uint8_t> pkt) {
    if (pkt.empty()) return false;
    switch (static_cast<proto::Opcode>(proto::opcode_of(pkt[0]))) {
        case proto::Opcode::control_hard_reset_client_v2:
        case proto::Opcode::control_hard_reset_client_v3:
        case proto::Opcode::control_v1:
        case proto::Opcode::ack_v1:
        case proto::Opcode::control_wkc_v1:
            return true;
        default:
            return false;
    }
}

}  // namespace

HubWorker::HubWorker(const Setup& setup, std::optional<io::UdpSocket> socket)
    : setup_(setup), socket_(std::move(socket)), reader_(*setup.tap, setup.index), writer_(*setup.tap, setup.index),
      peers_(*setup.directory), batch_(kTxBatch),
      // A link gives whole packets of at most a packet buffer; a GRO socket, 64 KB runs.
      rx_(kBatch, socket_ ? io::kGroBufferSize : kPacketBuffer), tx_(kTxBatch, kPacketBuffer) {
    opened_.resize(kBatch * 4);
    opened_by_.resize(kBatch * 4);
    tap_buf_.resize(kBatch * kPacketBuffer);
    touched_.reserve(64);
}

namespace {
bool complete(const HubWorker::Setup& setup) {
    return setup.tap && setup.directory && setup.sw && setup.switch_mutex && setup.mailbox &&
           setup.index < setup.tap->queue_count();
}
}  // namespace

Result<std::unique_ptr<HubWorker>> HubWorker::start(const Setup& setup, io::UdpSocket socket) {
    if (!complete(setup)) return fail("hub worker: incomplete set-up", EINVAL);
    return launch(std::unique_ptr<HubWorker>(new HubWorker(setup, std::move(socket))));
}

Result<std::unique_ptr<HubWorker>> HubWorker::start_tcp(const Setup& setup) {
    if (!complete(setup)) return fail("hub worker: incomplete set-up", EINVAL);
    // The streams are shared with the sessions' packets (queue_packet): one thread owns them all.
    if (!setup.host_loop) return fail("hub worker: TCP links are pumped by one worker on the host loop", EINVAL);
    return launch(std::unique_ptr<HubWorker>(new HubWorker(setup, std::nullopt)));
}

Result<std::unique_ptr<HubWorker>> HubWorker::launch(std::unique_ptr<HubWorker> w) {
    HubWorker* p = w.get();
    // A wake-up: the directory changed, refresh now (lets go of gone clients' keys at once).
    if (auto r = w->home_.open(w->setup_.host_loop, [p] { p->peers_.refresh(); }); !r) return fail(r.error());
    if (auto r = w->watch(); !r) return fail(r.error());
    log_worker_io_path(w->setup_.index, w->setup_.tap->name(), w->setup_.index, w->writer_, w->reader_);
    w->peers_.refresh();
    w->home_.start([p] { p->run(); });
    return w;
}

Result<void> HubWorker::watch() {
    // The reader's probe: frames it already took (rest of a batch, of a split super-frame) do not
    // make the queue readable again, so the loop comes back for them at once.
    const int tap_fd = setup_.tap->fd(setup_.index);
    io::EventLoop& loop = home_.loop();
    if (auto r = loop.add_fd(tap_fd, EPOLLIN, [this](std::uint32_t) { on_tap(); }, [this] { return reader_.pending(); }); !r)
        return r;
    if (socket_) {
        if (auto r = loop.add_fd(socket_->fd(), EPOLLIN, [this](std::uint32_t) { on_socket(); }); !r) {
            loop.remove_fd(tap_fd);
            return r;
        }
    }
    watching_ = true;
    return {};
}

HubWorker::~HubWorker() { stop(); }

void HubWorker::wake() { home_.wake(); }

void HubWorker::stop() {
    home_.stop();  // threaded: joined, its thread did finish()
    if (home_.threaded() || !watching_) return;
    home_.loop().remove_fd(setup_.tap->fd(setup_.index));
    if (socket_) home_.loop().remove_fd(socket_->fd());
    for (auto& [fd, l] : links_) home_.loop().remove_fd(fd);  // closed with the worker
    watching_ = false;
    finish();
}

void HubWorker::run() {
    if (auto r = home_.loop().run(); !r) fail_worker(r.error().message);
    finish();
}

void HubWorker::finish() {
    publish();
    peers_.drop();  // contexts freed (keys wiped) on the worker's own thread
}

void HubWorker::fail_worker(const std::string& why) {
    const std::string msg = "worker " + std::to_string(setup_.index) + ": " + why;
    setup_.mailbox->post(WorkerMailbox::Kind::error,
                         std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(msg.data()), msg.size()));
    // A thread's own loop ends; on the host loop the worker only lets go of its fds (the host,
    // told by the mail, stops).
    if (home_.threaded()) home_.loop().stop();
    else stop();
}

void HubWorker::on_socket() {
    peers_.refresh();
    for (int rounds = 0; rounds < 8; ++rounds) {
        auto got = socket_->receive(rx_);
        if (!got) {
            log_debug("worker " + std::to_string(setup_.index) + ": " + got.error().message);
            break;
        }
        if (*got == 0) break;
        take_batch(*got);
    }
}

void HubWorker::on_link(Link& l, std::uint32_t events) {
    if (events & EPOLLOUT)
        if (auto r = l.link.flush(); !r) end_link(l, r.error().message);
    if (l.end.empty() && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
        peers_.refresh();
        // A few batches a call: one busy stream cannot hold the loop (the link's probe brings the
        // loop back for what it already read).
        for (int rounds = 0; rounds < 4 && l.end.empty(); ++rounds) {
            auto got = l.link.receive(rx_);
            if (!got) {
                end_link(l, got.error().message);
                break;
            }
            if (*got == 0) {
                if (l.link.ended()) end_link(l, "end of stream");
                break;
            }
            take_batch(*got);  // its output may end this link too (a write failed)
        }
    }
    if (l.end.empty()) update_interest(l);
    reap();
}

void HubWorker::take_batch(const std::size_t n) {
    if (opened_.size() < n) {  // grows once to the largest GRO batch seen
        opened_.resize(n);
        opened_by_.resize(n);
    }
    ++stamp_;
    touched_.clear();
    batch_.clear();
    for (std::size_t i = 0; i < n; ++i) {
        std::span<std::uint8_t> pkt = rx_.data(i);
        const io::SocketAddress& from = rx_.peer(i);
        datapath::DataChannel::Opened& o = opened_[i];
        o = datapath::DataChannel::Opened{};
        o.drop = datapath::DataDrop::count_;  // not opened here
        opened_by_[i] = nullptr;
        // DATA_V2 carries the peer-id; the address must match too (as the single-thread hub).
        proto::DataHeader h;
        proto::ByteSpan body;
        if (proto::parse_data_header(pkt, h, body) == proto::Drop::none && h.opcode == proto::Opcode::data_v2) {
            WorkerPeer* wp = peers_.find(h.peer_id);
            if (wp && wp->dc.ready() && wp->shared->addr == from) {
                if (wp->dc.open_unrecorded(pkt, o) != datapath::DataDrop::no_key) {
                    opened_by_[i] = wp;
                    if (wp->stamp != stamp_) {
                        wp->stamp = stamp_;
                        touched_.push_back(wp);
                    }
                    continue;
                }
            }
        }
        // Control packets, new clients, keys this worker has not seen yet: the session's. From an
        // unknown address only what may open or continue a handshake can be (a client's reset,
        // control or ack packets); the rest is refused here, and what is left gets the
        // unknown sources' half of the mailbox.
        const bool known = peers_.knows(from);
        if (!known && !may_start_session(pkt)) {
            setup_.mailbox->count_filtered();
            continue;
        }
        ++local_.mailed;
        setup_.mailbox->post(WorkerMailbox::Kind::packet, pkt, from, 0,
                             known ? WorkerMailbox::Source::peer : WorkerMailbox::Source::unknown);
    }
    // The replay windows: one lock per run of one client's packets (GRO hands runs).
    const std::int64_t now = io::now_ms();
    for (std::size_t i = 0; i < n;) {
        WorkerPeer* wp = opened_by_[i];
        std::size_t j = i + 1;
        while (j < n && opened_by_[j] == wp) ++j;
        if (wp) wp->dc.accept_batch(std::span<datapath::DataChannel::Opened>(opened_.data() + i, j - i), now / 1000);
        i = j;
    }
    for (std::size_t i = 0; i < n; ++i) {
        WorkerPeer* wp = opened_by_[i];
        const datapath::DataChannel::Opened& o = opened_[i];
        if (!wp || o.drop != datapath::DataDrop::none) continue;
        if (proto::is_ping(o.payload) || proto::is_occ(o.payload)) {
            ++local_.mailed;
            setup_.mailbox->post(WorkerMailbox::Kind::payload, o.payload, rx_.peer(i), wp->shared->peer_id);
            continue;
        }
        ++local_.packets_in;
        // The header before the payload is ours to overwrite (a VLAN tag on the way to the TAP).
        const std::size_t headroom = datapath::DataChannel::headroom_of(rx_.data(i), o.payload);
        if (batch_.full()) {
            batch_.decide(*setup_.sw, *setup_.switch_mutex, now);
            output();
            batch_.clear();
        }
        batch_.add(wp->shared->peer_id, o.payload, headroom);
    }
    if (batch_.size() > 0) batch_.decide(*setup_.sw, *setup_.switch_mutex, now);
    output();
    publish();
}

void HubWorker::on_tap() {
    peers_.refresh();
    for (int rounds = 0; rounds < 4; ++rounds) {
        ++stamp_;
        touched_.clear();
        batch_.clear();
        std::size_t got = 0;
        while (got < kBatch) {
            std::uint8_t* slot = tap_buf_.data() + got * kPacketBuffer;
            auto r = reader_.read_frame(std::span<std::uint8_t>(slot + datapath::kHeadroom, kMaxFrame));
            if (!r) return fail_worker(r.error().message);
            if (r->would_block) break;
            batch_.add(datapath::kTapPort, std::span<std::uint8_t>(slot + datapath::kHeadroom, r->bytes), datapath::kHeadroom);
            ++got;
        }
        if (got == 0) break;
        local_.frames_from_tap += got;
        batch_.decide(*setup_.sw, *setup_.switch_mutex, io::now_ms());
        output();
        publish();
        if (got < kBatch) break;
    }
    reap();  // links whose write failed on the way
}

void HubWorker::output() {
    // Id blocks: one reservation per client per batch, no bigger than the block, so that the
    // reordering a client sees from N interleaving workers stays inside its 64-id replay window.
    for (const HubSwitchBatch::Frame& f : batch_.frames()) {
        for (const datapath::Port p : batch_.sends(f)) {
            WorkerPeer* wp = peers_.find(p);
            if (!wp) continue;
            if (wp->stamp != stamp_) {
                wp->stamp = stamp_;
                wp->pending_sends = 0;
                touched_.push_back(wp);
            }
            ++wp->pending_sends;
        }
    }
    for (WorkerPeer* wp : touched_)
        if (wp->pending_sends) wp->dc.reserve(std::min<std::size_t>(wp->pending_sends, setup_.send_block));
    for (const HubSwitchBatch::Frame& f : batch_.frames()) {
        const std::span<const std::uint8_t> frame(f.out, f.out_len);
        for (const datapath::Port p : batch_.sends(f))
            if (WorkerPeer* wp = peers_.find(p)) seal_to(*wp, frame);
        // After the clients: a VLAN tag goes in place over the bytes they were sent.
        if (f.to_tap) {
            const auto t = HubSwitchBatch::tap_frame(f);
            if (t.empty()) continue;
            if (auto w = writer_.write_frame(t); !w) {
                const std::size_t lost = std::max<std::size_t>(writer_.frames_lost(), 1);
                tap_write_.failed("worker " + std::to_string(setup_.index), w.error(), lost);
                std::lock_guard<std::mutex> g(*setup_.switch_mutex);  // a failure only, not per frame
                setup_.sw->count_drop(f.in, datapath::SwitchDrop::tap_write);
                // The rest: a batch of many senders' frames sent early (slots full), the total only.
                setup_.sw->count_drop(datapath::kTapPort, datapath::SwitchDrop::tap_write, lost - 1);
            } else {
                ++local_.frames_to_tap;
            }
        }
    }
    for (WorkerPeer* wp : touched_) {
        if (wp->pending_sends) wp->dc.release();
        wp->pending_sends = 0;
    }
    if (auto w = writer_.flush(); !w) {
        // A batch mixes the clients' frames: its lost frames count in the total only.
        tap_write_.failed("worker " + std::to_string(setup_.index), w.error(), writer_.frames_lost());
        std::lock_guard<std::mutex> g(*setup_.switch_mutex);
        setup_.sw->count_drop(datapath::kTapPort, datapath::SwitchDrop::tap_write, writer_.frames_lost());
    }
    send_tx();
}

void HubWorker::seal_to(WorkerPeer& p, std::span<const std::uint8_t> frame) {
    if (!p.dc.ready() || frame.empty() || frame.size() > kMaxFrame) return;
    if (tx_.full()) send_tx();
    std::span<std::uint8_t> buf = tx_.next_buffer();
    std::memcpy(buf.data() + datapath::kHeadroom, frame.data(), frame.size());
    const std::size_t n = p.dc.seal(buf, frame.size());
    if (n == 0) return;
    tx_.push(n, p.shared->addr);
    while (p.dc.fragments_pending()) {  // --fragment: the rest of a frame cut in pieces
        if (tx_.full()) send_tx();
        if (const std::size_t m = p.dc.seal_fragment(tx_.next_buffer()); m != 0) tx_.push(m, p.shared->addr);
    }
    ++local_.packets_out;
}

void HubWorker::send_tx() {
    if (tx_.size() == 0) return;
    if (socket_) {
        if (auto r = socket_->send(tx_); !r) log_debug("worker " + std::to_string(setup_.index) + ": " + r.error().message);
        tx_.clear();  // what the socket did not take is dropped: UDP is lossy anyway
        return;
    }
    for (std::size_t i = 0; i < tx_.size(); ++i) {
        auto it = link_by_addr_.find(tx_.peer(i));
        if (it == link_by_addr_.end() || !it->second->end.empty()) continue;
        Link& l = *it->second;
        // Over its hard limit (a client that does not read): dropped, like a lost datagram.
        if (!l.link.queue(tx_.queued(i))) {
            count_link_full(l);
            continue;
        }
        if (!l.dirty) {
            l.dirty = true;
            dirty_.push_back(&l);
        }
    }
    tx_.clear();
    flush_links();
}

void HubWorker::flush_links() {
    for (Link* l : dirty_) {
        l->dirty = false;
        if (!l->end.empty()) continue;
        if (auto r = l->link.flush(); !r) end_link(*l, r.error().message);
        else update_interest(*l);
    }
    dirty_.clear();
}

void HubWorker::count_link_full(Link& l) {
    ++local_.tcp_link_full;
    if (l.full_logged) return;
    l.full_logged = true;  // once a link: a client that does not read would otherwise flood the log
    log_warn("worker " + std::to_string(setup_.index) + ": the TCP link to " + l.link.peer().to_string() + " holds " +
             std::to_string(l.link.pending()) + " bytes unsent (its client does not read): packets to it are dropped "
             "(tcp_link_full drops)");
}

void HubWorker::update_interest(Link& l) {
    // One epoll_ctl only when the wish for EPOLLOUT changes, not per batch.
    const bool want_out = l.link.pending() > 0;
    if (want_out == l.watching_out || !watching_) return;
    l.watching_out = want_out;
    [[maybe_unused]] auto r = home_.loop().modify_fd(l.link.fd(), EPOLLIN | (want_out ? EPOLLOUT : 0u));
}

Result<void> HubWorker::add_link(io::TcpLink link) {
    if (socket_ || !watching_) return fail("hub worker: not taking TCP links", EINVAL);
    auto owned = std::make_unique<Link>(std::move(link));
    Link* l = owned.get();
    const int fd = l->link.fd();
    l->watching_out = l->link.pending() > 0;
    // The link's probe: whole packets (or its end) it read beyond the last batch.
    if (auto r = home_.loop().add_fd(
            fd, EPOLLIN | (l->watching_out ? EPOLLOUT : 0u), [this, l](std::uint32_t ev) { on_link(*l, ev); },
            [l] { return l->link.holds_input(); });
        !r)
        return r;
    link_by_addr_[l->link.peer()] = l;
    links_.emplace(fd, std::move(owned));
    return {};
}

void HubWorker::queue_packet(const io::SocketAddress& to, std::span<const std::uint8_t> packet) {
    auto it = link_by_addr_.find(to);
    if (it == link_by_addr_.end() || !it->second->end.empty()) return;
    Link& l = *it->second;
    if (!l.link.queue(packet)) {  // over its hard limit: the control channel resends
        count_link_full(l);
        link_full_.store(local_.tcp_link_full, std::memory_order_relaxed);  // outside a batch: no publish() follows
        return;
    }
    if (!l.dirty) {
        l.dirty = true;
        dirty_.push_back(&l);
    }
}

void HubWorker::flush_packets() {
    flush_links();
    reap();
}

void HubWorker::close_link(const io::SocketAddress& peer, const std::string& why) {
    auto it = link_by_addr_.find(peer);
    if (it == link_by_addr_.end()) return;
    end_link(*it->second, why);
    reap();
}

void HubWorker::end_link(Link& l, const std::string& why) {
    if (!l.end.empty()) return;
    l.end = why.empty() ? "closed" : why;
    if (watching_) home_.loop().remove_fd(l.link.fd());
    ended_.push_back(l.link.fd());
}

void HubWorker::reap() {
    if (ended_.empty()) return;
    std::vector<int> ended;
    ended.swap(ended_);  // link_ended may close another link (close_link): a fresh list for that
    for (const int fd : ended) {
        auto it = links_.find(fd);
        if (it == links_.end()) continue;
        Link* l = it->second.get();
        const io::SocketAddress peer = l->link.peer();
        const std::string why = l->end;
        if (auto a = link_by_addr_.find(peer); a != link_by_addr_.end() && a->second == l) link_by_addr_.erase(a);
        std::erase(dirty_, l);
        links_.erase(it);  // closes the stream
        if (setup_.link_ended) setup_.link_ended(peer, why);
    }
}

// Over the fields SocketAddress::operator== compares (not the padding of a sockaddr_in).
std::size_t HubWorker::AddressHash::operator()(const io::SocketAddress& a) const {
    if (a.family() == AF_INET) {
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a.storage);
        return std::hash<std::uint64_t>{}((std::uint64_t{v4->sin_addr.s_addr} << 16) | v4->sin_port);
    }
    if (a.family() == AF_INET6) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a.storage);
        return std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(&v6->sin6_addr), sizeof v6->sin6_addr)) ^
               v6->sin6_port;
    }
    return 0;
}

void HubWorker::publish() {
    for (WorkerPeer* wp : touched_) wp->shared->traffic[setup_.index].publish(wp->dc.counters());
    touched_.clear();
    packets_in_.store(local_.packets_in, std::memory_order_relaxed);
    packets_out_.store(local_.packets_out, std::memory_order_relaxed);
    from_tap_.store(local_.frames_from_tap, std::memory_order_relaxed);
    to_tap_.store(local_.frames_to_tap, std::memory_order_relaxed);
    mailed_.store(local_.mailed, std::memory_order_relaxed);
    link_full_.store(local_.tcp_link_full, std::memory_order_relaxed);
}

HubWorkerCounts HubWorker::counts() const {
    HubWorkerCounts c;
    c.packets_in = packets_in_.load(std::memory_order_relaxed);
    c.packets_out = packets_out_.load(std::memory_order_relaxed);
    c.frames_from_tap = from_tap_.load(std::memory_order_relaxed);
    c.frames_to_tap = to_tap_.load(std::memory_order_relaxed);
    c.mailed = mailed_.load(std::memory_order_relaxed);
    c.tcp_link_full = link_full_.load(std::memory_order_relaxed);
    return c;
}

}  // namespace wirebridge::datapath
