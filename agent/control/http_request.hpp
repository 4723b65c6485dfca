// A minimal, bounded HTTP/1.x request reader and response writer, for the agent's /metrics
// endpoint (control.metrics). Only what a scraper sends is understood: a request line and header
// lines, no body. Everything else is refused with a status code, and nothing is read past the
// limits below, so a client cannot make the agent buffer more than kMaxHttpHead bytes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace wirebridge::control {

inline constexpr std::size_t kMaxHttpRequestLine = 1024;  // 414 above
inline constexpr std::size_t kMaxHttpHead = 8192;         // request line + headers; 431 above
inline constexpr std::size_t kMaxHttpHeaders = 64;        // header lines; 431 above

struct HttpRequest {
    std::string method;  // a token, e.g. GET
    std::string path;    // the target up to '?', starts with '/'
    std::string query;   // after '?', without it
    int minor_version = 1;  // HTTP/1.0 or HTTP/1.1
};

struct HttpParseResult {
    enum class State { incomplete, complete, bad } state = State::incomplete;
    HttpRequest request;  // when complete
    int status = 0;       // when bad: 400, 414, 431 or 505
    std::string reason;   // when bad: what was wrong, for the log
};

// Reads the head of a request from the bytes received so far: `incomplete` until the empty line
// that ends the headers arrives (bare LF line ends are accepted as CRLF), `bad` as soon as the
// bytes cannot be a valid head or exceed a limit. Never reads past `data`.
HttpParseResult parse_http_request(std::string_view data);

// A whole response, always with Content-Length and Connection: close; the body is left out for
// HEAD (`with_body` false) but its length is still given.
std::string http_response(int status, std::string_view content_type, std::string_view body,
                          bool with_body = true);

// The reason phrase of the status codes used here ("OK", "Not Found", ...).
std::string_view http_reason(int status);

}  // namespace wirebridge::control
