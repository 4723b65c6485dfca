// Fuzz target: control text messages, PUSH_REPLY options with continuation, peer-info.
#include <cstdint>
#include <algorithm>
#include <string_view>

#include "proto/control_message.hpp"
#include "proto/peer_info.hpp"

using namespace wirebridge::proto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    PushReplyAssembler a;
    size_t start = 0;
    // Treat NUL-separated pieces as successive control messages.
    while (start <= text.size()) {
        const size_t end = std::min(text.find('\0', start), text.size());
        const auto m = classify_control_message(text.substr(start, end - start));
        if (m.kind == ControlMessageKind::push_reply && a.feed(m.args) != PushReplyAssembler::Status::more) {
            (void)build_push_reply(a.options());
            a.reset();
        }
        start = end + 1;
    }
    const PeerInfo pi = PeerInfo::parse(text);
    (void)pi.iv_proto();
    (void)negotiate_cipher({"AES-256-GCM", "CHACHA20-POLY1305"}, pi.ciphers());
    return 0;
}
