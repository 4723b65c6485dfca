// DataWorker: the worker's loop (TAP queue -> seal -> socket or stream; socket or stream -> open -> TAP).
#include "datapath/data_worker.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <cstring>

#include "common/log.hpp"
#include "datapath/pump_common.hpp"
#include "io/clock.hpp"
#include "proto/data_packet.hpp"
#include "proto/keepalive.hpp"

namespace wirebridge::datapath {

DataWorker::DataWorker(const Setup& setup, std::optional<io::UdpSocket> socket, std::optional<io::TcpLink> link)
    : setup_(setup), socket_(std::move(socket)), link_(std::move(link)), reader_(*setup.tap, setup.queue),
      writer_(*setup.tap, setup.queue), follower_(*setup.keys),
      tx_(std::max<std::size_t>(setup.send_block, 1), kPacketBuffer) {
    if (setup_.receive) {
        // A stream gives whole packets of at most a packet buffer; a GRO socket, 64 KB runs.
        rx_ = std::make_unique<io::DatagramBatch>(kBatch, link_ ? kPacketBuffer : io::kGroBufferSize);
        opened_.resize(kBatch * 4);
    }
    lengths_.resize(tx_.capacity());
}

Result<std::unique_ptr<DataWorker>> DataWorker::start(const Setup& setup, io::UdpSocket socket) {
    if (!setup.tap || !setup.keys || !setup.mailbox || setup.queue >= setup.tap->queue_count())
        return fail("data worker: incomplete set-up", EINVAL);
    return launch(std::unique_ptr<DataWorker>(new DataWorker(setup, std::move(socket), std::nullopt)));
}

Result<std::unique_ptr<DataWorker>> DataWorker::start(const Setup& setup, io::TcpLink link) {
    if (!setup.tap || !setup.keys || !setup.mailbox || setup.queue >= setup.tap->queue_count())
        return fail("data worker: incomplete set-up", EINVAL);
    // One stream: one reader and one writer, next to the session that shares it.
    if (!setup.host_loop || !setup.receive || !link.connected())
        return fail("data worker: a TCP stream is pumped by one receiving worker on the host loop, once connected", EINVAL);
    return launch(std::unique_ptr<DataWorker>(new DataWorker(setup, std::nullopt, std::move(link))));
}

Result<std::unique_ptr<DataWorker>> DataWorker::launch(std::unique_ptr<DataWorker> w) {
    DataWorker* p = w.get();
    // A wake-up: the keys changed, pick up the new set now (and let go of the old one).
    if (auto r = w->home_.open(w->setup_.host_loop, [p] { p->follower_.refresh(p->dc_); }); !r) return fail(r.error());
    if (auto r = w->watch(); !r) return fail(r.error());
    log_worker_io_path(w->setup_.index, w->setup_.tap->name(), w->setup_.queue, w->writer_, w->reader_);
    w->follower_.refresh(w->dc_);
    w->home_.start([p] { p->run(); });
    return w;
}

Result<void> DataWorker::watch() {
    // The reader's probe: frames it already took (rest of a batch, of a split super-frame) do not
    // make the queue readable again, so the loop comes back for them at once.
    io::EventLoop& loop = home_.loop();
    if (auto r = loop.add_fd(
            setup_.tap->fd(setup_.queue), EPOLLIN, [this](std::uint32_t) { on_tap(); }, [this] { return reader_.pending(); });
        !r)
        return r;
    watching_ = true;
    if (setup_.receive) {
        // A stream's probe: whole packets (or its end) the link read beyond the last batch.
        auto r = link_ ? loop.add_fd(
                             link_->fd(), EPOLLIN | (link_->pending() ? EPOLLOUT : 0u),
                             [this](std::uint32_t ev) { on_stream(ev); }, [this] { return link_->holds_input(); })
                       : loop.add_fd(socket_->fd(), EPOLLIN, [this](std::uint32_t) { on_socket(); });
        if (link_) watching_out_ = link_->pending() > 0;
        if (!r) {
            loop.remove_fd(setup_.tap->fd(setup_.queue));
            watching_ = false;
            return r;
        }
    }
    return {};
}

DataWorker::~DataWorker() { stop(); }

void DataWorker::wake() { home_.wake(); }

void DataWorker::stop() {
    home_.stop();  // threaded: joined, its thread did finish()
    if (home_.threaded() || !watching_) return;
    home_.loop().remove_fd(setup_.tap->fd(setup_.queue));
    if (setup_.receive) home_.loop().remove_fd(transport_fd());
    watching_ = false;
    finish();
}

void DataWorker::run() {
    if (auto r = home_.loop().run(); !r) fail_worker(r.error().message);
    finish();
}

void DataWorker::finish() {
    follower_.drop(dc_);  // contexts freed (and their keys wiped) on the worker's own thread
    traffic_.publish(dc_.counters());
}

void DataWorker::fail_worker(const std::string& why) {
    log_error("worker " + std::to_string(setup_.index) + ": " + why);
    failed_.store(true, std::memory_order_release);
    const std::string msg = "worker " + std::to_string(setup_.index) + ": " + why;
    setup_.mailbox->post(WorkerMailbox::Kind::error, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(msg.data()), msg.size()));
    // A thread's own loop ends; on the host loop the worker only lets go of its fds (the host,
    // told by the mail, stops it).
    if (home_.threaded()) home_.loop().stop();
    else stop();
}

