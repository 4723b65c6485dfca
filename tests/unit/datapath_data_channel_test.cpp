// Tests of DataChannel: two peers with mirrored keys exchange frames; replays, tampering, unknown
// keys and retired keys are refused; a rekey switches the sending key while the old one still opens.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "datapath/data_channel.hpp"
#include "datapath_test_keys.hpp"

using namespace wirebridge;
using namespace wirebridge::datapath;

namespace {

struct KeyPairMaterial {
    crypto::AeadKeys a_to_b, b_to_a;
    std::shared_ptr<std::atomic<std::uint32_t>> a_ids = std::make_shared<std::atomic<std::uint32_t>>(0);
    std::shared_ptr<std::atomic<std::uint32_t>> b_ids = std::make_shared<std::atomic<std::uint32_t>>(0);
};

crypto::AeadKeys keys(std::uint8_t fill, std::size_t len) {
    std::vector<std::uint8_t> k(len, fill);
    crypto::AeadKeys out;
    out.key = crypto::SecureBytes(std::span<const std::uint8_t>(k));
    for (std::size_t i = 0; i < out.implicit_iv.size(); ++i) out.implicit_iv.span()[i] = static_cast<std::uint8_t>(fill + i);
    return out;
}

void install(DataChannel& a, DataChannel& b, KeyPairMaterial& m, std::uint8_t key_id, crypto::AeadCipher c) {
    const std::size_t len = crypto::aead_key_size(c);
    m.a_to_b = keys(static_cast<std::uint8_t>(0x10 + key_id), len);
    m.b_to_a = keys(static_cast<std::uint8_t>(0x20 + key_id), len);
    ASSERT_TRUE(a.install(wirebridge::test::test_keys(key_id, c, 7, true, &m.a_to_b, &m.b_to_a, m.a_ids)));
    ASSERT_TRUE(b.install(wirebridge::test::test_keys(key_id, c, 7, true, &m.b_to_a, &m.a_to_b, m.b_ids)));
    a.set_primary(key_id);
    b.set_primary(key_id);
}

std::vector<std::uint8_t> frame(std::size_t len, std::uint8_t seed) {
    // Appended, not indexed: GCC 12 at -O3 mis-sizes the indexed loop once inlined into a
    // caller with a constant length range and reports a false -Wstringop-overflow.
    std::vector<std::uint8_t> f;
    f.reserve(len);
    for (std::size_t i = 0; i < len; ++i) f.push_back(static_cast<std::uint8_t>(seed + i * 3));
    return f;
}

// Seals `f` on `from`; returns the wire packet.
std::vector<std::uint8_t> seal(DataChannel& from, const std::vector<std::uint8_t>& f) {
    std::vector<std::uint8_t> buf(kHeadroom + f.size() + DataChannel::kCbcRoom);
    std::memcpy(buf.data() + kHeadroom, f.data(), f.size());
    const std::size_t n = from.seal(buf, f.size());
    buf.resize(n);
    return buf;
}

}  // namespace

class DataChannelCipher : public ::testing::TestWithParam<crypto::AeadCipher> {};

TEST_P(DataChannelCipher, RoundTripAndWireLayout) {
    DataChannel a, b;
    KeyPairMaterial m;
    install(a, b, m, 0, GetParam());
    for (std::size_t len : {14u, 60u, 1514u}) {
        const auto f = frame(len, static_cast<std::uint8_t>(len));
        auto pkt = seal(a, f);
        ASSERT_EQ(pkt.size(), kHeadroom + len);
        EXPECT_EQ(pkt[0], (9 << 3) | 0);  // DATA_V2, key 0
        EXPECT_EQ(pkt[3], 7);             // peer-id 7
        EXPECT_NE(std::memcmp(pkt.data() + kHeadroom, f.data(), len), 0);  // encrypted
        std::span<std::uint8_t> payload;
        ASSERT_EQ(b.open(pkt, 100, payload), DataDrop::none);
        EXPECT_EQ(std::vector<std::uint8_t>(payload.begin(), payload.end()), f);
    }
    EXPECT_EQ(m.a_ids->load(), 3u);  // ids 1, 2, 3 used, shared with the session
    EXPECT_EQ(b.counters().packets_in, 3u);
}

