// Test helpers for session tests: a throw-away PKI made with the openssl CLI at test time, and an
// in-memory wire between two sessions that drops, reorders, duplicates and corrupts packets,
// driven by a fake clock. Each end opens data packets as a runner does: with the data path's
// DataChannel, installed from the session's keys on its key events (the session opens no data).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/static_key.hpp"
#include "crypto/tls_context.hpp"
#include "datapath/data_channel.hpp"
#include "proto/data_packet.hpp"
#include "proto/keepalive.hpp"
#include "session/session.hpp"

namespace wirebridge::session::test {

inline std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// CA + server (serverAuth) + client (clientAuth) certificates, EC P-256, made once per process.
struct TestPki {
    std::string ca, server_cert, server_key, client_cert, client_key, rogue_cert, rogue_key;
    std::string client2_cert, client2_key;  // another client certificate of the same CA (CN client2)

    static const TestPki& get() {
        static const TestPki pki = make();
        return pki;
    }

private:
    static TestPki make() {
        char tmpl[] = "/tmp/wb_session_pki_XXXXXX";
        const char* dir = mkdtemp(tmpl);
        if (!dir) throw std::runtime_error("mkdtemp failed");
        const std::string d = dir;
        const std::string script =
            "set -e; cd " + d + "; exec >log 2>&1\n"
            "printf 'basicConstraints=CA:FALSE\\nkeyUsage=digitalSignature,keyAgreement\\nextendedKeyUsage=serverAuth\\n' > srv.ext\n"
            "printf 'basicConstraints=CA:FALSE\\nkeyUsage=digitalSignature,keyAgreement\\nextendedKeyUsage=clientAuth\\n' > cli.ext\n"
            "for ca in ca rogue_ca; do openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
            "  -keyout $ca.key -out $ca.crt -days 2 -subj /CN=wb-test-$ca "
            "  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign; done\n"
            "sign() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $1.key -out $1.csr -subj /CN=$1;"
            "  openssl x509 -req -in $1.csr -CA $2.crt -CAkey $2.key -CAcreateserial -out $1.crt -days 2 -extfile $3; }\n"
            "sign server ca srv.ext; sign client ca cli.ext; sign client2 ca cli.ext; sign rogue rogue_ca cli.ext\n";
        const std::string cmd = "sh -c '" + [&] {
            std::string s;
            for (char c : script) {
                if (c == '\'') s += "'\\''";
                else s += c;
            }
            return s;
        }() + "'";
        if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl test PKI generation failed in " + d);
        TestPki p;
        p.ca = slurp(d + "/ca.crt");
        p.server_cert = slurp(d + "/server.crt");
        p.server_key = slurp(d + "/server.key");
        p.client_cert = slurp(d + "/client.crt");
        p.client_key = slurp(d + "/client.key");
        p.client2_cert = slurp(d + "/client2.crt");
        p.client2_key = slurp(d + "/client2.key");
        p.rogue_cert = slurp(d + "/rogue.crt");
        p.rogue_key = slurp(d + "/rogue.key");
        std::filesystem::remove_all(d);
        return p;
    }
};

// client2: the client presents the second client certificate of the CA (not with rogue).
inline std::shared_ptr<const crypto::TlsContext> tls_context(Role role, bool rogue = false, bool client2 = false) {
    const TestPki& pki = TestPki::get();
    crypto::TlsConfig c;
    c.role = role == Role::client ? crypto::Role::Client : crypto::Role::Server;
    c.ca_pem = pki.ca;
    if (role == Role::client) {
        c.cert_pem = rogue ? pki.rogue_cert : client2 ? pki.client2_cert : pki.client_cert;
        c.key_pem = rogue ? pki.rogue_key : client2 ? pki.client2_key : pki.client_key;
        c.remote_cert_tls = crypto::RemoteCertTls::Server;
    } else {
        c.cert_pem = pki.server_cert;
        c.key_pem = pki.server_key;
        c.remote_cert_tls = crypto::RemoteCertTls::Client;
    }
    auto ctx = crypto::TlsContext::create(c);
    if (!ctx) throw std::runtime_error(ctx.error().message);
    return *ctx;
}

inline const crypto::StaticKey& wrap_key() {
    static const crypto::StaticKey k = crypto::StaticKey::generate();
    return k;
}

inline SessionConfig make_config(Role role, WrapMode wrap, std::vector<std::string> ciphers = {"AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305"}) {
    SessionConfig c;
    c.role = role;
    c.tls = tls_context(role);
    c.wrap.mode = wrap;
    c.wrap.key = wrap_key();
    c.wrap.direction = role == Role::server ? crypto::KeyDirection::Normal : crypto::KeyDirection::Inverse;
    c.data_ciphers = std::move(ciphers);
    if (role == Role::server) {
        c.ping_s = 10;
        c.ping_restart_s = 60;
        c.peer_id = 7;
        c.push.ifconfig_local = "10.200.0.2";
        c.push.ifconfig_netmask = "255.255.255.0";
        c.push.route_gateway = "10.200.0.1";
    }
    return c;
}

inline constexpr TimeMs kT0 = 1000000;  // fake clock start (ms)

// A data channel for a harness that does not follow a session's key events (the dispatcher
// tests'): it takes a key from the session when a packet's key_id has none, and starts over when
// another session (another session id) takes the place it serves. open() takes a packet as a
// runner does: a data packet is opened by the data channel (a ping or OCC message goes to the
// session; a payload frame's length is returned in frame_len); false: not data, or no key for it
// (the caller hands it to the session, which refuses data as no_keys).
class DataFollower {
public:
    bool open(Session& s, std::vector<uint8_t>& pkt, TimeMs now, size_t* frame_len = nullptr) {
        if (frame_len) *frame_len = 0;
        if (!proto::is_data_packet(pkt)) return false;
        if (&s != session_ || s.own_session_id().bytes != sid_) {
            dc_.clear();
            session_ = &s;
            sid_ = s.own_session_id().bytes;
        }
        const uint8_t key_id = pkt[0] & proto::kKeyIdMask;
        if (!dc_.has_key(key_id)) {
            auto k = s.export_keys(key_id);
            if (!k || !dc_.install(*k)) return false;
        }
        std::span<uint8_t> payload;
        if (dc_.open(pkt, now / 1000, payload) != datapath::DataDrop::none) return true;  // refused, counted
        s.note_data_received(payload.size(), now);
        if (proto::is_ping(payload) || proto::is_occ(payload)) s.on_data_payload(payload, now);
        else if (frame_len) *frame_len = payload.size();
        return true;
    }
    const datapath::DataChannel& channel() const { return dc_; }

private:
    const Session* session_ = nullptr;
    decltype(proto::SessionId{}.bytes) sid_{};
    datapath::DataChannel dc_;
};

// Impairments applied to each packet independently (per mille).
struct Noise {
    unsigned drop = 0, duplicate = 0, reorder = 0, corrupt = 0;
};

// Two sessions over an in-memory wire with a fake clock.
class Link {
public:
    Link(std::unique_ptr<Session> client, std::unique_ptr<Session> server, Noise noise = {}, uint64_t seed = 1)
        : a_(std::move(client)), b_(std::move(server)), noise_(noise), rng_(seed) {}

