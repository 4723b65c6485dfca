// Parsing and writing OpenVPN static key files, and selecting keys by direction.
#include "crypto/static_key.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "crypto/random.hpp"

namespace wirebridge::crypto {

namespace {

constexpr std::string_view kHead = "-----BEGIN OpenVPN Static key V1-----";
constexpr std::string_view kFoot = "-----END OpenVPN Static key V1-----";

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

std::string describe_char(char c) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x21 && u < 0x7f) return std::string("'") + c + "'";
    static const char* digits = "0123456789abcdef";
    return std::string("byte 0x") + digits[u >> 4] + digits[u & 15];
}

}  // namespace

std::optional<KeyDirection> parse_key_direction(std::string_view s) {
    s = trim(s);
    if (s == "0") return KeyDirection::Normal;
    if (s == "1") return KeyDirection::Inverse;
    if (s.empty() || s == "none" || s == "bidirectional") return KeyDirection::Bidirectional;
    return std::nullopt;
}

StaticKey StaticKey::generate() {
    StaticKey k;
    if (!random_bytes(k.bytes_.span())) std::abort();
    return k;
}

KeyHalf StaticKey::key(std::size_t index) const {
    const uint8_t* base = bytes_.data() + (index ? 128 : 0);
    return KeyHalf{std::span<const uint8_t, kKeyHalfSize>(base, kKeyHalfSize),
                   std::span<const uint8_t, kKeyHalfSize>(base + kKeyHalfSize, kKeyHalfSize)};
}

KeyPair select_keys(const StaticKey& k, KeyDirection d) {
    switch (d) {
    case KeyDirection::Normal: return KeyPair{k.key(0), k.key(1)};
    case KeyDirection::Inverse: return KeyPair{k.key(1), k.key(0)};
    case KeyDirection::Bidirectional: break;
    }
    return KeyPair{k.key(0), k.key(0)};
}

Result<StaticKey> parse_static_key(std::string_view text, std::string_view source) {
    enum class State { BeforeHead, Data, Done } state = State::BeforeHead;
    StaticKey key;
    std::size_t count = 0;   // bytes decoded
    int pending = -1;        // first nibble of a byte split by white space, or -1
    std::size_t line_no = 0;
    std::string where(source);

    auto error = [&](std::size_t line, const std::string& what) {
        secure_wipe(key.bytes().data(), kStaticKeySize);
        return fail(where + ":" + std::to_string(line) + ": " + what);
    };

    std::size_t pos = 0;
    while (pos < text.size() && state != State::Done) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        ++line_no;
        std::string_view t = trim(line);

        if (state == State::BeforeHead) {
            if (t == kHead) state = State::Data;
            continue;
        }
        if (t.empty() || t.front() == '#') continue;
        if (t.front() == '-') {
            if (t != kFoot)
                return error(line_no, "expected \"" + std::string(kFoot) + "\", found \"" + std::string(t) + "\"");
            if (count != kStaticKeySize || pending >= 0)
                return error(line_no, "the key ends after " + std::to_string(count) + " bytes; a static key has " +
                                          std::to_string(kStaticKeySize));
            state = State::Done;
            continue;
        }
        for (std::size_t i = 0; i < line.size(); ++i) {
            char c = line[i];
            if (is_space(c)) continue;
            int v = hex_value(c);
            if (v < 0)
                return error(line_no, "column " + std::to_string(i + 1) + ": " + describe_char(c) +
                                          " is not a hex digit");
            if (count == kStaticKeySize)
                return error(line_no, "more than " + std::to_string(kStaticKeySize) + " bytes of key data");
            if (pending < 0) {
                pending = v;
            } else {
                key.bytes()[count++] = static_cast<uint8_t>(pending << 4 | v);
                pending = -1;
            }
        }
    }
    if (state == State::BeforeHead)
        return fail(where + ": no \"" + std::string(kHead) + "\" line: not an OpenVPN static key file");
    if (state != State::Done)
        return error(line_no, "no \"" + std::string(kFoot) + "\" line (" + std::to_string(count) + " of " +
                                  std::to_string(kStaticKeySize) + " bytes read)");
    return key;
}

Result<StaticKey> read_static_key_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail_errno("cannot open key file " + path);
    // Key files are small; a cap keeps a wrong path (a device, a huge file) from eating memory.
    constexpr std::size_t kMax = 64 * 1024;
    SecureBytes buf(kMax);
    std::size_t len = 0;
    for (;;) {
        ssize_t n = ::read(fd, buf.data() + len, kMax - len);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            ::close(fd);
            return fail_errno("cannot read key file " + path, e);
        }
        if (n == 0) break;
        len += static_cast<std::size_t>(n);
        if (len == kMax) {
            ::close(fd);
            return fail(path + ": too large for a static key file");
        }
    }
    ::close(fd);
    return parse_static_key(std::string_view(reinterpret_cast<const char*>(buf.data()), len), path);
}

std::string format_static_key(const StaticKey& k) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    out.reserve(700);
    out += "#\n# 2048 bit OpenVPN static key\n#\n";
    out += kHead;
    out += '\n';
    auto b = k.bytes();
    for (std::size_t i = 0; i < kStaticKeySize; ++i) {
        out += digits[b[i] >> 4];
        out += digits[b[i] & 15];
        if (i % 16 == 15) out += '\n';
    }
    out += kFoot;
    out += '\n';
    return out;
}

Result<void> write_static_key_file(const std::string& path, const StaticKey& k) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return fail_errno("cannot create key file " + path);
    std::string text = format_static_key(k);
    std::size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            secure_wipe(text.data(), text.size());
            ::close(fd);
            ::unlink(path.c_str());
            return fail_errno("cannot write key file " + path, e);
        }
        done += static_cast<std::size_t>(n);
    }
    secure_wipe(text.data(), text.size());
    int rc = ::fsync(fd);
    int e = errno;
    if (::close(fd) != 0 && rc == 0) {
        rc = -1;
        e = errno;
    }
    if (rc != 0) {
        ::unlink(path.c_str());
        return fail_errno("cannot write key file " + path, e);
    }
    return {};
}

}  // namespace wirebridge::crypto
