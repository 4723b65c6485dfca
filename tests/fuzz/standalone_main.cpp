// Runs a libFuzzer target without libFuzzer (gcc builds): every file of the seed corpus, then a
// bounded number of deterministic mutations of them, so the sanitizer build exercises the parser.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

using Bytes = std::vector<uint8_t>;

Bytes read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// One of a few classic mutations: flip a bit, set a byte, truncate, duplicate a slice, splice.
void mutate(Bytes& b, const std::vector<Bytes>& seeds, std::mt19937_64& rng) {
    auto pick = [&](size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng() % n); };
    switch (rng() % 6) {
    case 0:
        if (!b.empty()) b[pick(b.size())] ^= static_cast<uint8_t>(1u << (rng() % 8));
        break;
    case 1:
        if (!b.empty()) b[pick(b.size())] = static_cast<uint8_t>(rng());
        break;
    case 2:
        b.resize(pick(b.size() + 1));
        break;
    case 3: {
        if (b.empty()) break;
        size_t at = pick(b.size()), len = 1 + pick(std::min<size_t>(b.size() - at, 64));
        Bytes slice(b.begin() + at, b.begin() + at + len);
        b.insert(b.begin() + pick(b.size() + 1), slice.begin(), slice.end());
        break;
    }
    case 4: {
        const Bytes& other = seeds[pick(seeds.size())];
        if (other.empty()) break;
        size_t at = pick(other.size());
        b.insert(b.end(), other.begin() + at, other.end());
        break;
    }
    default:
        b.push_back(static_cast<uint8_t>(rng()));
        break;
    }
    if (b.size() > 65536) b.resize(65536);
}

}  // namespace

int main(int argc, char** argv) {
    long runs = 10000;
    std::vector<Bytes> seeds;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            runs = std::strtol(argv[++i], nullptr, 10);
            continue;
        }
        std::filesystem::path p(argv[i]);
        if (std::filesystem::is_directory(p)) {
            for (const auto& e : std::filesystem::directory_iterator(p))
                if (e.is_regular_file()) seeds.push_back(read_file(e.path()));
        } else if (std::filesystem::is_regular_file(p)) {
            seeds.push_back(read_file(p));
        }
    }
    if (seeds.empty()) seeds.emplace_back();
    for (const Bytes& s : seeds) LLVMFuzzerTestOneInput(s.data(), s.size());

    std::mt19937_64 rng(0x77697265627269);  // fixed seed: a failure reproduces
    for (long i = 0; i < runs; ++i) {
        Bytes b = seeds[static_cast<size_t>(rng() % seeds.size())];
        for (int m = 1 + static_cast<int>(rng() % 4); m > 0; --m) mutate(b, seeds, rng);
        LLVMFuzzerTestOneInput(b.data(), b.size());
    }
    std::printf("%zu seeds, %ld mutated inputs: no crash\n", seeds.size(), runs);
    return 0;
}
