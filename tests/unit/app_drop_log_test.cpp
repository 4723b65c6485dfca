// Tests of DropLog: the first drop of a reason is logged with its source and hint, the next ones
// within the quiet period are only counted, and the next line says how many were not logged.
#include <gtest/gtest.h>

#include <string>

#include "app/drop_log.hpp"
#include "common/log.hpp"

using namespace wirebridge;
using wirebridge::proto::Drop;

namespace {

// Runs f and returns what it logged.
template <class F>
std::string logged(F&& f) {
    testing::internal::CaptureStderr();
    f();
    return testing::internal::GetCapturedStderr();
}

int lines(const std::string& s) {
    int n = 0;
    for (char c : s) n += c == '\n';
    return n;
}

}  // namespace

TEST(DropLog, FirstAtOnceThenOneLineAQuietPeriod) {
    set_log_level(LogLevel::info);
    set_log_journal(false);
    app::DropLog d("pre-session drop", 60000);
    int asked = 0;
    auto source = [&] {
        ++asked;
        return std::string("10.0.0.2:1194");
    };
    std::string out = logged([&] { d.note(Drop::auth_failed, 1000, source); });
    EXPECT_EQ(lines(out), 1);
    EXPECT_NE(out.find("pre-session drop: auth_failed from 10.0.0.2:1194 (the tls-auth/tls-crypt HMAC does not verify"), std::string::npos) << out;
    // 500 more within a minute: counted, not logged, and the source is never formatted.
    out = logged([&] {
        for (int i = 0; i < 500; ++i) d.note(Drop::auth_failed, 1000 + i * 100, source);
    });
    EXPECT_EQ(out, "");
    EXPECT_EQ(asked, 1);
    // Another reason has its own line at once.
    out = logged([&] { d.note(Drop::no_keys, 2000, source); });
    EXPECT_NE(out.find("no_keys from"), std::string::npos) << out;
    // A minute after the first line: one line with the count of the silent ones.
    out = logged([&] { d.note(Drop::auth_failed, 61000, source); });
    EXPECT_EQ(lines(out), 1);
    EXPECT_NE(out.find("; 500 more since the last such line"), std::string::npos) << out;
    out = logged([&] { d.note(Drop::auth_failed, 62000, source); });
    EXPECT_EQ(out, "");
    EXPECT_EQ(asked, 3);
}
