// Fuzz target: data header parser, replay window on the packet-id (TCP stream framing: io_tcp_link_fuzz).
#include <cstdint>
#include <cstdlib>

#include "proto/data_packet.hpp"
#include "proto/keepalive.hpp"
#include "proto/replay_window.hpp"

using namespace wirebridge::proto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const ByteSpan in(data, size);
    DataHeader h;
    ByteSpan body;
    if (parse_data_header(in, h, body) == Drop::none) {
        if (body.size() + h.length() != size) std::abort();
        ReplayWindow w;
        ByteReader r(body);
        int64_t now = 0;
        while (r.remaining() >= 5) {
            const uint32_t id = r.u32();
            now += r.u8() % 4;
            (void)w.accept(id, now);
        }
        (void)is_ping(body);
        (void)is_occ(body);
    }
    return 0;
}