void DataWorker::on_tap() {
    const std::uint64_t sealed_before = dc_.counters().packets_out;
    follower_.refresh(dc_);
    // --fragment: one frame a round, its pieces taking the batch's next slots.
    const std::size_t block = dc_.fragmenting() ? 1 : tx_.capacity();
    for (int rounds = 0; rounds < 4; ++rounds) {
        // Read the batch first, so that it takes exactly as many packet ids as it has frames.
        std::size_t got = 0;
        while (got < block) {
            auto r = reader_.read_frame(tx_.buffer_ahead(got).subspan(datapath::kHeadroom, kMaxFrame));
            if (!r) return fail_worker(r.error().message);
            if (r->would_block) break;
            lengths_[got++] = static_cast<std::uint32_t>(r->bytes);
        }
        if (got == 0) break;
        if (dc_.ready()) {  // no keys: the frames are dropped like on a down link
            dc_.reserve(got);
            for (std::size_t i = 0; i < got; ++i) {
                const std::size_t at = i - tx_.size();  // frame i is in slot i; pushed ones moved up
                std::span<std::uint8_t> buf = tx_.buffer_ahead(at);
                const std::size_t n = dc_.seal(buf, lengths_[i]);
                if (n == 0) continue;
                if (at != 0) std::memmove(tx_.next_buffer().data(), buf.data(), n);
                tx_.push(n, setup_.peer);
                while (dc_.fragments_pending()) {  // block is 1: the rest of the batch is this frame's
                    if (tx_.full()) send_batch();
                    if (const std::size_t m = dc_.seal_fragment(tx_.next_buffer()); m != 0) tx_.push(m, setup_.peer);
                }
            }
            dc_.release();
            send_batch();
            if (!stream_end_.empty()) return;
        }
        if (got < block || !tap_reading_) break;
    }
    if (dc_.counters().packets_out != sealed_before) traffic_.note_out(io::now_ms());
    traffic_.publish(dc_.counters());
}

void DataWorker::on_socket() {
    const std::uint64_t opened_before = dc_.counters().packets_in;
    const std::uint64_t refused_before = socket_ ? socket_->refusals() : 0;
    for (int rounds = 0; rounds < 8; ++rounds) {
        follower_.refresh(dc_);  // between batches: a key published meanwhile is used at once
        auto n = receive_batch();
        if (!n && link_) {
            end_stream(n.error().message);
            break;
        }
        if (!n) {
            const std::string msg = n.error().message;
            setup_.mailbox->post(WorkerMailbox::Kind::error, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(msg.data()), msg.size()));
            break;
        }
        if (*n == 0) {
            if (link_ && link_->ended()) end_stream("the server closed the TCP connection");
            break;
        }
        if (opened_.size() < *n) opened_.resize(*n);  // grows once to the largest GRO batch seen
        const std::int64_t now_sec = io::now_ms() / 1000;
        for (std::size_t i = 0; i < *n; ++i) {
            std::span<std::uint8_t> pkt = rx_->data(i);
            datapath::DataChannel::Opened& o = opened_[i];
            if (!proto::is_data_packet(pkt)) {
                o = datapath::DataChannel::Opened{};
                o.drop = datapath::DataDrop::count_;  // not ours: for the session
                setup_.mailbox->post(WorkerMailbox::Kind::packet, pkt);
                continue;
            }
            // A key published after this round's refresh (the peer switched at once): take it now,
            // rather than count the packet as no_key and hand it to the session.
            if (!dc_.has_key(static_cast<std::uint8_t>(proto::key_id_of(pkt[0])))) follower_.refresh(dc_);
            if (dc_.open_unrecorded(pkt, o) == datapath::DataDrop::no_key)
                setup_.mailbox->post(WorkerMailbox::Kind::packet, pkt);  // the session may know it
        }
        dc_.accept_batch(std::span<datapath::DataChannel::Opened>(opened_.data(), *n), now_sec);
        for (std::size_t i = 0; i < *n; ++i) {
            const datapath::DataChannel::Opened& o = opened_[i];
            if (o.drop != datapath::DataDrop::none) continue;
            if (proto::is_ping(o.payload) || proto::is_occ(o.payload)) {
                setup_.mailbox->post(WorkerMailbox::Kind::payload, o.payload);
            } else if (o.payload.size() >= 14) {
                if (auto w = writer_.write_frame(o.payload); !w) tap_write_.failed(who(), w.error(), writer_.frames_lost());
            }
        }
        if (auto w = writer_.flush(); !w) tap_write_.failed(who(), w.error(), writer_.frames_lost());
    }
    if (dc_.counters().packets_in != opened_before) traffic_.note_in(io::now_ms());
    traffic_.publish(dc_.counters());
    // A refusal (ICMP port unreachable) met here: the session hears of it now, not at its next
    // timer (an idle client's next ping, a ping interval on), and arms its refusal rule's deadline
    // (Session::note_refusals).
    if (socket_ && socket_->refusals() != refused_before) setup_.mailbox->wake();
}

