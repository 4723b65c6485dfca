// tls-crypt v1: HMAC-SHA256 tag over the plaintext, AES-256-CTR with the tag as IV (SIV style).
#include "crypto/tls_crypt.hpp"

#include <openssl/evp.h>

#include <climits>
#include <cstring>
#include <utility>

#include "crypto/secure_bytes.hpp"

namespace wirebridge::crypto {

namespace {

constexpr std::size_t kKeySize = 32;
constexpr std::size_t kIvSize = 16;

EVP_CIPHER_CTX* ctx_of(void* p) { return static_cast<EVP_CIPHER_CTX*>(p); }

void* make_ctr(std::span<const uint8_t> key) {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    if (ctx == nullptr) return nullptr;
    // CTR is its own inverse, so encrypt mode serves both directions.
    if (EVP_EncryptInit_ex(ctx, EVP_aes_256_ctr(), nullptr, key.data(), nullptr) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        return nullptr;
    }
    return ctx;
}

// Runs CTR with a fresh IV over in -> out (in == out allowed; partial overlap is not).
bool ctr(void* c, const uint8_t* iv, const uint8_t* in, uint8_t* out, std::size_t len) {
    EVP_CIPHER_CTX* ctx = ctx_of(c);
    int n = 0;
    if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, iv) != 1) return false;
    if (len > 0 && EVP_EncryptUpdate(ctx, out, &n, in, static_cast<int>(len)) != 1) return false;
    return EVP_EncryptFinal_ex(ctx, out + len, &n) == 1;
}

}  // namespace

Result<TlsCrypt> TlsCrypt::create(const KeyPair& keys) {
    auto sm = Hmac::create(Digest::Sha256, keys.send.hmac.first(kKeySize));
    if (!sm) return fail(sm.error());
    auto rm = Hmac::create(Digest::Sha256, keys.recv.hmac.first(kKeySize));
    if (!rm) return fail(rm.error());
    void* sc = make_ctr(keys.send.cipher.first(kKeySize));
    void* rc = make_ctr(keys.recv.cipher.first(kKeySize));
    if (sc == nullptr || rc == nullptr) {
        EVP_CIPHER_CTX_free(ctx_of(sc));
        EVP_CIPHER_CTX_free(ctx_of(rc));
        return fail("tls-crypt: cannot initialise AES-256-CTR");
    }
    return TlsCrypt(std::move(*sm), std::move(*rm), sc, rc);
}

Result<TlsCrypt> TlsCrypt::from_static_key(const StaticKey& k, Role role) {
    return create(select_keys(k, tls_crypt_direction(role)));
}

TlsCrypt::~TlsCrypt() {
    EVP_CIPHER_CTX_free(ctx_of(send_ctr_));
    EVP_CIPHER_CTX_free(ctx_of(recv_ctr_));
}

TlsCrypt::TlsCrypt(TlsCrypt&& o) noexcept
    : send_mac_(std::move(o.send_mac_)),
      recv_mac_(std::move(o.recv_mac_)),
      send_ctr_(std::exchange(o.send_ctr_, nullptr)),
      recv_ctr_(std::exchange(o.recv_ctr_, nullptr)) {}

TlsCrypt& TlsCrypt::operator=(TlsCrypt&& o) noexcept {
    if (this != &o) {
        EVP_CIPHER_CTX_free(ctx_of(send_ctr_));
        EVP_CIPHER_CTX_free(ctx_of(recv_ctr_));
        send_mac_ = std::move(o.send_mac_);
        recv_mac_ = std::move(o.recv_mac_);
        send_ctr_ = std::exchange(o.send_ctr_, nullptr);
        recv_ctr_ = std::exchange(o.recv_ctr_, nullptr);
    }
    return *this;
}

