// DataChannel: key slots by key_id, in-place AEAD seal/open, replay check after authentication.
#include "datapath/data_channel.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>

#include "crypto/random.hpp"
#include "proto/data_packet.hpp"

namespace wirebridge::datapath {

const char* data_drop_name(DataDrop d) {
    switch (d) {
        case DataDrop::none: return "none";
        case DataDrop::truncated: return "truncated";
        case DataDrop::no_key: return "no_key";
        case DataDrop::auth_failed: return "auth_failed";
        case DataDrop::replay: return "replay";
        case DataDrop::packet_id_wrap: return "packet_id_wrap";
        case DataDrop::bad_compression: return "bad_compression";
        case DataDrop::bad_fragment: return "bad_fragment";
        case DataDrop::fragment_held: return "fragment_held";
        case DataDrop::count_: break;
    }
    return "?";
}

Result<void> DataChannel::install(const session::DataKeys& k, std::shared_ptr<proto::SharedReplayWindow> replay) {
    if (k.key_id >= slots_.size() || !k.send_packet_id) return fail("incomplete data keys", EINVAL);
    Slot fresh;
    if (k.cbc) {
        auto enc = crypto::CbcEncryptor::create(*k.cbc, crypto::CbcKeys{k.send.key.clone(), k.send_hmac.clone()});
        if (!enc) return fail(enc.error());
        auto dec = crypto::CbcDecryptor::create(*k.cbc, crypto::CbcKeys{k.recv.key.clone(), k.recv_hmac.clone()});
        if (!dec) return fail(dec.error());
        fresh.cbc_enc.emplace(std::move(*enc));
        fresh.cbc_dec.emplace(std::move(*dec));
    } else {
        auto enc = crypto::AeadEncryptor::create(k.cipher, k.send);
        if (!enc) return fail(enc.error());
        auto dec = crypto::AeadDecryptor::create(k.cipher, k.recv);
        if (!dec) return fail(dec.error());
        fresh.enc.emplace(std::move(*enc));
        fresh.dec.emplace(std::move(*dec));
    }
    Slot& s = slots_[k.key_id];
    s = std::move(fresh);
    s.used = true;
    s.replay = replay ? std::move(replay) : std::make_shared<proto::SharedReplayWindow>();
    s.send_id = k.send_packet_id;
    s.compression = k.compression;
    s.mss_limit = k.mss_limit;
    s.fragment = k.fragment;
    proto::DataHeader h;
    h.opcode = k.data_v2 ? proto::Opcode::data_v2 : proto::Opcode::data_v1;
    h.key_id = k.key_id;
    h.peer_id = k.peer_id;
    s.header_len = proto::encode_data_header(h, proto::MutByteSpan(s.header, sizeof s.header));
    return {};
}

void DataChannel::set_primary(std::uint8_t key_id) {
    if (key_id < slots_.size() && slots_[key_id].used) primary_ = key_id;
}

void DataChannel::retire(std::uint8_t key_id) {
    if (key_id >= slots_.size()) return;
    slots_[key_id] = Slot{};
    if (primary_ == key_id) primary_ = -1;
    if (reserved_key_ == key_id) release();
}

void DataChannel::clear() {
    for (auto& s : slots_) s = Slot{};
    primary_ = -1;
    release();
}

void DataChannel::reserve(std::size_t count) {
    release();
    if (primary_ < 0 || count == 0) return;
    const std::uint32_t n = take_ids(*slots_[primary_].send_id, std::min(count, kMaxIdBlock), next_id_);
    reserved_key_ = primary_;
    last_id_ = next_id_ + n - 1;  // n == 0: nothing reserved (next_id_ > last_id_)
}

// One compare-exchange per batch; the counter stops at 2^32 - 1 instead of wrapping, so an id
// (a GCM/ChaCha nonce with this key) is never handed out twice.
std::uint32_t DataChannel::take_ids(std::atomic<std::uint32_t>& counter, std::size_t want, std::uint64_t& first) {
    std::uint32_t cur = counter.load(std::memory_order_relaxed);
    std::uint32_t n = 0;
    do {
        n = static_cast<std::uint32_t>(std::min<std::uint64_t>(want, 0xffffffffu - cur));
        if (n == 0) break;
    } while (!counter.compare_exchange_weak(cur, cur + n, std::memory_order_relaxed));
    first = std::uint64_t{cur} + 1;
    return n;
}

void DataChannel::release() {
    reserved_key_ = -1;
    next_id_ = 1;
    last_id_ = 0;
}

std::optional<std::uint8_t> DataChannel::primary() const {
    if (primary_ < 0) return std::nullopt;
    return static_cast<std::uint8_t>(primary_);
}

std::size_t DataChannel::seal(std::span<std::uint8_t> buf, std::size_t payload_len) {
    frag_out_at_ = frag_out_len_ = 0;  // a new frame: what was left of the last one is dropped
    if (primary_ < 0 || buf.size() < kHeadroom + payload_len) return 0;
    Slot& s = slots_[primary_];
    const std::size_t frame_len = payload_len;
    clamp(s, buf.subspan(kHeadroom, payload_len));
    if (s.compression != proto::CompressionFraming::none) {
        payload_len = proto::frame_uncompressed(s.compression, buf, kHeadroom, payload_len);
        if (payload_len == 0) return 0;
    }
    if (s.fragment) {
        // OpenVPN cuts after the compression framing and before encryption (forward.c encrypt_sign).
        if (payload_len > s.fragment) {
            const std::size_t piece = proto::fragment_piece_size(payload_len, s.fragment);
            if (piece == 0 || payload_len > proto::kMaxReassembled) return 0;  // more than 32 pieces
            frag_out_.resize(proto::kMaxReassembled);
            std::memcpy(frag_out_.data(), buf.data() + kHeadroom, payload_len);
            if (!frag_seq_random_) {
                frag_seq_ = static_cast<std::uint8_t>(crypto::random_u64());
                frag_seq_random_ = true;
            }
            ++frag_seq_;
            frag_next_id_ = 0;
            frag_piece_ = piece;
            frag_out_len_ = payload_len;
            const std::size_t n = seal_fragment(buf);
            if (n != 0) counters_.bytes_out += frame_len;  // the frame counts once
            return n;
        }
        payload_len = proto::add_whole_fragment_header(buf, kHeadroom, payload_len);
        if (payload_len == 0) return 0;
    }
    return seal_framed(s, buf, payload_len, frame_len);
}

std::size_t DataChannel::seal_fragment(std::span<std::uint8_t> buf) {
    if (!fragments_pending() || primary_ < 0 || !slots_[primary_].fragment) {
        frag_out_at_ = frag_out_len_ = 0;
        return 0;
    }
    const std::size_t n = std::min(frag_piece_, frag_out_len_ - frag_out_at_);
    if (buf.size() < kHeadroom + proto::kFragmentHeader + n) {
        frag_out_at_ = frag_out_len_ = 0;
        return 0;
    }
    const bool last = frag_out_at_ + n == frag_out_len_;
    const proto::FragmentHeader h{last ? proto::FragmentType::last : proto::FragmentType::not_last, frag_seq_, frag_next_id_++,
                                  static_cast<std::uint16_t>(frag_piece_)};
    proto::write_fragment_header(h, buf.subspan(kHeadroom).first<proto::kFragmentHeader>());
    std::memcpy(buf.data() + kHeadroom + proto::kFragmentHeader, frag_out_.data() + frag_out_at_, n);
    frag_out_at_ += n;
    ++fragments_sent_;
    return seal_framed(slots_[primary_], buf, proto::kFragmentHeader + n, 0);
}

std::size_t DataChannel::seal_framed(Slot& s, std::span<std::uint8_t> buf, std::size_t payload_len, std::size_t frame_len) {
    // DATA_V1 has a 1-byte header: shift the start so the payload stays where the caller put it.
    const std::size_t start = crypto::kDataV2HeaderSize - s.header_len;
    std::uint64_t next = 0;
    if (reserved_key_ == primary_ && next_id_ <= last_id_) next = next_id_++;
    else if (take_ids(*s.send_id, 1, next) == 0) next = 0;
    const std::uint32_t id = static_cast<std::uint32_t>(next);
    if (next == 0) {  // used up: never reuse a nonce; the session renegotiates well before this
        ++counters_.drops[static_cast<std::size_t>(DataDrop::packet_id_wrap)];
        return 0;
    }
    if (s.cbc_enc) {  // the packet is laid out from buf[0]; the payload moves behind HMAC, IV and id
        std::copy(s.header, s.header + s.header_len, buf.begin());
        const std::size_t n = s.cbc_enc->seal(buf, s.header_len, kHeadroom, payload_len, id);
        if (n == 0) {
            frag_out_at_ = frag_out_len_ = 0;  // the rest of a cut frame is useless without this piece
            return 0;
        }
        ++counters_.packets_out;
        counters_.bytes_out += frame_len;
        return n;
    }
    std::span<std::uint8_t> pkt = buf.subspan(start, kHeadroom - start + payload_len);
    std::copy(s.header, s.header + s.header_len, pkt.begin());
    if (s.enc->seal(pkt, s.header_len, id) != crypto::AeadStatus::Ok) {
        frag_out_at_ = frag_out_len_ = 0;
        return 0;
    }
    if (start != 0) std::copy(pkt.begin(), pkt.end(), buf.begin());
    ++counters_.packets_out;
    counters_.bytes_out += frame_len;
    return pkt.size();
}

DataDrop DataChannel::open(std::span<std::uint8_t> packet, std::int64_t now_sec, std::span<std::uint8_t>& payload) {
    auto drop = [&](DataDrop d) { return count_drop(d); };
    ring_used_ = 0;  // the previous payload has been delivered
    if (packet.empty()) return drop(DataDrop::truncated);
    const std::uint8_t key_id = packet[0] & proto::kKeyIdMask;
    Slot& s = slots_[key_id];
    if (!s.used) return drop(DataDrop::no_key);
    const std::size_t header_len = proto::opcode_of(packet[0]) == static_cast<unsigned>(proto::Opcode::data_v2) ? crypto::kDataV2HeaderSize
                                                                                         : crypto::kDataV1HeaderSize;
    if (packet.size() < header_len + crypto::kAeadOverhead) return drop(DataDrop::truncated);
    crypto::AeadOpened opened;
    if (s.cbc_dec) {  // the id is encrypted: authenticated and decrypted first
        const crypto::AeadStatus st = s.cbc_dec->open(packet, header_len, opened);
        if (st != crypto::AeadStatus::Ok) return drop(st == crypto::AeadStatus::TooShort ? DataDrop::truncated : DataDrop::auth_failed);
    } else {
        // Check the id before decrypting (cheap refusal of replays), record it only once authentic.
        const std::uint32_t id = (std::uint32_t{packet[header_len]} << 24) | (std::uint32_t{packet[header_len + 1]} << 16) |
                                 (std::uint32_t{packet[header_len + 2]} << 8) | packet[header_len + 3];
        if (s.replay->check(id, now_sec) != proto::Drop::none) return drop(DataDrop::replay);
        if (s.dec->open(packet, header_len, opened) != crypto::AeadStatus::Ok) return drop(DataDrop::auth_failed);
    }
    // Decided again under the lock: another worker may have taken this id meanwhile.
    if (s.replay->accept(opened.packet_id, now_sec) != proto::Drop::none) return drop(DataDrop::replay);
    payload = opened.payload;
    if (s.fragment)
        if (const DataDrop d = defragment(payload, now_sec); d != DataDrop::none)
            return d == DataDrop::fragment_held ? d : drop(d);
    if (s.compression != proto::CompressionFraming::none)
        if (const DataDrop d = unframe(s, payload); d != DataDrop::none) return drop(d);
    clamp(s, payload);
    ++counters_.packets_in;
    counters_.bytes_in += payload.size();
    return DataDrop::none;
}

DataDrop DataChannel::open_unrecorded(std::span<std::uint8_t> packet, Opened& out) {
    out = Opened{};
    if (ring_reset_) {  // a new batch: the last one's payloads have been delivered
        ring_used_ = 0;
        ring_reset_ = false;
    }
    if (packet.empty()) return out.drop = count_drop(DataDrop::truncated);
    out.key_id = packet[0] & proto::kKeyIdMask;
    Slot& s = slots_[out.key_id];
    if (!s.used) return out.drop = count_drop(DataDrop::no_key);
    const std::size_t header_len = proto::opcode_of(packet[0]) == static_cast<unsigned>(proto::Opcode::data_v2) ? crypto::kDataV2HeaderSize
                                                                                         : crypto::kDataV1HeaderSize;
    if (packet.size() < header_len + crypto::kAeadOverhead) return out.drop = count_drop(DataDrop::truncated);
    crypto::AeadOpened opened;
    const crypto::AeadStatus st = s.cbc_dec ? s.cbc_dec->open(packet, header_len, opened) : s.dec->open(packet, header_len, opened);
    if (st != crypto::AeadStatus::Ok)
        return out.drop = count_drop(st == crypto::AeadStatus::TooShort ? DataDrop::truncated : DataDrop::auth_failed);
    out.packet_id = opened.packet_id;
    out.payload = opened.payload;
    if (s.fragment) {
        // Reassembly changes state, so it waits for the replay window's verdict (accept_batch);
        // --fragment runs on one worker, so that state is this thread's alone. Unframing follows it.
        out.fragmented = true;
        return DataDrop::none;
    }
    // Unframed before the replay window records the id: a packet that does not decode is dropped
    // either way, and a later copy of it would be refused as a replay or fail again.
    if (s.compression != proto::CompressionFraming::none)
        if (const DataDrop d = unframe(s, out.payload); d != DataDrop::none) {
            out.payload = {};
            return out.drop = count_drop(d);
        }
    clamp(s, out.payload);
    return DataDrop::none;
}

DataDrop DataChannel::unfragment(const Slot& s, std::span<std::uint8_t>& payload, std::int64_t now_sec) {
    if (const DataDrop d = defragment(payload, now_sec); d != DataDrop::none) return d;
    if (s.compression != proto::CompressionFraming::none)
        if (const DataDrop d = unframe(s, payload); d != DataDrop::none) return d;
    clamp(s, payload);
    return DataDrop::none;
}

DataDrop DataChannel::defragment(std::span<std::uint8_t>& payload, std::int64_t now_sec) {
    switch (reassembler_.feed(payload, now_sec)) {
        case proto::FragmentReassembler::Verdict::whole: return DataDrop::none;
        case proto::FragmentReassembler::Verdict::pending: return DataDrop::fragment_held;
        case proto::FragmentReassembler::Verdict::bad: return DataDrop::bad_fragment;
        case proto::FragmentReassembler::Verdict::complete: break;
    }
    // Into a ring slot: its headroom lets the hub put a VLAN tag in front, and the next fragment
    // of this peer may reuse the reassembler's buffer before the payload is delivered.
    std::uint8_t* slot = take_ring_slot();
    if (!slot || payload.size() > proto::kMaxDecompressed) return DataDrop::bad_fragment;
    std::memcpy(slot + kRingHeadroom, payload.data(), payload.size());
    payload = std::span<std::uint8_t>(slot + kRingHeadroom, payload.size());
    ++reassembled_;
    return DataDrop::none;
}

std::uint8_t* DataChannel::take_ring_slot() {
    if (ring_used_ == ring_.size()) {
        if (ring_.size() == kMaxRingSlots) return nullptr;
        ring_.push_back(std::make_unique<std::uint8_t[]>(kRingHeadroom + proto::kMaxDecompressed));
    }
    return ring_[ring_used_++].get();
}

DataDrop DataChannel::unframe(const Slot& s, std::span<std::uint8_t>& payload) {
    std::span<std::uint8_t> scratch;
    if (!payload.empty()) {
        // Only a compressed packet needs a ring slot; the marker says before anything is decoded.
        const std::uint8_t c = payload[0];
        const bool may_compress = (s.compression == proto::CompressionFraming::comp_lzo && c == 0x66) ||
                                  (s.compression == proto::CompressionFraming::compress_v1 && c == 0x69) ||
                                  (s.compression == proto::CompressionFraming::compress_v2 && c == 0x50);
        if (may_compress) {
            if (ring_used_ == ring_.size()) {
                if (ring_.size() == kMaxRingSlots) return DataDrop::bad_compression;
                ring_.push_back(std::make_unique<std::uint8_t[]>(kRingHeadroom + proto::kMaxDecompressed));
            }
            scratch = std::span<std::uint8_t>(ring_[ring_used_].get() + kRingHeadroom, proto::kMaxDecompressed);
        }
    }
    bool compressed = false;
    if (!proto::unframe(s.compression, payload, scratch, compressed)) return DataDrop::bad_compression;
    if (compressed) {
        ++decompressed_;
        ++ring_used_;
    }
    return DataDrop::none;
}

std::size_t DataChannel::headroom_of(std::span<const std::uint8_t> packet, std::span<const std::uint8_t> payload) {
    const auto p = reinterpret_cast<std::uintptr_t>(payload.data());
    const auto b = reinterpret_cast<std::uintptr_t>(packet.data());
    if (p >= b && p <= b + packet.size()) return p - b;
    return kRingHeadroom;  // decompressed into a ring slot
}

void DataChannel::accept_batch(std::span<Opened> batch, std::int64_t now_sec) {
    ring_reset_ = true;
    // One lock per key present in the batch (usually one; two around a key change).
    static_assert(proto::kKeyIdCount <= 8);
    std::uint8_t done = 0;
    for (std::size_t first = 0; first < batch.size(); ++first) {
        const std::uint8_t key = batch[first].key_id;
        if (batch[first].drop != DataDrop::none || (done & (1u << key))) continue;
        done = static_cast<std::uint8_t>(done | (1u << key));
        Slot& s = slots_[key];
        if (!s.used || !s.replay) {
            // Retired between open and accept (a worker took a key change mid-batch): not accepted.
            for (std::size_t i = first; i < batch.size(); ++i)
                if (batch[i].drop == DataDrop::none && batch[i].key_id == key) {
                    batch[i].drop = count_drop(DataDrop::no_key);
                    batch[i].payload = {};
                }
            continue;
        }
        s.replay->locked([&](proto::ReplayWindow& w) {
            for (std::size_t i = first; i < batch.size(); ++i) {
                Opened& o = batch[i];
                if (o.drop != DataDrop::none || o.key_id != key) continue;
                if (w.accept(o.packet_id, now_sec) != proto::Drop::none) {
                    o.drop = count_drop(DataDrop::replay);
                    o.payload = {};
                    continue;
                }
                if (o.fragmented)
                    if (const DataDrop d = unfragment(s, o.payload, now_sec); d != DataDrop::none) {
                        o.drop = d == DataDrop::fragment_held ? d : count_drop(d);
                        o.payload = {};
                        continue;
                    }
                ++counters_.packets_in;
                counters_.bytes_in += o.payload.size();
            }
        });
    }
}

}  // namespace wirebridge::datapath