INSTANTIATE_TEST_SUITE_P(All, DataChannelCipher,
                         ::testing::Values(crypto::AeadCipher::Aes256Gcm, crypto::AeadCipher::Aes128Gcm,
                                           crypto::AeadCipher::Chacha20Poly1305));

TEST(DataChannel, RefusesReplayTamperTruncatedAndUnknownKey) {
    DataChannel a, b;
    KeyPairMaterial m;
    install(a, b, m, 0, crypto::AeadCipher::Aes256Gcm);
    auto pkt = seal(a, frame(100, 1));
    auto copy = pkt;
    std::span<std::uint8_t> payload;
    ASSERT_EQ(b.open(pkt, 1, payload), DataDrop::none);
    EXPECT_EQ(b.open(copy, 1, payload), DataDrop::replay);

    auto tampered = seal(a, frame(100, 2));
    tampered[40] ^= 1;
    EXPECT_EQ(b.open(tampered, 1, payload), DataDrop::auth_failed);
    // The id of a refused packet was not recorded: the genuine packet with that id still opens.
    auto next = seal(a, frame(100, 3));
    ASSERT_EQ(b.open(next, 1, payload), DataDrop::none);

    auto short_pkt = seal(a, frame(100, 4));
    short_pkt.resize(10);
    EXPECT_EQ(b.open(short_pkt, 1, payload), DataDrop::truncated);
    auto other_key = seal(a, frame(100, 5));
    other_key[0] = (9 << 3) | 3;
    EXPECT_EQ(b.open(other_key, 1, payload), DataDrop::no_key);
    EXPECT_EQ(b.counters().drops[static_cast<std::size_t>(DataDrop::replay)], 1u);
    EXPECT_EQ(b.counters().drops[static_cast<std::size_t>(DataDrop::auth_failed)], 1u);
}

TEST(DataChannel, RekeyKeepsOldKeyForReceiving) {
    DataChannel a, b;
    KeyPairMaterial m0, m1;
    install(a, b, m0, 0, crypto::AeadCipher::Chacha20Poly1305);
    auto old_pkt = seal(a, frame(80, 9));  // in flight while the rekey happens
    install(a, b, m1, 1, crypto::AeadCipher::Chacha20Poly1305);
    auto new_pkt = seal(a, frame(80, 10));
    EXPECT_EQ(new_pkt[0] & 7, 1);
    std::span<std::uint8_t> payload;
    EXPECT_EQ(b.open(new_pkt, 5, payload), DataDrop::none);
    EXPECT_EQ(b.open(old_pkt, 5, payload), DataDrop::none);
    b.retire(0);
    auto late = old_pkt;
    EXPECT_EQ(b.open(late, 5, payload), DataDrop::no_key);
    a.retire(1);
    EXPECT_FALSE(a.ready());
    std::vector<std::uint8_t> buf(kHeadroom + 80);
    EXPECT_EQ(a.seal(buf, 80), 0u);
}

TEST(DataChannel, NoKeyNoSeal) {
    DataChannel a;
    std::vector<std::uint8_t> buf(kHeadroom + 10);
    EXPECT_EQ(a.seal(buf, 10), 0u);
    EXPECT_FALSE(a.install(wirebridge::test::test_keys()));
}

namespace {
std::uint32_t wire_id(const std::vector<std::uint8_t>& pkt) {
    return (std::uint32_t{pkt[4]} << 24) | (std::uint32_t{pkt[5]} << 16) | (std::uint32_t{pkt[6]} << 8) | pkt[7];
}
}  // namespace

