// parse_http_request and http_response: see http_request.hpp.
#include "control/http_request.hpp"

namespace wirebridge::control {

namespace {

using State = HttpParseResult::State;

HttpParseResult bad(int status, std::string reason) {
    HttpParseResult r;
    r.state = State::bad;
    r.status = status;
    r.reason = std::move(reason);
    return r;
}

// RFC 9110 tchar.
bool is_tchar(unsigned char c) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    switch (c) {
        case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
        case '-': case '.': case '^': case '_': case '`': case '|': case '~':
            return true;
        default:
            return false;
    }
}

bool is_token(std::string_view s) {
    if (s.empty()) return false;
    for (unsigned char c : s)
        if (!is_tchar(c)) return false;
    return true;
}

// A byte that may appear in a header value: HTAB, visible ASCII, space, obs-text.
bool is_field_byte(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

// One line without its end (LF or CRLF).
std::string_view strip_cr(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

HttpParseResult parse_request_line(std::string_view line, HttpRequest& req) {
    const std::size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos) return bad(400, "no space in the request line");
    const std::size_t sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) return bad(400, "no HTTP version in the request line");
    const std::string_view method = line.substr(0, sp1);
    const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    if (!is_token(method) || method.size() > 16) return bad(400, "the method is not a token");
    if (target.empty() || target[0] != '/') return bad(400, "the target is not an absolute path");
    for (unsigned char c : target)
        if (c <= 0x20 || c >= 0x7f) return bad(400, "the target has a byte outside visible ASCII");
    if (version.size() != 8 || version.substr(0, 5) != "HTTP/")
        return bad(400, "the request line does not end with HTTP/x.y");
    if (version[5] != '1' || version[6] != '.' || (version[7] != '0' && version[7] != '1'))
        return bad(505, "only HTTP/1.0 and HTTP/1.1 are served");
    req.method = std::string(method);
    const std::size_t q = target.find('?');
    req.path = std::string(target.substr(0, q));
    req.query = q == std::string_view::npos ? std::string() : std::string(target.substr(q + 1));
    req.minor_version = version[7] - '0';
    HttpParseResult r;
    r.state = State::complete;
    return r;
}

}  // namespace

HttpParseResult parse_http_request(std::string_view data) {
    // The request line first: refused as soon as it is too long or holds a byte it cannot.
    const std::size_t first_nl = data.find('\n');
    const std::string_view seen_line = data.substr(0, first_nl);
    if (seen_line.size() > kMaxHttpRequestLine + 1)  // +1: its CR
        return bad(414, "request line longer than " + std::to_string(kMaxHttpRequestLine) + " bytes");
    for (unsigned char c : seen_line)
        if (c == 0 || (c < 0x20 && c != '\r') || c == 0x7f) return bad(400, "a control byte in the request line");
    if (first_nl == std::string_view::npos) {
        if (data.size() > kMaxHttpHead) return bad(431, "request head too large");
        return {};
    }

    HttpRequest req;
    if (auto r = parse_request_line(strip_cr(seen_line), req); r.state == State::bad) return r;

    // Header lines up to the empty one.
    std::size_t pos = first_nl + 1;
    std::size_t headers = 0;
    for (;;) {
        if (pos > kMaxHttpHead) return bad(431, "request head too large");
        const std::size_t nl = data.find('\n', pos);
        const std::string_view line =
            strip_cr(data.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
        if (nl == std::string_view::npos) {
            // An unfinished line: refuse early what can never become valid.
            for (unsigned char c : line)
                if (!is_field_byte(c) && c != '\r') return bad(400, "a control byte in a header");
            if (data.size() > kMaxHttpHead) return bad(431, "request head too large");
            return {};
        }
        if (nl + 1 > kMaxHttpHead) return bad(431, "request head too large");
        if (line.empty()) break;  // the end of the head
        if (line[0] == ' ' || line[0] == '\t') return bad(400, "a folded header line");
        if (++headers > kMaxHttpHeaders)
            return bad(431, "more than " + std::to_string(kMaxHttpHeaders) + " header lines");
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) return bad(400, "a header line without ':'");
        if (!is_token(line.substr(0, colon))) return bad(400, "a header name that is not a token");
        for (unsigned char c : line.substr(colon + 1))
            if (!is_field_byte(c)) return bad(400, "a control byte in a header value");
        pos = nl + 1;
    }
    HttpParseResult r;
    r.state = State::complete;
    r.request = std::move(req);
    return r;
}

std::string_view http_reason(int status) {
    switch (status) {
        case 200: return "OK";
        case 400: return "Bad Request";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 414: return "URI Too Long";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 503: return "Service Unavailable";
        case 505: return "HTTP Version Not Supported";
        default: return "Error";
    }
}

std::string http_response(int status, std::string_view content_type, std::string_view body,
                          bool with_body) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(http_reason(status)) + "\r\n";
    out += "Content-Type: " + std::string(content_type) + "\r\n";
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    if (status == 405) out += "Allow: GET, HEAD\r\n";
    out += "Cache-Control: no-store\r\n";
    out += "Connection: close\r\n\r\n";
    if (with_body) out += body;
    return out;
}

}  // namespace wirebridge::control