    Session& client() { return *a_; }
    Session& server() { return *b_; }
    TimeMs now() const { return now_; }
    std::vector<Event>& client_events() { return ev_a_; }
    std::vector<Event>& server_events() { return ev_b_; }
    // Frames that arrived (decrypted user payloads) per side.
    std::vector<std::vector<uint8_t>>& client_frames() { return fr_a_; }
    std::vector<std::vector<uint8_t>>& server_frames() { return fr_b_; }
    // Optional tap on every packet that crosses: (from_client, bytes). Return false to drop it.
    std::function<bool(bool, std::vector<uint8_t>&)> tap;

    // Runs until `done()` or `limit_ms` of virtual time passed; returns done().
    bool run_until(const std::function<bool()>& done, TimeMs limit_ms) {
        const TimeMs end = now_ + limit_ms;
        for (int guard = 0; guard < 200000; ++guard) {
            drain();
            if (done()) return true;
            TimeMs next = std::min(a_->next_deadline(), b_->next_deadline());
            if (!wire_.empty()) next = std::min(next, wire_.begin()->first);
            if (next > end) {
                now_ = end;
                return done();
            }
            now_ = std::max(now_, next);
            while (!wire_.empty() && wire_.begin()->first <= now_) {
                auto [to_client, bytes] = wire_.begin()->second;
                wire_.erase(wire_.begin());
                deliver(to_client, bytes);
            }
            if (a_->next_deadline() <= now_) a_->on_timer(now_);
            if (b_->next_deadline() <= now_) b_->on_timer(now_);
        }
        return done();
    }
    void advance(TimeMs ms) {
        run_until([] { return false; }, ms);
    }
    // Sends a frame from one side through the same noisy wire.
    bool send_frame(bool from_client, const std::vector<uint8_t>& frame) {
        std::vector<uint8_t> pkt;
        if (!(from_client ? *a_ : *b_).encrypt_frame(frame, pkt, now_)) return false;
        put(!from_client, std::move(pkt));
        return true;
    }
    void inject(bool to_client, std::vector<uint8_t> bytes) { wire_.emplace(now_ + 1, std::make_pair(to_client, std::move(bytes))); }
    // Each end's data channel (as its runner keeps it) and what it refused, by reason.
    datapath::DataChannel& client_data() { return dc_a_; }
    datapath::DataChannel& server_data() { return dc_b_; }

