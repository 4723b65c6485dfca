// UdpSocket: a non-blocking UDP socket with batched receive and send (recvmmsg/sendmmsg, UDP GSO).
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cerrno>
#include <cstdint>
#include <span>
#include <vector>

#include "common/result.hpp"
#include "io/fd.hpp"
#include "io/socket_buffers.hpp"
#include "io/socket_errors.hpp"
#include "io/socket_address.hpp"

namespace wirebridge::io {

// Preallocated datagrams for one batch: buffers, iovecs, addresses and mmsghdrs are set up once,
// so a receive or send of a whole batch allocates nothing. A batch whose buffers hold
// kGroBufferSize can receive on a socket with GRO on.
inline constexpr std::size_t kGroBufferSize = 65536;
class DatagramBatch {
public:
    DatagramBatch(std::size_t count, std::size_t buffer_size);
    DatagramBatch(const DatagramBatch&) = delete;
    DatagramBatch& operator=(const DatagramBatch&) = delete;

    std::size_t capacity() const { return msgs_.size(); }
    std::size_t buffer_size() const { return buffer_size_; }
    std::size_t size() const { return filled_; }  // datagrams received, or queued for sending
    void clear() {
        filled_ = 0;
        split_ = false;
    }

    // Received datagram i (after GRO, the datagrams a coalesced message held, one by one).
    std::span<std::uint8_t> data(std::size_t i) {
        if (split_) return {views_[i].data, views_[i].len};
        return {slot(i), msgs_[i].msg_len};
    }
    const SocketAddress& peer(std::size_t i) const { return peers_[split_ ? views_[i].msg : i]; }

    // Sending: the caller writes into buffer(filled) and commits it with push(len, to).
    std::span<std::uint8_t> next_buffer() { return {slot(filled_), buffer_size_}; }
    // The buffer k places after next_buffer() (k < capacity() - size()): a batch can be read in
    // first and pushed after (a sender that takes one block of packet ids for what it read).
    std::span<std::uint8_t> buffer_ahead(std::size_t k) { return {slot(filled_ + k), buffer_size_}; }
    bool full() const { return filled_ == msgs_.size(); }
    void push(std::size_t length, const SocketAddress& to);
    // Datagram i as push() queued it, and peer(i) its address (sending side: a hub puts each on
    // its client's TCP link).
    std::span<const std::uint8_t> queued(std::size_t i) const { return {slot(i), iovs_[i].iov_len}; }

private:
    friend class UdpSocket;
    friend class TcpLink;  // fills a batch with the packets it cuts from a stream, sends one framed
    std::uint8_t* slot(std::size_t i) { return storage_.data() + i * buffer_size_; }
    const std::uint8_t* slot(std::size_t i) const { return storage_.data() + i * buffer_size_; }
    // Receiving without recvmmsg: `packet` copied into the next slot (packet.size() <= buffer_size()).
    void arrived(std::span<const std::uint8_t> packet, const SocketAddress& from);
    void prepare_receive();
    // Groups runs of datagrams to one peer, all of one size but the last, into one UDP GSO message
    // each (their iovecs are already adjacent); returns how many messages.
    std::size_t build_gso(std::size_t from);

    std::size_t buffer_size_;
    std::size_t filled_ = 0;
    std::vector<std::uint8_t> storage_;
    std::vector<iovec> iovs_;
    std::vector<SocketAddress> peers_;
    std::vector<mmsghdr> msgs_;
    // UDP GRO receive: where each datagram of the coalesced messages is.
    struct View {
        std::uint8_t* data;
        std::uint32_t len;
        std::uint32_t msg;
    };
    struct GroControl {
        alignas(cmsghdr) std::uint8_t buf[CMSG_SPACE(sizeof(int))];
    };
    bool split_ = false;
    std::vector<View> views_;
    std::vector<GroControl> gro_ctl_;
    // UDP GSO send: one message per run; first_[k] is the run's first datagram.
    struct GsoControl {
        alignas(cmsghdr) std::uint8_t buf[CMSG_SPACE(sizeof(std::uint16_t))];
    };
    std::vector<mmsghdr> gso_msgs_;
    std::vector<GsoControl> gso_ctl_;
    std::vector<std::size_t> gso_first_;
};

class UdpSocket {
public:
    // Binds to `local` (port 0 = any). reuse_port lets several workers bind the same address.
    // The buffers stay the kernel's defaults until set_buffers().
    static Result<UdpSocket> open(const SocketAddress& local, bool reuse_port = false);

