// berth create/run's option parser and the container record: the input is
// either a NUL-separated argument list (parse_run_options), or, when it
// starts with '{', a record (run_options_from_json). Whatever parses must
// survive the JSON round trip unchanged.
#include <cstdint>
#include <string>
#include <vector>

#include "manager/containers/run_options.hpp"
#include "tests/fuzz/common.hpp"

using namespace berth;
using namespace berth::manager;

namespace {

void round_trip(const RunOptions& o) {
    std::string text = json::write(to_json(o));
    auto doc = json::parse(text);
    FUZZ_REQUIRE(doc, text);
    auto back = run_options_from_json(*doc);
    FUZZ_REQUIRE(back, text);
    FUZZ_REQUIRE(*back == o, text);
    FUZZ_REQUIRE(json::write(to_json(*back)) == text, text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string input(reinterpret_cast<const char*>(data), size);
    if (!input.empty() && input[0] == '{') {
        auto doc = json::parse(input);
        if (!doc) return 0;
        if (auto o = run_options_from_json(*doc)) round_trip(*o);
        return 0;
    }
    std::vector<std::string> words{"run"};
    size_t start = 0;
    for (size_t i = 0; i <= input.size(); ++i)
        if (i == input.size() || input[i] == '\0') {
            words.push_back(input.substr(start, i - start));
            start = i + 1;
        }
    // Flags that read files (--env-file, --label-file, seccomp=FILE) would
    // read whatever the fuzzer names, /dev/zero included.
    for (const auto& w : words)
        if (w.find("file") != std::string::npos || w.find("seccomp") != std::string::npos) return 0;
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    std::vector<std::string> notes;
    auto o = parse_run_options(static_cast<int>(argv.size()), argv.data(), 1, &notes);
    if (!o) {
        fuzz::note(o.error().what());
        return 0;
    }
    round_trip(*o);
    return 0;
}