Result<std::size_t> TlsCrypt::wrap(std::span<const uint8_t> plain, std::span<uint8_t> out, ReplayId id) {
    if (plain.size() < kControlPrefixSize) return fail("tls-crypt: control packet shorter than op + session id");
    if (plain.size() > INT_MAX) return fail("tls-crypt: packet too large");
    const std::size_t total = plain.size() + kTlsCryptOverhead;
    if (out.size() < total) return fail("tls-crypt: output buffer too small");

    uint8_t rid[kReplayIdSize];
    put_replay_id(rid, id);
    uint8_t tag[kTlsCryptTagSize];
    send_mac_.reset();
    send_mac_.update(plain.first(kControlPrefixSize));
    send_mac_.update(rid);
    send_mac_.update(plain.subspan(kControlPrefixSize));
    send_mac_.final(tag);

    // Move the rest into place first (out may alias plain), then encrypt it where it lies.
    const std::size_t rest = plain.size() - kControlPrefixSize;
    uint8_t* body = out.data() + kControlPrefixSize + kTlsCryptOverhead;
    std::memmove(body, plain.data() + kControlPrefixSize, rest);
    if (out.data() != plain.data()) std::memmove(out.data(), plain.data(), kControlPrefixSize);
    std::memcpy(out.data() + kControlPrefixSize, rid, kReplayIdSize);
    std::memcpy(out.data() + kControlPrefixSize + kReplayIdSize, tag, kTlsCryptTagSize);
    if (!ctr(send_ctr_, tag, body, body, rest)) return fail("tls-crypt: encryption failed");
    return total;
}

Result<Unwrapped> TlsCrypt::unwrap(std::span<const uint8_t> packet, std::span<uint8_t> out) {
    if (packet.size() < kControlPrefixSize + kTlsCryptOverhead)
        return fail("tls-crypt: packet too short (" + std::to_string(packet.size()) + " bytes)");
    if (packet.size() > INT_MAX) return fail("tls-crypt: packet too large");
    const std::size_t plain_len = packet.size() - kTlsCryptOverhead;
    if (out.size() < plain_len) return fail("tls-crypt: output buffer too small");

    const uint8_t* rid = packet.data() + kControlPrefixSize;
    const uint8_t* tag = rid + kReplayIdSize;
    const uint8_t* body = tag + kTlsCryptTagSize;
    const std::size_t rest = plain_len - kControlPrefixSize;

    // Pass 1: decrypt through a small stack buffer only to authenticate, writing nothing, so a
    // forged packet cannot disturb `out` (which may be the packet itself).
    recv_mac_.reset();
    recv_mac_.update(packet.first(kControlPrefixSize + kReplayIdSize));
    {
        EVP_CIPHER_CTX* ctx = ctx_of(recv_ctr_);
        if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, tag) != 1) return fail("tls-crypt: cipher reset failed");
        uint8_t chunk[512];
        for (std::size_t done = 0; done < rest;) {
            const std::size_t n = std::min(rest - done, sizeof chunk);
            int outl = 0;
            if (EVP_EncryptUpdate(ctx, chunk, &outl, body + done, static_cast<int>(n)) != 1)
                return fail("tls-crypt: decryption failed");
            recv_mac_.update({chunk, n});
            done += n;
        }
        secure_wipe(chunk, sizeof chunk);
    }
    uint8_t expect[kTlsCryptTagSize];
    recv_mac_.final(expect);
    if (!constant_time_equal(expect, {tag, kTlsCryptTagSize})) return fail("tls-crypt: authentication failed");

    // Pass 2: the real decryption. Copy the IV out first, since `out` may overwrite the tag.
    uint8_t iv[kIvSize];
    std::memcpy(iv, tag, kIvSize);
    Unwrapped u{get_replay_id(rid), plain_len};
    uint8_t* dst = out.data() + kControlPrefixSize;
    std::memmove(dst, body, rest);  // same-start in-place CTR below; memmove handles aliasing
    if (out.data() != packet.data()) std::memmove(out.data(), packet.data(), kControlPrefixSize);
    if (!ctr(recv_ctr_, iv, dst, dst, rest)) return fail("tls-crypt: decryption failed");
    return u;
}

StaticKey dynamic_tls_crypt_key(std::span<const uint8_t, kStaticKeySize> ekm, const StaticKey* configured) {
    StaticKey k(ekm);
    if (configured != nullptr)
        for (std::size_t i = 0; i < kStaticKeySize; ++i) k.bytes()[i] ^= configured->bytes()[i];
    return k;
}

}  // namespace wirebridge::crypto