    int fd() const { return fd_.get(); }
    Result<SocketAddress> local_address() const;
    // Another handle on the same socket (dup), with the same settings: one per worker thread, so
    // that each sends (and receives) through its own object. The kernel serialises the sends.
    Result<UdpSocket> share() const;

    // Receives up to batch.capacity() datagrams; returns how many (0 when none are waiting).
    Result<std::size_t> receive(DatagramBatch& batch);
    // Sends the datagrams queued in batch; returns how many left (the rest would block). The batch
    // is cleared when all went out. Runs of equal-size datagrams to one peer (a TCP send window
    // cut into segments) go down the stack as one UDP GSO message (UDP_SEGMENT): the wire sees
    // the same datagrams, the kernel routes and builds headers once per run.
    Result<std::size_t> send(DatagramBatch& batch);
    // UDP GRO: the kernel may hand one receive a run of datagrams from one sender, coalesced
    // (its UDP GSO sends, or what the NIC's GRO merged); receive() splits them again. Batches
    // received on this socket must then have kGroBufferSize buffers.
    Result<void> enable_gro();
    // The socket's receive and send buffers (set_socket_buffers: forced past net.core.rmem_max /
    // wmem_max when the process holds CAP_NET_ADMIN); returns what the kernel then holds (twice
    // what was asked when it was granted whole). Handles made by share() are the same socket.
    Result<SocketBuffers> set_buffers(SocketBuffers asked);
    // Fixes the peer (client): the kernel caches the route and drops datagrams from anyone else.
    // Sends to that peer then carry no address.
    Result<void> connect(const SocketAddress& peer);
    Result<IoCount> send_to(std::span<const std::uint8_t> data, const SocketAddress& to);

    // Transient errors (is_transient_socket_error: ICMP errors, ENOBUFS, ...) are not failures:
    // receive and send go on as if a datagram was lost, and count them here (may be null).
    // Handles made by share() count into the same counter.
    void count_soft_errors_in(SoftErrorCounter* counter) { soft_errors_ = counter; }
    // Of those, ECONNREFUSED (ICMP port unreachable: nobody listens at the peer's port) also
    // here (may be null): a client reacts to a run of them (Session::note_refusals).
    void count_refusals_in(SoftErrorCounter* counter) { refusals_ = counter; }
    // That counter now (0 without one): a reader compares it around a receive to see refusals.
    std::uint64_t refusals() const { return refusals_ ? refusals_->load(std::memory_order_relaxed) : 0; }

private:
    void note_soft_error(int err) {
        if (soft_errors_) soft_errors_->fetch_add(1, std::memory_order_relaxed);
        if (refusals_ && err == ECONNREFUSED) refusals_->fetch_add(1, std::memory_order_relaxed);
    }
    Result<std::size_t> send_plain(DatagramBatch& batch, std::size_t from);
    Result<std::size_t> send_gso(DatagramBatch& batch, std::size_t from);

    Fd fd_;
    int family_ = AF_INET;
    bool connected_ = false;
    bool gro_ = false;
    bool gso_ = true;  // off for good once the kernel refuses a GSO send
    SoftErrorCounter* soft_errors_ = nullptr;
    SoftErrorCounter* refusals_ = nullptr;
};

}  // namespace wirebridge::io