// Workers: two senders of one key take blocks of ids from the shared counter with one fetch_add
// each; a block ends with its batch, so the unused rest is skipped, never sent later.
TEST(DataChannel, ReservedIdBlocksAreDisjointAndEndWithTheBatch) {
    DataChannel w0, w1, peer;
    KeyPairMaterial m;
    install(w0, peer, m, 1, crypto::AeadCipher::Aes256Gcm);
    ASSERT_TRUE(w1.install(wirebridge::test::test_keys(1, crypto::AeadCipher::Aes256Gcm, 7, true, &m.a_to_b, &m.b_to_a, m.a_ids)));
    w1.set_primary(1);
    w0.reserve(4);  // ids 1..4
    w1.reserve(3);  // ids 5..7
    EXPECT_EQ(m.a_ids->load(), 7u);
    const auto f = frame(100, 1);
    EXPECT_EQ(wire_id(seal(w1, f)), 5u);
    EXPECT_EQ(wire_id(seal(w0, f)), 1u);
    EXPECT_EQ(wire_id(seal(w0, f)), 2u);
    EXPECT_EQ(wire_id(seal(w1, f)), 6u);
    w0.release();                          // 3 and 4 are never used
    EXPECT_EQ(wire_id(seal(w0, f)), 8u);   // no block: one id from the counter
    w1.reserve(1000);                      // bounded
    EXPECT_EQ(m.a_ids->load(), 8u + DataChannel::kMaxIdBlock);
    EXPECT_EQ(wire_id(seal(w1, f)), 9u);
    w1.reserve(2);                         // a new batch drops the rest of the old block
    EXPECT_EQ(wire_id(seal(w1, f)), 9u + DataChannel::kMaxIdBlock);
}

TEST(DataChannel, ReservedBlockNeverWrapsTheCounter) {
    DataChannel a, b;
    KeyPairMaterial m;
    install(a, b, m, 0, crypto::AeadCipher::Aes256Gcm);
    m.a_ids->store(0xfffffffeu);
    a.reserve(4);  // only 0xffffffff is left; 0, 1, 2 ... would reuse nonces
    EXPECT_EQ(m.a_ids->load(), 0xffffffffu);
    const auto f = frame(60, 2);
    EXPECT_EQ(wire_id(seal(a, f)), 0xffffffffu);
    std::vector<std::uint8_t> buf(kHeadroom + f.size());
    EXPECT_EQ(a.seal(buf, f.size()), 0u);
    a.reserve(4);
    EXPECT_EQ(a.seal(buf, f.size()), 0u);
    EXPECT_EQ(m.a_ids->load(), 0xffffffffu);
    EXPECT_EQ(a.counters().drops[static_cast<std::size_t>(DataDrop::packet_id_wrap)], 2u);
}

