// Fuzz target: DataChannel::open and the batch path (open_unrecorded + accept_batch) of the
// receiving peer. The first input byte picks the cipher and the receiver's compression framing;
// the rest is a program: raw packets (what anyone can send), packets the sender really sealed
// (with framing none, so the payload's first bytes are read as the receiver's framing marker and
// an LZO/LZ4 block reaches the decompressors authenticated), the same with bytes changed, replays
// of earlier packets, batches, and key changes (install, primary, retire). Checked: no crash or
// sanitizer report, an accepted payload lies inside the packet or the decompression ring and is
// at most kMaxDecompressed bytes, and a replayed packet is never accepted twice.
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "datapath/data_channel.hpp"

using namespace wirebridge;
using namespace wirebridge::datapath;

namespace {

struct Input {
    const uint8_t* p;
    size_t n;
    uint8_t u8() {
        if (n == 0) return 0;
        --n;
        return *p++;
    }
    uint16_t u16() { return static_cast<uint16_t>(u8() << 8 | u8()); }
};

crypto::AeadKeys keys(uint8_t fill, size_t len) {
    std::vector<uint8_t> k(len);
    for (size_t i = 0; i < len; ++i) k[i] = static_cast<uint8_t>(fill + i * 3);
    crypto::AeadKeys out;
    out.key = crypto::SecureBytes(std::span<const uint8_t>(k));
    for (size_t i = 0; i < out.implicit_iv.size(); ++i) out.implicit_iv.span()[i] = static_cast<uint8_t>(fill ^ i);
    return out;
}

// The session's key type for one direction pair (copies of the material, the shared counter).
session::DataKeys data_keys(uint8_t key_id, crypto::AeadCipher cipher, const crypto::AeadKeys& send,
                            const crypto::AeadKeys& recv, std::shared_ptr<std::atomic<uint32_t>> ids,
                            proto::CompressionFraming framing) {
    session::DataKeys k;
    k.key_id = key_id;
    k.cipher = cipher;
    k.peer_id = 7;
    k.compression = framing;
    k.send.key = send.key.clone();
    k.send.implicit_iv = send.implicit_iv;
    k.recv.key = recv.key.clone();
    k.recv.implicit_iv = recv.implicit_iv;
    k.send_packet_id = std::move(ids);
    return k;
}

constexpr crypto::AeadCipher kCiphers[3] = {crypto::AeadCipher::Aes128Gcm, crypto::AeadCipher::Aes256Gcm,
                                            crypto::AeadCipher::Chacha20Poly1305};
constexpr proto::CompressionFraming kFramings[4] = {proto::CompressionFraming::none, proto::CompressionFraming::comp_lzo,
                                                    proto::CompressionFraming::compress_v1,
                                                    proto::CompressionFraming::compress_v2};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Input in{data, size};
    const uint8_t setup = in.u8();
    const crypto::AeadCipher cipher = kCiphers[setup % 3];
    const proto::CompressionFraming framing = kFramings[(setup >> 2) & 3];
    const size_t klen = crypto::aead_key_size(cipher);
    crypto::AeadKeys a_to_b[2] = {keys(1, klen), keys(3, klen)};
    crypto::AeadKeys b_to_a[2] = {keys(2, klen), keys(4, klen)};
    auto a_ids = std::make_shared<std::atomic<uint32_t>>(0);
    auto b_ids = std::make_shared<std::atomic<uint32_t>>(0);
    DataChannel sender, receiver;
    auto install = [&](uint8_t key_id) {
        const unsigned k = key_id & 1;
        const session::DataKeys s = data_keys(key_id, cipher, a_to_b[k], b_to_a[k], a_ids, proto::CompressionFraming::none);
        const session::DataKeys r = data_keys(key_id, cipher, b_to_a[k], a_to_b[k], b_ids, framing);
        if (!sender.install(s) || !receiver.install(r)) std::abort();
        sender.set_primary(key_id);
        receiver.set_primary(key_id);
    };
    install(0);

