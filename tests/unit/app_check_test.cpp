// Tests of check_config: what `run` refuses (a private key as cert, a key of another certificate)
// check refuses too; certificates that expire soon or lack remote-cert-tls usages are warned about.
#include <gtest/gtest.h>

#include <ctime>
#include <sstream>
#include <string>

#include "app/check.hpp"
#include "test_pki.hpp"

using namespace wirebridge;
namespace tp = wirebridge::testpki;

namespace {

struct Checked {
    int rc;
    std::string out, err;
};

class CheckTest : public ::testing::Test {
protected:
    void SetUp() override {
        pki_ = tp::make_pki();
        files_ = tp::write_pki(dir_, pki_);
    }
    // A site config with `cert` and `key` as given.
    Checked check(const std::string& cert, const std::string& key) {
        const std::string file = dir_.write("site.yaml", "site: s\n"
                                                         "tunnel:\n"
                                                         "  role: client\n"
                                                         "  remote: [192.0.2.1:1194]\n"
                                                         "  ca: " + files_.ca + "\n"
                                                         "  cert: " + cert + "\n"
                                                         "  key: " + key + "\n");
        std::ostringstream out, err;
        const int rc = app::check_config(file, out, err, ::time(nullptr));
        return {rc, out.str(), err.str()};
    }

    tp::TempDir dir_;
    tp::Pki pki_;
    tp::PkiFiles files_;
};

}  // namespace

TEST_F(CheckTest, GoodSiteIsOkWithoutWarnings) {
    auto c = check(files_.client_cert, files_.client_key);
    EXPECT_EQ(c.rc, 0) << c.err;
    EXPECT_NE(c.out.find(": OK: site s"), std::string::npos);
    EXPECT_EQ(c.err, "");
}

TEST_F(CheckTest, PrivateKeyGivenAsCertIsRefused) {
    auto c = check(files_.client_key, files_.client_key);
    EXPECT_EQ(c.rc, 1);
    EXPECT_EQ(c.out, "");
    EXPECT_NE(c.err.find(files_.client_key + ": no PEM certificate found"), std::string::npos) << c.err;
}

TEST_F(CheckTest, KeyOfAnotherCertificateIsRefused) {
    auto c = check(files_.client_cert, files_.server_key);
    EXPECT_EQ(c.rc, 1);
    EXPECT_NE(c.err.find(files_.server_key), std::string::npos) << c.err;
    EXPECT_NE(c.err.find("1 error"), std::string::npos) << c.err;
}

TEST_F(CheckTest, CertificateExpiringWithin30DaysIsWarned) {
    tp::CertOptions o("client", tp::Usage::Client);
    o.not_after = 10L * 86400 + 3600;
    const auto soon = tp::make_cert(pki_.ca, o);
    auto c = check(dir_.write("soon.crt", soon.cert_pem), dir_.write("soon.key", soon.key_pem));
    EXPECT_EQ(c.rc, 0) << c.err;
    EXPECT_NE(c.err.find("warning: " + dir_.file("soon.crt") + ": certificate 'client' expires in 10 day(s)"),
              std::string::npos) << c.err;

    o.not_after = 40L * 86400;  // outside the 30 days: nothing to say
    const auto later = tp::make_cert(pki_.ca, o);
    c = check(dir_.write("later.crt", later.cert_pem), dir_.write("later.key", later.key_pem));
    EXPECT_EQ(c.rc, 0);
    EXPECT_EQ(c.err, "");
}

TEST_F(CheckTest, CertificateWithoutTheUsagesThePeerChecksIsWarned) {
    // A server certificate on a site: the hub (remote-cert-tls client) refuses it.
    auto c = check(files_.server_cert, files_.server_key);
    EXPECT_EQ(c.rc, 0);
    EXPECT_NE(c.err.find("lacks the TLS Web Client Authentication (clientAuth) extended key usage"), std::string::npos)
        << c.err;
    tp::CertOptions o("client", tp::Usage::Client);
    o.key_usage = false;
    const auto no_ku = tp::make_cert(pki_.ca, o);
    c = check(dir_.write("noku.crt", no_ku.cert_pem), dir_.write("noku.key", no_ku.key_pem));
    EXPECT_EQ(c.rc, 0);
    EXPECT_NE(c.err.find("no key usage extension"), std::string::npos) << c.err;
    EXPECT_EQ(c.err.find("extended key usage"), std::string::npos) << c.err;
}