// Two receiving workers share the key's replay window: a packet opened by both is delivered once;
// a batch records its ids under one lock and turns its own duplicates into replay drops.
TEST(DataChannel, BatchAcceptSharesTheWindowBetweenWorkers) {
    DataChannel sender, r0, r1;
    KeyPairMaterial m;
    auto window = std::make_shared<proto::SharedReplayWindow>();
    m.a_to_b = keys(0x31, 32);
    m.b_to_a = keys(0x41, 32);
    ASSERT_TRUE(sender.install(wirebridge::test::test_keys(2, crypto::AeadCipher::Aes256Gcm, 7, true, &m.a_to_b, &m.b_to_a, m.a_ids)));
    sender.set_primary(2);
    ASSERT_TRUE(r0.install(wirebridge::test::test_keys(2, crypto::AeadCipher::Aes256Gcm, 7, true, &m.b_to_a, &m.a_to_b, m.b_ids), window));
    ASSERT_TRUE(r1.install(wirebridge::test::test_keys(2, crypto::AeadCipher::Aes256Gcm, 7, true, &m.b_to_a, &m.a_to_b, m.b_ids), window));
    std::vector<std::vector<std::uint8_t>> pkts;
    sender.reserve(6);
    for (int i = 0; i < 6; ++i) pkts.push_back(seal(sender, frame(80 + i, static_cast<std::uint8_t>(i))));
    auto copies = pkts;  // the same packets again, for the other worker
    auto dup = pkts[2];  // and one duplicate inside r0's own batch

    std::vector<DataChannel::Opened> batch(7);
    for (int i = 0; i < 6; ++i) ASSERT_EQ(r0.open_unrecorded(pkts[i], batch[i]), DataDrop::none);
    ASSERT_EQ(r0.open_unrecorded(dup, batch[6]), DataDrop::none);  // authentic, but a replay
    r0.accept_batch(batch, 0);
    for (int i = 0; i < 6; ++i) {
        EXPECT_EQ(batch[i].drop, DataDrop::none) << i;
        EXPECT_EQ(batch[i].packet_id, static_cast<std::uint32_t>(i + 1));
        EXPECT_EQ(std::vector<std::uint8_t>(batch[i].payload.begin(), batch[i].payload.end()), frame(80 + i, static_cast<std::uint8_t>(i)));
    }
    EXPECT_EQ(batch[6].drop, DataDrop::replay);
    EXPECT_EQ(r0.counters().packets_in, 6u);

    std::vector<DataChannel::Opened> other(6);
    for (int i = 0; i < 6; ++i) ASSERT_EQ(r1.open_unrecorded(copies[i], other[i]), DataDrop::none);
    r1.accept_batch(other, 0);
    for (auto& o : other) EXPECT_EQ(o.drop, DataDrop::replay);
    EXPECT_EQ(r1.counters().packets_in, 0u);
    EXPECT_EQ(r1.counters().drops[static_cast<std::size_t>(DataDrop::replay)], 6u);

    // A forged packet never reaches the window.
    auto forged = seal(sender, frame(90, 9));
    forged.back() ^= 1;
    DataChannel::Opened f;
    EXPECT_EQ(r1.open_unrecorded(forged, f), DataDrop::auth_failed);
}

// Threads as workers: each seals with its own DataChannel and id blocks from the shared counter,
// while two receivers open everything with a shared window. Every id is unique and every packet
// is delivered exactly once.
TEST(DataChannel, ThreadsSealAndOpenOneKey) {
    constexpr int kWorkers = 3, kBatches = 300, kPerBatch = 16;
    KeyPairMaterial m;
    m.a_to_b = keys(0x51, 32);
    m.b_to_a = keys(0x61, 32);
    auto window = std::make_shared<proto::SharedReplayWindow>();
    std::vector<std::vector<std::vector<std::uint8_t>>> sent(kWorkers);
    std::vector<std::thread> th;
    for (int w = 0; w < kWorkers; ++w) {
        th.emplace_back([&, w] {
            DataChannel dc;
            ASSERT_TRUE(dc.install(wirebridge::test::test_keys(0, crypto::AeadCipher::Aes256Gcm, 7, true, &m.a_to_b, &m.b_to_a, m.a_ids)));
            dc.set_primary(0);
            for (int b = 0; b < kBatches; ++b) {
                dc.reserve(kPerBatch);
                for (int i = 0; i < kPerBatch; ++i) sent[w].push_back(seal(dc, frame(64, static_cast<std::uint8_t>(w))));
                dc.release();
            }
        });
    }
    for (auto& t : th) t.join();
    th.clear();
    std::vector<std::uint32_t> ids;
    for (auto& v : sent)
        for (auto& p : v) ids.push_back(wire_id(p));
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end());
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(kWorkers * kBatches * kPerBatch));
    // Two receivers each get every packet (as if duplicated), by id, reversed inside each batch.
    std::vector<std::vector<std::uint8_t>> all;
    for (auto& v : sent)
        for (auto& p : v) all.push_back(p);
    std::sort(all.begin(), all.end(), [](const auto& x, const auto& y) { return wire_id(x) < wire_id(y); });
    std::vector<std::vector<std::vector<std::uint8_t>>> copies(2, all);
    std::vector<std::atomic<int>> got(all.size());
    for (int r = 0; r < 2; ++r) {
        th.emplace_back([&, r] {
            DataChannel dc;
            ASSERT_TRUE(dc.install(wirebridge::test::test_keys(0, crypto::AeadCipher::Aes256Gcm, 7, true, &m.b_to_a, &m.a_to_b, m.b_ids), window));
            std::vector<DataChannel::Opened> batch(kPerBatch);
            std::vector<std::size_t> index(kPerBatch);
            for (std::size_t first = 0; first < all.size(); first += kPerBatch) {
                for (int i = 0; i < kPerBatch; ++i) {
                    index[i] = first + kPerBatch - 1 - i;
                    ASSERT_EQ(dc.open_unrecorded(copies[r][index[i]], batch[i]), DataDrop::none);
                }
                dc.accept_batch(batch, 0);
                for (int i = 0; i < kPerBatch; ++i)
                    if (batch[i].drop == DataDrop::none) got[index[i]].fetch_add(1);
            }
        });
    }
    for (auto& t : th) t.join();
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i].load(), 1) << "packet " << i;
}

