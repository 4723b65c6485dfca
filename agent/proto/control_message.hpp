// Text messages on the control channel after key-method 2 (PUSH_REQUEST, PUSH_REPLY, EXIT, ...)
// and the PUSH_REPLY option parser with push-continuation reassembly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/constants.hpp"

namespace wirebridge::proto {

enum class ControlMessageKind : uint8_t {
    push_request,
    push_reply,
    auth_failed,
    auth_pending,
    restart,
    halt,
    exit,
    info,
    info_pre,
    unknown,
};

struct ControlMessage {
    ControlMessageKind kind = ControlMessageKind::unknown;
    std::string_view args;  // text after "COMMAND," (empty if none); points into the input
    std::string_view text;  // the whole message without trailing NULs
};

// Classifies one control-channel text message (a TLS record, NUL-terminated on the wire).
// Refuses non-printable content with ControlMessageKind::unknown and empty text.
ControlMessage classify_control_message(std::string_view raw);

// The NUL-terminated wire form of a text message.
std::vector<uint8_t> control_message_bytes(std::string_view text);

// Compression framing of the data channel (datapath/compression.hpp draws each): comp_lzo for
// `comp-lzo [yes|no|adaptive]` and `compress lzo`; compress_v1 (swap) for `compress`, `compress
// stub`, `compress lz4`; compress_v2 for `compress stub-v2`, `compress lz4-v2`. wirebridge sends
// every one uncompressed and decompresses what a peer compressed. unsupported: anything else
// (`compress snappy`, a misspelling).
enum class CompressionFraming : uint8_t { none, comp_lzo, compress_v1, compress_v2, unsupported };

// The framing of an option line's words ("comp-lzo", "no") or ("compress", "lz4-v2"); none when
// the line is not a compression option.
CompressionFraming compression_of(const std::vector<std::string>& words);
// The stub option that tells a peer to use framing f without compressing ("comp-lzo no",
// "compress stub", "compress stub-v2"); empty for none/unsupported.
std::string compression_stub_option(CompressionFraming f);
const char* compression_name(CompressionFraming f);

// What wirebridge honours from a PUSH_REPLY; everything else is kept in `ignored`.
struct PushOptions {
    std::optional<std::string> cipher;
    std::optional<uint32_t> peer_id;
    bool tls_ekm = false;        // key-derivation tls-ekm, or protocol-flags ... tls-ekm
    bool cc_exit = false;        // protocol-flags cc-exit
    bool dyn_tls_crypt = false;  // protocol-flags dyn-tls-crypt
    std::optional<uint32_t> ping;
    std::optional<uint32_t> ping_restart;
    std::optional<std::string> ifconfig_local;
    std::optional<std::string> ifconfig_netmask;
    std::optional<std::string> route_gateway;
    std::optional<uint32_t> tun_mtu;
    std::optional<std::string> auth_token;
    std::optional<uint32_t> explicit_exit_notify;
    CompressionFraming compression = CompressionFraming::none;
    std::vector<std::string> ignored;

    // Applies one option line ("cipher AES-256-GCM"). Returns false if it is malformed.
    bool apply(std::string_view line);
};

// Splits an option line into words: whitespace-separated, double quotes group, backslash escapes.
std::vector<std::string> split_option_words(std::string_view line);

// Reassembles PUSH_REPLY messages ("PUSH_REPLY,opt,opt,...,push-continuation 2" + ... + "... 1").
class PushReplyAssembler {
public:
    enum class Status : uint8_t { more, complete, error };

    // `args` is ControlMessage::args of a PUSH_REPLY.
    Status feed(std::string_view args);
    const PushOptions& options() const { return opts_; }
    void reset() { opts_ = PushOptions{}; parts_ = 0; }

private:
    PushOptions opts_;
    unsigned parts_ = 0;
};

// Builds a server's PUSH_REPLY text (no NUL).
std::string build_push_reply(const PushOptions& o);

}  // namespace wirebridge::proto