    // A packet arrives at one end as a runner takes it: data to the data channel (a payload frame
    // is delivered, a ping or OCC message goes to the session), control to the session.
    void deliver(bool to_client, std::vector<uint8_t>& bytes) {
        Session& s = to_client ? *a_ : *b_;
        datapath::DataChannel& dc = to_client ? dc_a_ : dc_b_;
        if (proto::is_data_packet(bytes) && dc.has_key(bytes[0] & proto::kKeyIdMask)) {
            std::span<uint8_t> payload;
            if (dc.open(bytes, now_ / 1000, payload) != datapath::DataDrop::none) return;
            s.note_data_received(payload.size(), now_);
            if (proto::is_ping(payload) || proto::is_occ(payload)) s.on_data_payload(payload, now_);
            else (to_client ? fr_a_ : fr_b_).emplace_back(payload.begin(), payload.end());
            return;
        }
        s.on_packet(bytes, now_);
    }
    std::vector<std::vector<uint8_t>> sent_by_client, sent_by_server;  // every packet put on the wire

private:
    void drain() {
        std::vector<uint8_t> p;
        while (a_->pop_output(p)) put(false, std::move(p));
        while (b_->pop_output(p)) put(true, std::move(p));
        Event e;
        while (a_->pop_event(e)) {
            follow_keys(*a_, dc_a_, e);
            ev_a_.push_back(std::move(e));
        }
        while (b_->pop_event(e)) {
            follow_keys(*b_, dc_b_, e);
            ev_b_.push_back(std::move(e));
        }
    }
    // The runners' handling of the key events.
    static void follow_keys(Session& s, datapath::DataChannel& dc, const Event& e) {
        switch (e.type) {
            case EventType::keys_ready:
                if (auto k = s.export_keys(e.key_id)) {
                    EXPECT_TRUE(dc.install(*k));
                }
                break;
            case EventType::keys_primary: dc.set_primary(e.key_id); break;
            case EventType::keys_retired: dc.retire(e.key_id); break;
            default: break;
        }
    }
    void put(bool to_client, std::vector<uint8_t> p) {
        (to_client ? sent_by_server : sent_by_client).push_back(p);
        if (tap && !tap(!to_client, p)) return;
        std::uniform_int_distribution<unsigned> pm(0, 999);
        if (pm(rng_) < noise_.drop) return;
        TimeMs delay = 5;
        if (pm(rng_) < noise_.reorder) delay += 1 + pm(rng_) % 40;
        if (pm(rng_) < noise_.corrupt && !p.empty()) p[pm(rng_) % p.size()] ^= static_cast<uint8_t>(1 + pm(rng_) % 255);
        if (pm(rng_) < noise_.duplicate) wire_.emplace(now_ + delay + 3, std::make_pair(to_client, p));
        wire_.emplace(now_ + delay, std::make_pair(to_client, std::move(p)));
    }

    std::unique_ptr<Session> a_, b_;
    Noise noise_;
    std::mt19937_64 rng_;
    TimeMs now_ = kT0;
    std::multimap<TimeMs, std::pair<bool, std::vector<uint8_t>>> wire_;
    std::vector<Event> ev_a_, ev_b_;
    std::vector<std::vector<uint8_t>> fr_a_, fr_b_;
    datapath::DataChannel dc_a_, dc_b_;
};

inline bool has_event(const std::vector<Event>& evs, EventType t) {
    for (const auto& e : evs)
        if (e.type == t) return true;
    return false;
}
inline const Event* find_event(const std::vector<Event>& evs, EventType t) {
    for (const auto& e : evs)
        if (e.type == t) return &e;
    return nullptr;
}

}  // namespace wirebridge::session::test