namespace {
// An Ethernet frame with an IPv4 TCP SYN announcing MSS 1460 (checksum not filled: only the
// option's value is checked here; proto_mss_clamp_test checks the checksum).
std::vector<std::uint8_t> syn_frame() {
    std::vector<std::uint8_t> f(14 + 20 + 24, 0);
    f[12] = 0x08;
    f[14] = 0x45;
    f[14 + 3] = 44;  // total length
    f[14 + 9] = 6;   // TCP
    f[34 + 12] = 6 << 4;
    f[34 + 13] = 0x02;  // SYN
    f[34 + 20] = 2;
    f[34 + 21] = 4;
    f[34 + 22] = 0x05;
    f[34 + 23] = 0xb4;
    return f;
}
std::uint16_t mss_of(std::span<const std::uint8_t> f) { return static_cast<std::uint16_t>((f[56] << 8) | f[57]); }
}  // namespace

TEST(DataChannel, ClampsMssOfSynsBothWays) {
    DataChannel a, b;
    KeyPairMaterial m;
    const std::size_t len = crypto::aead_key_size(crypto::AeadCipher::Aes256Gcm);
    m.a_to_b = keys(0x10, len);
    m.b_to_a = keys(0x20, len);
    session::DataKeys ka = wirebridge::test::test_keys(0, crypto::AeadCipher::Aes256Gcm, 7, true, &m.a_to_b, &m.b_to_a, m.a_ids);
    ka.mss_limit = 1368;
    session::DataKeys kb = wirebridge::test::test_keys(0, crypto::AeadCipher::Aes256Gcm, 7, true, &m.b_to_a, &m.a_to_b, m.b_ids);
    kb.mss_limit = 1300;
    ASSERT_TRUE(a.install(ka));
    ASSERT_TRUE(b.install(kb));
    a.set_primary(0);
    b.set_primary(0);
    // a clamps what it sends; b clamps again on receipt (to its own, lower limit).
    auto pkt = seal(a, syn_frame());
    std::span<std::uint8_t> payload;
    DataChannel plain;  // a receiver without clamping sees what a sent
    session::DataKeys kp = kb.clone();
    kp.mss_limit = 0;
    ASSERT_TRUE(plain.install(kp));
    auto copy = pkt;
    ASSERT_EQ(plain.open(copy, 100, payload), DataDrop::none);
    EXPECT_EQ(mss_of(payload), 1368);
    ASSERT_EQ(b.open(pkt, 100, payload), DataDrop::none);
    EXPECT_EQ(mss_of(payload), 1300);
    EXPECT_EQ(a.mss_clamped(), 1u);
    EXPECT_EQ(b.mss_clamped(), 1u);
    // Batch receive clamps too; a frame that is not a SYN passes unchanged.
    auto pkt2 = seal(b, syn_frame());
    DataChannel::Opened o;
    ASSERT_EQ(a.open_unrecorded(pkt2, o), DataDrop::none);
    EXPECT_EQ(mss_of(o.payload), 1300);  // b's limit on send, below a's
    const auto other = frame(60, 9);
    auto pkt3 = seal(a, other);
    ASSERT_EQ(b.open(pkt3, 100, payload), DataDrop::none);
    EXPECT_EQ(std::vector<std::uint8_t>(payload.begin(), payload.end()), other);
}

