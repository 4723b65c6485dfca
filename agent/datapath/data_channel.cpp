// DataChannel: key slots by key_id, in-place AEAD seal/open, replay check after authentication.
#include "datapath/data_channel.hpp"

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
        case DataDrop::count_: break;
    }
    return "?";
}

Result<void> DataChannel::install(const KeyInstall& k) {
    if (k.key_id >= slots_.size() || !k.send || !k.recv || !k.send_packet_id) return fail("incomplete data keys", EINVAL);
    auto enc = crypto::AeadEncryptor::create(k.cipher, *k.send);
    if (!enc) return fail(enc.error());
    auto dec = crypto::AeadDecryptor::create(k.cipher, *k.recv);
    if (!dec) return fail(dec.error());
    Slot& s = slots_[k.key_id];
    s.used = true;
    s.enc.emplace(std::move(*enc));
    s.dec.emplace(std::move(*dec));
    s.replay = std::make_unique<proto::ReplayWindow>();
    s.send_id = k.send_packet_id;
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
}

void DataChannel::clear() {
    for (auto& s : slots_) s = Slot{};
    primary_ = -1;
}

std::optional<std::uint8_t> DataChannel::primary() const {
    if (primary_ < 0) return std::nullopt;
    return static_cast<std::uint8_t>(primary_);
}

std::size_t DataChannel::seal(std::span<std::uint8_t> buf, std::size_t payload_len) {
    if (primary_ < 0 || buf.size() < kHeadroom + payload_len) return 0;
    Slot& s = slots_[primary_];
    // DATA_V1 has a 1-byte header: shift the start so the payload stays where the caller put it.
    const std::size_t start = crypto::kDataV2HeaderSize - s.header_len;
    const std::uint32_t id = s.send_id->fetch_add(1) + 1;
    if (id == 0) {  // wrapped: never reuse a nonce; the session renegotiates well before this
        ++counters_.drops[static_cast<std::size_t>(DataDrop::packet_id_wrap)];
        return 0;
    }
    std::span<std::uint8_t> pkt = buf.subspan(start, kHeadroom - start + payload_len);
    std::copy(s.header, s.header + s.header_len, pkt.begin());
    if (s.enc->seal(pkt, s.header_len, id) != crypto::AeadStatus::Ok) return 0;
    if (start != 0) std::copy(pkt.begin(), pkt.end(), buf.begin());
    ++counters_.packets_out;
    counters_.bytes_out += payload_len;
    return pkt.size();
}

DataDrop DataChannel::open(std::span<std::uint8_t> packet, std::int64_t now_sec, std::span<std::uint8_t>& payload) {
    auto drop = [&](DataDrop d) {
        ++counters_.drops[static_cast<std::size_t>(d)];
        return d;
    };
    if (packet.empty()) return drop(DataDrop::truncated);
    const std::uint8_t key_id = packet[0] & proto::kKeyIdMask;
    Slot& s = slots_[key_id];
    if (!s.used) return drop(DataDrop::no_key);
    const std::size_t header_len = proto::opcode_of(packet[0]) == static_cast<unsigned>(proto::Opcode::data_v2) ? crypto::kDataV2HeaderSize
                                                                                         : crypto::kDataV1HeaderSize;
    if (packet.size() < header_len + crypto::kAeadOverhead) return drop(DataDrop::truncated);
    // Check the id before decrypting (cheap refusal of replays), record it only once authentic.
    const std::uint32_t id = (std::uint32_t{packet[header_len]} << 24) | (std::uint32_t{packet[header_len + 1]} << 16) |
                             (std::uint32_t{packet[header_len + 2]} << 8) | packet[header_len + 3];
    if (s.replay->check(id, now_sec) != proto::Drop::none) return drop(DataDrop::replay);
    crypto::AeadOpened opened;
    if (s.dec->open(packet, header_len, opened) != crypto::AeadStatus::Ok) return drop(DataDrop::auth_failed);
    s.replay->commit(opened.packet_id, now_sec);
    payload = opened.payload;
    ++counters_.packets_in;
    counters_.bytes_in += payload.size();
    return DataDrop::none;
}

}  // namespace wirebridge::datapath
