// DataChannel: one peer's established data keys (by key_id) sealing frames into DATA_V2 and opening them.
//
//   sent packet, DATA_V2 (OpenVPN 2.6 AEAD format):
//   | op<<3|kid | peer-id (24) | packet-id (32) | tag (16) | ciphertext of the Ethernet frame |
//   |<-------------------- kHeadroom = 24 bytes ------------------->|
//
// The caller reads a frame from the TAP straight into buf[kHeadroom..] and seals in place, so a
// frame is never copied and nothing is allocated per packet. Receiving is the reverse: open()
// authenticates and decrypts in place, then the replay window (proto) decides.
//
// Several data path workers: each worker has its own DataChannel (AEAD contexts are not
// thread-safe), installed from the same keys. What they share per key is the send packet-id
// counter (an atomic; a worker takes a block of ids with one fetch_add per batch: reserve()) and
// the receive replay window (proto::SharedReplayWindow; a batch records its ids under one lock:
// open_unrecorded() for each packet, then accept_batch()). Counters stay per DataChannel.
//
// OpenVPN's --fragment (a key with DataKeys::fragment set) runs on one thread only (the runners
// take workers as 1): seal() then sends the first fragment of a frame too large for one packet
// and seal_fragment() the others; open() and accept_batch() reassemble (proto/fragment.hpp).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "common/result.hpp"
#include "crypto/aead.hpp"
#include "crypto/cbc_hmac.hpp"
#include "proto/compression.hpp"
#include "proto/constants.hpp"
#include "proto/fragment.hpp"
#include "proto/mss_clamp.hpp"
#include "proto/replay_window.hpp"
#include "session/data_keys.hpp"

namespace wirebridge::datapath {

inline constexpr std::size_t kHeadroom = crypto::kDataV2HeaderSize + crypto::kAeadOverhead;

// Why a packet did not become a payload; indexes DataChannel::Counters::drops.
// bad_compression: authentic, but a framing marker or compressed block that does not decode.
// bad_fragment: authentic, but a fragment header or fragment that fragment.c would refuse.
// fragment_held: a fragment kept for reassembly (not a drop: never counted, nothing to deliver).
enum class DataDrop : std::uint8_t {
    none = 0, truncated, no_key, auth_failed, replay, packet_id_wrap, bad_compression, bad_fragment, fragment_held, count_
};
const char* data_drop_name(DataDrop d);

class DataChannel {
public:
    struct Counters {
        std::uint64_t packets_out = 0, bytes_out = 0, packets_in = 0, bytes_in = 0;
        std::array<std::uint64_t, static_cast<std::size_t>(DataDrop::count_)> drops{};
    };

    // The keys of one key_id as the session exported them (the one key type from the session to
    // the data path). The send counter is shared with the session (it sends pings/OCC with the
    // same key): the data channel takes ids with a compare-exchange that stops at 2^32 - 1.
    Result<void> install(const session::DataKeys& k) { return install(k, nullptr); }
    // With the receive window shared by every DataChannel (worker) that opens packets of this key
    // (null: a window of its own).
    Result<void> install(const session::DataKeys& k, std::shared_ptr<proto::SharedReplayWindow> replay);
    void set_primary(std::uint8_t key_id);
    // Whether a key is installed for key_id (the low 3 bits of a data packet's first byte).
    bool has_key(std::uint8_t key_id) const { return key_id < slots_.size() && slots_[key_id].used; }
    void retire(std::uint8_t key_id);
    void clear();
    bool ready() const { return primary_ >= 0; }
    std::optional<std::uint8_t> primary() const;

    // buf holds the payload at [kHeadroom, kHeadroom + payload_len); returns the packet length
    // (the packet starts at buf[0]) or 0 when there is no key or the payload does not fit. With
    // compression framing, buf needs proto::kFramingRoom bytes past the payload; with a CBC key,
    // kCbcRoom bytes (HMAC, IV, packet-id and padding take more than kHeadroom).
    std::size_t seal(std::span<std::uint8_t> buf, std::size_t payload_len);
    // --fragment: after a seal() that cut its frame, the next fragment sealed into buf (laid out
    // as seal() lays out a packet; 0 when none is left). Callers loop until fragments_pending()
    // is false; a new seal() drops what is left.
    bool fragments_pending() const { return frag_out_at_ < frag_out_len_; }
    bool fragmenting() const { return primary_ >= 0 && slots_[primary_].fragment != 0; }
    std::size_t seal_fragment(std::span<std::uint8_t> buf);

    // Takes the next `count` send ids of the primary key with one fetch_add (bounded by
    // kMaxIdBlock); the following seal() calls use them. Whatever a batch did not use is dropped
    // at the next reserve() or release(): an id block must never outlive its batch, or a peer
    // would see a very old id after newer ones (and refuse it as a replay).
    void reserve(std::size_t count);
    void release();
    static constexpr std::size_t kMaxIdBlock = 64;
    static constexpr std::size_t kCbcRoom = crypto::kMaxDigestSize + crypto::kCbcBlockSize + crypto::kPacketIdSize +
                                            crypto::kCbcMaxPadding + proto::kFramingRoom;

    // packet: a whole DATA_V1/V2 packet. On DataDrop::none, payload points inside it, or (a
    // packet a peer compressed) into this DataChannel's decompression ring: valid until the next
    // open(), or, for open_unrecorded(), until the first one after the batch's accept_batch().
    DataDrop open(std::span<std::uint8_t> packet, std::int64_t now_sec, std::span<std::uint8_t>& payload);