    std::vector<std::vector<uint8_t>> sent;  // sealed packets, for replays
    std::vector<uint8_t> buf(kHeadroom + 2048 + proto::kFramingRoom);
    auto seal = [&](size_t len, uint8_t fill) -> std::vector<uint8_t> {
        len = std::min<size_t>(len, 2048);
        for (size_t i = 0; i < len; ++i) buf[kHeadroom + i] = in.n ? in.u8() : static_cast<uint8_t>(fill + i);
        const size_t n = sender.seal(buf, len);
        return std::vector<uint8_t>(buf.begin(), buf.begin() + static_cast<long>(n));
    };
    auto check_payload = [&](std::span<const uint8_t> pkt, std::span<const uint8_t> payload) {
        if (payload.size() > proto::kMaxDecompressed) std::abort();
        const bool in_packet = payload.data() >= pkt.data() && payload.data() + payload.size() <= pkt.data() + pkt.size();
        if (!in_packet && receiver.decompressed() == 0) std::abort();
    };

    for (int steps = 0; in.n > 0 && steps < 256; ++steps) {
        const uint8_t op = in.u8();
        const int64_t now = 100 + steps;
        switch (op & 7) {
        case 0: {  // raw bytes
            const size_t len = std::min<size_t>(in.u16() % 1700, in.n);
            std::vector<uint8_t> p(in.p, in.p + len);
            in.p += len;
            in.n -= len;
            std::span<uint8_t> payload;
            if (receiver.open(p, now, payload) == DataDrop::none) check_payload(p, payload);
            break;
        }
        case 1:
        case 2: {  // a packet the sender sealed, perhaps changed
            auto p = seal(in.u8() * 8 + in.u8() % 8, op);
            if (p.empty()) break;
            sent.push_back(p);
            if ((op & 7) == 2) p[in.u16() % p.size()] ^= static_cast<uint8_t>(in.u8() | 1);
            std::span<uint8_t> payload;
            if (receiver.open(p, now, payload) == DataDrop::none) check_payload(p, payload);
            break;
        }
        case 3: {  // a replay: never accepted if it was accepted before
            if (sent.empty()) break;
            auto p = sent[in.u8() % sent.size()];
            auto p2 = p;  // open() decrypts in place
            std::span<uint8_t> payload;
            auto first = receiver.open(p, now, payload);
            if (first == DataDrop::none && receiver.open(p2, now, payload) == DataDrop::none) std::abort();
            break;
        }
        case 4: {  // a batch of up to 8 sealed, changed or replayed packets
            const unsigned count = 1 + in.u8() % 8;
            std::vector<std::vector<uint8_t>> pkts;
            for (unsigned i = 0; i < count; ++i) {
                const uint8_t how = in.u8();
                std::vector<uint8_t> p;
                if ((how & 3) == 0 && !sent.empty()) {
                    p = sent[how % sent.size()];
                } else {
                    p = seal(in.u8() * 4, how);
                    if (p.empty()) continue;
                    sent.push_back(p);
                    if ((how & 3) == 1) p[in.u16() % p.size()] ^= 0x40;
                }
                pkts.push_back(std::move(p));
            }
            std::vector<DataChannel::Opened> opened(pkts.size());
            for (size_t i = 0; i < pkts.size(); ++i) (void)receiver.open_unrecorded(pkts[i], opened[i]);
            receiver.accept_batch(opened, now);
            for (size_t i = 0; i < pkts.size(); ++i)
                if (opened[i].drop == DataDrop::none) check_payload(pkts[i], opened[i].payload);
            break;
        }
        case 5:  // a rekey: the other key id (0..7) with the other keys
            install(static_cast<uint8_t>(in.u8() % proto::kKeyIdCount));
            break;
        case 6: {
            const uint8_t k = static_cast<uint8_t>(in.u8() % proto::kKeyIdCount);
            receiver.retire(k);
            break;
        }
        default:
            if (sent.size() > 64) sent.erase(sent.begin(), sent.begin() + 32);
            break;
        }
    }
    return 0;
}