TEST(DataChannel, CbcKeysSealOpenAndRefuseReplays) {
    // AES-256-CBC + SHA256: HMAC, IV and the encrypted packet-id after the header; replays are
    // refused after decryption (the id is inside), on both receive paths.
    const crypto::CbcSuite suite{crypto::CbcCipher::Aes256Cbc, crypto::Digest::Sha256};
    KeyPairMaterial m;
    m.a_to_b = keys(0x31, 32);
    m.b_to_a = keys(0x32, 32);
    const std::vector<std::uint8_t> h1(32, 0x41), h2(32, 0x42);
    const crypto::SecureBytes ab_hmac{std::span<const std::uint8_t>(h1)}, ba_hmac{std::span<const std::uint8_t>(h2)};
    DataChannel a, b;
    session::DataKeys ka = wirebridge::test::test_keys(0, crypto::AeadCipher::Aes256Gcm, 7, true, &m.a_to_b, &m.b_to_a, m.a_ids);
    ka.cbc = suite;
    ka.send_hmac = ab_hmac.clone();
    ka.recv_hmac = ba_hmac.clone();
    session::DataKeys kb = wirebridge::test::test_keys(0, crypto::AeadCipher::Aes256Gcm, 7, true, &m.b_to_a, &m.a_to_b, m.b_ids);
    kb.cbc = suite;
    kb.send_hmac = ba_hmac.clone();
    kb.recv_hmac = ab_hmac.clone();
    ASSERT_TRUE(a.install(ka));
    ASSERT_TRUE(b.install(kb));
    a.set_primary(0);
    b.set_primary(0);
    const auto f = frame(1514, 5);
    std::vector<std::uint8_t> buf(kHeadroom + f.size() + DataChannel::kCbcRoom);
    std::memcpy(buf.data() + kHeadroom, f.data(), f.size());
    const std::size_t n = a.seal(buf, f.size());
    ASSERT_EQ(n, 4u + 32u + 16u + 1520u);
    buf.resize(n);
    EXPECT_EQ(buf[0], (9 << 3) | 0);
    auto copy = buf;
    std::span<std::uint8_t> payload;
    ASSERT_EQ(b.open(buf, 100, payload), DataDrop::none);
    EXPECT_EQ(std::vector<std::uint8_t>(payload.begin(), payload.end()), f);
    EXPECT_EQ(b.open(copy, 100, payload), DataDrop::replay);
    // Batch path: the same packet twice in one batch, one delivered.
    auto p2 = seal(b, frame(200, 1));
    auto p3 = p2;
    DataChannel::Opened o[2];
    ASSERT_EQ(a.open_unrecorded(p2, o[0]), DataDrop::none);
    ASSERT_EQ(a.open_unrecorded(p3, o[1]), DataDrop::none);
    a.accept_batch(o, 100);
    EXPECT_EQ(o[0].drop, DataDrop::none);
    EXPECT_EQ(o[1].drop, DataDrop::replay);
    EXPECT_EQ(std::vector<std::uint8_t>(o[0].payload.begin(), o[0].payload.end()), frame(200, 1));
    // A flipped bit anywhere after the header: auth_failed.
    auto p4 = seal(b, frame(60, 2));
    p4[10] ^= 1;
    EXPECT_EQ(a.open(p4, 100, payload), DataDrop::auth_failed);
}

