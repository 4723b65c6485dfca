// Fuzz target: io::TcpLink's stream framing (receive() into batches) over a real stream (a
// socketpair): the input is written in chunks whose sizes it picks itself, each packet handed out
// must be 1..limit bytes and the packets can never hold more than was written; after the writer
// closes, the link ends cleanly or reports an error, never hangs on a partial packet.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "io/tcp_link.hpp"

using namespace wirebridge::io;

namespace {
constexpr std::size_t kLimit = 512;  // the batch's buffers: a lower limit than kMaxPacket, also checked

// Drains the link; false once it reported an error (the stream is refused from then on).
bool drain(TcpLink& link, DatagramBatch& batch, std::size_t& bytes_out) {
    for (int i = 0; i < 10000; ++i) {
        auto n = link.receive(batch);
        if (!n) return false;
        if (*n == 0) return true;
        for (std::size_t k = 0; k < *n; ++k) {
            const std::size_t len = batch.data(k).size();
            if (len == 0 || len > kLimit) std::abort();
            bytes_out += 2 + len;
        }
    }
    std::abort();  // a receive loop that never ends
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static DatagramBatch batch(4, kLimit);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) return 0;
    TcpLink link(TcpStream(Fd(sv[0]), SocketAddress{}), true);
    Fd writer(sv[1]);
    std::size_t pos = 0, bytes_out = 0;
    bool ok = true;
    while (pos < size && ok) {
        const std::size_t n = std::min<std::size_t>(1 + data[pos] % 97, size - pos);
        if (::write(writer.get(), data + pos, n) != static_cast<ssize_t>(n)) std::abort();
        pos += n;
        ok = drain(link, batch, bytes_out);
        if (bytes_out > pos) std::abort();
    }
    if (!ok) return 0;
    writer.reset();
    if (drain(link, batch, bytes_out) && !link.ended()) std::abort();  // the end, once read, is seen
    if (bytes_out > size) std::abort();
    return 0;
}
