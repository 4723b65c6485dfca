// Fuzz target: the /metrics endpoint's HTTP request reader never crashes, overreads or accepts a
// head over its limits, and gives the same answer for a prefix as a whole request would not
// contradict: a complete head stays complete when more bytes follow it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "control/http_request.hpp"

using wirebridge::control::HttpParseResult;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const HttpParseResult r = wirebridge::control::parse_http_request(text);
    switch (r.state) {
        case HttpParseResult::State::complete: {
            // What it accepted is within the limits and well formed.
            if (r.request.method.empty() || r.request.path.empty() || r.request.path[0] != '/') std::abort();
            if (r.request.path.size() + r.request.query.size() > wirebridge::control::kMaxHttpRequestLine) std::abort();
            // Bytes after the head (a body, a pipelined request) do not change the verdict.
            const std::string more = std::string(text) + "X";
            if (wirebridge::control::parse_http_request(more).state != HttpParseResult::State::complete) std::abort();
            break;
        }
        case HttpParseResult::State::bad:
            if (r.status != 400 && r.status != 414 && r.status != 431 && r.status != 505) std::abort();
            break;
        case HttpParseResult::State::incomplete:
            // Never waits for more once it has seen more than the limit.
            if (size > wirebridge::control::kMaxHttpHead) std::abort();
            break;
    }
    // Every response it can write is well formed.
    const std::string resp = wirebridge::control::http_response(r.status ? r.status : 200, "text/plain", text);
    if (resp.compare(0, 9, "HTTP/1.1 ") != 0) std::abort();
    return 0;
}
