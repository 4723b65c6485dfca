// The established data-channel keys of one key_id, as the data path needs them.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

#include "crypto/aead.hpp"
#include "crypto/cbc_hmac.hpp"
#include "proto/constants.hpp"
#include "proto/control_message.hpp"

namespace wirebridge::session {

// Everything a data path needs to seal and open DATA_V2 packets of one key_id:
//   header = DataHeader{data_v2, key_id, peer_id} (the same peer-id both ways)
//   crypto::AeadEncryptor::create(cipher, send) / AeadDecryptor::create(cipher, recv)
//   packet-ids: take the next one with send_packet_id->fetch_add(1) + 1 (shared with the
//   session, which sends pings/OCC with the same key); the receive side keeps its own
//   proto::ReplayWindow.
struct DataKeys {
    uint8_t key_id = 0;
    crypto::AeadCipher cipher = crypto::AeadCipher::Aes256Gcm;
    uint32_t peer_id = proto::kUndefinedPeerId;
    bool data_v2 = true;
    // Compression framing of the payload (datapath/compression.hpp): configured, or pushed.
    proto::CompressionFraming compression = proto::CompressionFraming::none;
    // The TCP MSS limit (proto::mss_limit for this key's cipher and framing; 0 = no clamping).
    uint16_t mss_limit = 0;
    // --fragment: the largest payload sent in one packet (proto::max_fragment_size); 0: no
    // fragment header at all.
    uint16_t fragment = 0;
    crypto::AeadKeys send;
    crypto::AeadKeys recv;
    // CBC + HMAC instead of AEAD (a cipher such as AES-256-CBC negotiated with an older peer): the
    // cipher and `auth` digest, and the HMAC keys; the cipher keys are then send.key / recv.key
    // (implicit_iv unused).
    std::optional<crypto::CbcSuite> cbc;
    crypto::SecureBytes send_hmac, recv_hmac;
    std::shared_ptr<std::atomic<uint32_t>> send_packet_id;  // last id used; starts at 0

    DataKeys clone() const {
        DataKeys k;
        k.key_id = key_id;
        k.cipher = cipher;
        k.peer_id = peer_id;
        k.data_v2 = data_v2;
        k.compression = compression;
        k.mss_limit = mss_limit;
        k.fragment = fragment;
        k.send.key = send.key.clone();
        k.send.implicit_iv = send.implicit_iv;
        k.recv.key = recv.key.clone();
        k.recv.implicit_iv = recv.implicit_iv;
        k.cbc = cbc;
        k.send_hmac = send_hmac.clone();
        k.recv_hmac = recv_hmac.clone();
        k.send_packet_id = send_packet_id;
        return k;
    }
};

}  // namespace wirebridge::session