// --fragment: every payload carries the 4-byte header; a frame too large for one packet goes out
// as several (seal + seal_fragment), each at most the fragment size, and is reassembled by open()
// in any order; a lost piece loses only its frame.
TEST(DataChannelFragment, CutsWhatDoesNotFitAndReassemblesIt) {
    DataChannel a, b;
    KeyPairMaterial m;
    const std::size_t klen = crypto::aead_key_size(crypto::AeadCipher::Aes256Gcm);
    m.a_to_b = keys(0x31, klen);
    m.b_to_a = keys(0x32, klen);
    auto ka = wirebridge::test::test_keys(0, crypto::AeadCipher::Aes256Gcm, 7, true, &m.a_to_b, &m.b_to_a, m.a_ids);
    auto kb = wirebridge::test::test_keys(0, crypto::AeadCipher::Aes256Gcm, 7, true, &m.b_to_a, &m.a_to_b, m.b_ids);
    // `fragment 1300` with AES-GCM and DATA_V2: at most 1272 payload bytes a packet.
    ka.fragment = kb.fragment = proto::max_fragment_size(1300, false, proto::TunnelOverhead{});
    ASSERT_EQ(ka.fragment, 1272);
    ASSERT_TRUE(a.install(ka));
    ASSERT_TRUE(b.install(kb));
    a.set_primary(0);
    b.set_primary(0);

    // All the packets one frame becomes.
    auto seal_all = [&](const std::vector<std::uint8_t>& f) {
        std::vector<std::vector<std::uint8_t>> pkts{seal(a, f)};
        while (a.fragments_pending()) {
            std::vector<std::uint8_t> buf(2048);
            const std::size_t n = a.seal_fragment(buf);
            EXPECT_NE(n, 0u);
            buf.resize(n);
            pkts.push_back(buf);
        }
        return pkts;
    };
    auto open = [&](std::vector<std::uint8_t>& pkt, std::vector<std::uint8_t>* got) {
        std::span<std::uint8_t> payload;
        const DataDrop d = b.open(pkt, 10, payload);
        if (d == DataDrop::none && got) got->assign(payload.begin(), payload.end());
        return d;
    };

    const auto small = frame(200, 1);
    auto one = seal_all(small);
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(one[0].size(), kHeadroom + proto::kFragmentHeader + small.size());  // the WHOLE header
    std::vector<std::uint8_t> got;
    ASSERT_EQ(open(one[0], &got), DataDrop::none);
    EXPECT_EQ(got, small);

    const auto big = frame(1514, 2);
    auto pieces = seal_all(big);
    ASSERT_EQ(pieces.size(), 2u);
    for (const auto& p : pieces) EXPECT_LE(p.size(), 1300u);
    EXPECT_EQ(a.fragments_sent(), 2u);
    std::swap(pieces[0], pieces[1]);  // the last piece first
    EXPECT_EQ(open(pieces[0], nullptr), DataDrop::fragment_held);
    ASSERT_EQ(open(pieces[1], &got), DataDrop::none);
    EXPECT_EQ(got, big);
    EXPECT_EQ(b.reassembled(), 1u);

    // One piece of the next frame lost: that frame never arrives, the one after does.
    auto lost = seal_all(frame(1400, 3));
    EXPECT_EQ(open(lost[0], nullptr), DataDrop::fragment_held);
    auto next = seal_all(frame(1500, 4));
    for (std::size_t i = 0; i + 1 < next.size(); ++i) EXPECT_EQ(open(next[i], nullptr), DataDrop::fragment_held);
    ASSERT_EQ(open(next.back(), &got), DataDrop::none);
    EXPECT_EQ(got, frame(1500, 4));
    EXPECT_EQ(b.counters().drops[static_cast<std::size_t>(DataDrop::fragment_held)], 0u);  // not a drop

    // A peer without --fragment sends no header: its payload is refused, not taken as a fragment.
    DataChannel plain;
    ASSERT_TRUE(plain.install(wirebridge::test::test_keys(0, crypto::AeadCipher::Aes256Gcm, 7, true, &m.a_to_b, &m.b_to_a,
                                                          std::make_shared<std::atomic<std::uint32_t>>(100))));
    plain.set_primary(0);
    auto bare = seal(plain, frame(60, 5));  // payload starts 0x05 ...: a TEST or bad header
    std::span<std::uint8_t> payload;
    EXPECT_EQ(b.open(bare, 10, payload), DataDrop::bad_fragment);
}
