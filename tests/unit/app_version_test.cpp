// Tests of version_text: the first line scripts read, the OpenSSL line, the module as /sys shows it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "app/version.hpp"
#include "test_pki.hpp"

using namespace wirebridge;

TEST(Version, FirstLineOpenSslAndModule) {
    testpki::TempDir sys;
    std::string v = app::version_text(sys.path());
    EXPECT_EQ(v.rfind("wirebridge ", 0), 0u) << v;
    EXPECT_NE(v.find("\ncommit "), std::string::npos) << v;
    EXPECT_NE(v.find("\nOpenSSL 3."), std::string::npos) << v;
    EXPECT_NE(v.find("xt_GWMARK not loaded"), std::string::npos) << v;

    std::filesystem::create_directories(sys.file("xt_GWMARK"));
    std::ofstream(sys.file("xt_GWMARK/srcversion")) << "ABCDEF0123456789\n";
    EXPECT_NE(app::version_text(sys.path()).find("xt_GWMARK loaded (srcversion ABCDEF0123456789)"), std::string::npos);
    std::ofstream(sys.file("xt_GWMARK/version")) << "0.1.0\n";
    EXPECT_NE(app::version_text(sys.path()).find("xt_GWMARK 0.1.0 loaded"), std::string::npos);
}