void DataWorker::on_stream(std::uint32_t events) {
    if (events & EPOLLOUT)
        if (auto r = link_->flush(); !r) return end_stream(r.error().message);
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        on_socket();
        if (!stream_end_.empty()) return;
    }
    update_interest();
}

void DataWorker::send_batch() {
    if (tx_.size() == 0) return;
    if (socket_) {
        if (auto s = socket_->send(tx_); !s) log_debug(s.error().message);
        tx_.clear();  // what the socket did not take is dropped: UDP is lossy anyway
        return;
    }
    // A stream takes everything up to its hard limit; the high-water mark stops the TAP first.
    auto s = link_->send(tx_);
    if (!s) return end_stream(s.error().message);
    if (*s != 0) count_link_full(*s);
    update_interest();
}

void DataWorker::queue_packet(std::span<const std::uint8_t> packet) {
    if (!link_ || !stream_end_.empty() || !watching_) return;
    // Over its hard limit (a server that does not read): dropped, the control channel resends.
    if (!link_->queue(packet)) count_link_full(1);
}

void DataWorker::count_link_full(std::uint64_t n) {
    if (link_full_.fetch_add(n, std::memory_order_relaxed) != 0) return;
    // The first only: a server that does not read would otherwise flood the log.
    log_warn(who() + ": the TCP stream to " + setup_.peer.to_string() + " holds " + std::to_string(link_->pending()) +
             " bytes unsent (the server does not read): packets are dropped (tcp_link_full drops)");
}

void DataWorker::flush_packets() {
    if (!link_ || !stream_end_.empty() || !watching_) return;
    if (auto r = link_->flush(); !r) return end_stream(r.error().message);
    update_interest();
}

void DataWorker::update_interest() {
    if (!link_ || !stream_end_.empty() || !watching_) return;
    // One epoll_ctl only when a wish changes, not per batch.
    const bool want_out = link_->pending() > 0;
    if (want_out != watching_out_) {
        watching_out_ = want_out;
        [[maybe_unused]] auto r = home_.loop().modify_fd(link_->fd(), EPOLLIN | (want_out ? EPOLLOUT : 0u));
    }
    const bool want_tap = link_->pending() < io::TcpLink::kHighWater;
    if (want_tap != tap_reading_) {
        tap_reading_ = want_tap;
        [[maybe_unused]] auto r = home_.loop().modify_fd(setup_.tap->fd(setup_.queue), want_tap ? EPOLLIN : 0u);
    }
}

// The stream is over (the runner reconnects): the worker lets go of its fds at once, so that a
// closed socket does not keep the loop busy, and wakes the runner, which reads stream_end(). No
// mail: a full mailbox could not refuse this one.
void DataWorker::end_stream(const std::string& why) {
    if (!stream_end_.empty()) return;
    stream_end_ = why;
    stop();
    setup_.mailbox->wake();
}

WorkerTraffic DataWorker::traffic() const { return traffic_.load(); }

std::string DataWorker::who() const { return "worker " + std::to_string(setup_.index); }

}  // namespace wirebridge::datapath
