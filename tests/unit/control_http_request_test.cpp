// parse_http_request and http_response: the /metrics endpoint's bounded HTTP/1.x reader.
#include <gtest/gtest.h>

#include <string>

#include "control/http_request.hpp"

namespace wirebridge::control {
namespace {

using State = HttpParseResult::State;

TEST(HttpRequest, PrometheusScrapeIsComplete) {
    const std::string req =
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9433\r\nUser-Agent: Prometheus/2.42.0\r\n"
        "Accept: text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n";
    const auto r = parse_http_request(req);
    ASSERT_EQ(r.state, State::complete) << r.reason;
    EXPECT_EQ(r.request.method, "GET");
    EXPECT_EQ(r.request.path, "/metrics");
    EXPECT_EQ(r.request.query, "");
    EXPECT_EQ(r.request.minor_version, 1);
}

TEST(HttpRequest, EveryPrefixOfAValidHeadIsIncomplete) {
    const std::string req = "GET /metrics?a=b HTTP/1.0\r\nHost: x\r\nAccept: */*\r\n\r\n";
    for (std::size_t n = 0; n < req.size(); ++n)
        EXPECT_EQ(parse_http_request(req.substr(0, n)).state, State::incomplete) << n;
    const auto r = parse_http_request(req);
    ASSERT_EQ(r.state, State::complete);
    EXPECT_EQ(r.request.path, "/metrics");
    EXPECT_EQ(r.request.query, "a=b");
    EXPECT_EQ(r.request.minor_version, 0);
}

TEST(HttpRequest, BareLineFeedsAndTrailingBytes) {
    EXPECT_EQ(parse_http_request("GET / HTTP/1.1\n\n").state, State::complete);
    // A body or a pipelined request after the head does not matter: only the head is read.
    EXPECT_EQ(parse_http_request("GET / HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\n").state, State::complete);
}

TEST(HttpRequest, MalformedHeadsAreRefusedAtOnce) {
    struct Case {
        const char* text;
        int status;
    } cases[] = {
        {"GET\r\n\r\n", 400},
        {"GET /metrics\r\n\r\n", 400},
        {"GET metrics HTTP/1.1\r\n\r\n", 400},
        {"G@T /metrics HTTP/1.1\r\n\r\n", 400},
        {"GET /me trics HTTP/1.1\r\n\r\n", 400},
        {"GET /metrics HTTP/2.0\r\n\r\n", 505},
        {"GET /metrics HTTP/1.2\r\n\r\n", 505},
        {"GET /metrics FTP/1.1\r\n\r\n", 400},
        {"GET /metrics HTTP/1.1\r\nHost a\r\n\r\n", 400},
        {"GET /metrics HTTP/1.1\r\nHo st: a\r\n\r\n", 400},
        {"GET /metrics HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400},
        {"GET /metrics HTTP/1.1\r\nHost: a\x01\r\n\r\n", 400},
    };
    for (const auto& c : cases) {
        const auto r = parse_http_request(c.text);
        EXPECT_EQ(r.state, State::bad) << c.text;
        EXPECT_EQ(r.status, c.status) << c.text << ": " << r.reason;
        EXPECT_FALSE(r.reason.empty());
    }
    // Refused before the line ends: a NUL can never become valid.
    const auto early = parse_http_request(std::string("GET /\0", 6));
    EXPECT_EQ(early.state, State::bad);
    EXPECT_EQ(parse_http_request("GET / HTTP/1.1\r\nHost: \x02").state, State::bad);
}

TEST(HttpRequest, LimitsAreEnforced) {
    // A request line over the limit, finished or not.
    const std::string long_target(kMaxHttpRequestLine + 10, 'a');
    EXPECT_EQ(parse_http_request("GET /" + long_target).status, 414);
    EXPECT_EQ(parse_http_request("GET /" + long_target + " HTTP/1.1\r\n\r\n").status, 414);
    // Just within it.
    const std::string ok_target(kMaxHttpRequestLine - 20, 'a');
    EXPECT_EQ(parse_http_request("GET /" + ok_target + " HTTP/1.1\r\n\r\n").state, State::complete);
    // Too many header lines.
    std::string many = "GET / HTTP/1.1\r\n";
    for (std::size_t i = 0; i <= kMaxHttpHeaders; ++i) many += "X-" + std::to_string(i) + ": y\r\n";
    EXPECT_EQ(parse_http_request(many + "\r\n").status, 431);
    // A head that never ends: refused once it passes the limit, not buffered on.
    std::string endless = "GET / HTTP/1.1\r\nX-Long: ";
    endless += std::string(kMaxHttpHead, 'v');
    const auto r = parse_http_request(endless);
    EXPECT_EQ(r.state, State::bad);
    EXPECT_EQ(r.status, 431);
    EXPECT_EQ(parse_http_request(std::string(kMaxHttpHead + 1, 'G')).status, 414);
}

TEST(HttpResponse, HasLengthTypeAndClose) {
    const std::string body = "wirebridge_up 1\n";
    const std::string r = http_response(200, "text/plain; version=0.0.4", body);
    EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
    EXPECT_NE(r.find("\r\nContent-Type: text/plain; version=0.0.4\r\n"), std::string::npos);
    EXPECT_NE(r.find("\r\nContent-Length: 16\r\n"), std::string::npos);
    EXPECT_NE(r.find("\r\nConnection: close\r\n\r\n"), std::string::npos);
    EXPECT_EQ(r.substr(r.size() - body.size()), body);
    // HEAD: the same length, no body.
    const std::string h = http_response(200, "text/plain", body, false);
    EXPECT_NE(h.find("\r\nContent-Length: 16\r\n"), std::string::npos);
    EXPECT_EQ(h.substr(h.size() - 4), "\r\n\r\n");
    EXPECT_NE(http_response(405, "text/plain", "").find("\r\nAllow: GET, HEAD\r\n"), std::string::npos);
    EXPECT_EQ(http_response(431, "text/plain", "").rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0), 0u);
}

}  // namespace
}  // namespace wirebridge::control