    // Batch receive for workers: authenticate and decrypt without recording the id, then
    // accept_batch() records the batch's ids (one lock per key) and turns the replays into drops.
    // Deliver only what accept_batch() left at DataDrop::none.
    struct Opened {
        DataDrop drop = DataDrop::none;
        std::uint8_t key_id = 0;
        std::uint32_t packet_id = 0;
        std::span<std::uint8_t> payload;
        bool fragmented = false;  // --fragment: reassembled (and unframed) by accept_batch()
    };
    DataDrop open_unrecorded(std::span<std::uint8_t> packet, Opened& out);
    void accept_batch(std::span<Opened> batch, std::int64_t now_sec);

    const Counters& counters() const { return counters_; }
    std::uint64_t mss_clamped() const { return mss_clamped_; }  // SYNs whose MSS was lowered, both ways
    std::uint64_t decompressed() const { return decompressed_; }  // packets a peer had compressed
    std::uint64_t fragments_sent() const { return fragments_sent_; }  // --fragment: pieces of cut frames
    std::uint64_t reassembled() const { return reassembled_; }        // --fragment: payloads put together

    // Writable bytes before a payload that open()/open_unrecorded() returned for `packet` (the
    // header it no longer needs, or the ring slot's headroom): room for a VLAN tag put in place.
    static std::size_t headroom_of(std::span<const std::uint8_t> packet, std::span<const std::uint8_t> payload);
    // Decompression ring: slots are allocated as a batch needs them, at most kMaxRingSlots (a
    // batch with more compressed packets drops the rest as bad_compression).
    static constexpr std::size_t kRingHeadroom = 64;
    static constexpr std::size_t kMaxRingSlots = 1024;

private:
    struct Slot {
        bool used = false;
        std::uint8_t header[crypto::kDataV2HeaderSize] = {};
        std::size_t header_len = crypto::kDataV2HeaderSize;
        std::optional<crypto::AeadEncryptor> enc;
        std::optional<crypto::AeadDecryptor> dec;
        std::optional<crypto::CbcEncryptor> cbc_enc;  // instead of enc/dec with a CBC key
        std::optional<crypto::CbcDecryptor> cbc_dec;
        std::shared_ptr<proto::SharedReplayWindow> replay;  // 8 KB: allocated once per key, not per packet
        std::shared_ptr<std::atomic<std::uint32_t>> send_id;
        proto::CompressionFraming compression = proto::CompressionFraming::none;
        std::uint16_t mss_limit = 0;
        std::uint16_t fragment = 0;  // largest payload in one packet (--fragment), 0: no fragment header
    };
    // Encrypts buf[kHeadroom, kHeadroom + payload_len) (framed) with the primary key.
    std::size_t seal_framed(Slot& s, std::span<std::uint8_t> buf, std::size_t payload_len, std::size_t frame_len);
    // --fragment on receive: strips the header, or reassembles into a ring slot (payload moves there).
    DataDrop defragment(std::span<std::uint8_t>& payload, std::int64_t now_sec);
    // accept_batch()'s part for an authentic --fragment payload: reassembly, unframing, MSS clamp.
    DataDrop unfragment(const Slot& s, std::span<std::uint8_t>& payload, std::int64_t now_sec);
    // A decompression ring slot for the next payload (nullptr: the ring is full).
    std::uint8_t* take_ring_slot();
    // Removes the slot's framing from an authentic payload; a drop reason when it does not decode.
    DataDrop unframe(const Slot& s, std::span<std::uint8_t>& payload);
    static std::uint32_t take_ids(std::atomic<std::uint32_t>& counter, std::size_t want, std::uint64_t& first);
    DataDrop count_drop(DataDrop d) {
        ++counters_.drops[static_cast<std::size_t>(d)];
        return d;
    }
    // Reserved send ids [next_id_, last_id_] of key reserved_key_ (none when next_id_ > last_id_).
    int reserved_key_ = -1;
    std::uint64_t next_id_ = 1, last_id_ = 0;
    std::array<Slot, proto::kKeyIdCount> slots_;
    int primary_ = -1;
    Counters counters_;
    // Decompressed payloads, one slot each (kRingHeadroom + proto::kMaxDecompressed bytes): none
    // for a peer that does not compress. ring_used_ slots hold payloads not yet delivered.
    std::vector<std::unique_ptr<std::uint8_t[]>> ring_;
    std::size_t ring_used_ = 0;
    bool ring_reset_ = false;  // accept_batch() ran: the next open_unrecorded() starts a new batch
    std::uint64_t decompressed_ = 0;
    std::uint64_t mss_clamped_ = 0;
    // --fragment: the frame being sent in pieces (frag_out_at_ .. frag_out_len_ left), and what
    // the peer cut. The seq id starts at random, as OpenVPN's, so a restart is unlikely to collide.
    std::vector<std::uint8_t> frag_out_;
    std::size_t frag_out_at_ = 0, frag_out_len_ = 0, frag_piece_ = 0;
    std::uint8_t frag_seq_ = 0, frag_next_id_ = 0;
    bool frag_seq_random_ = false;
    proto::FragmentReassembler reassembler_;
    std::uint64_t fragments_sent_ = 0, reassembled_ = 0;
    void clamp(const Slot& s, std::span<std::uint8_t> frame) {
        if (s.mss_limit && proto::clamp_mss(frame, s.mss_limit) == proto::MssResult::clamped) ++mss_clamped_;
    }
};

}  // namespace wirebridge::datapath
