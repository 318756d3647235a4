// Helpers shared by the libFuzzer targets (tests/fuzz/fuzz_*.cpp).
#pragma once
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "libutil/json.hpp"
#include "libutil/log.hpp"

namespace berth::fuzz {

// A broken invariant: report it and abort, so libFuzzer keeps the input.
[[noreturn]] inline void fail(const char* what, std::string_view detail = {}) {
    std::fprintf(stderr, "fuzz invariant broken: %s\n%.*s\n", what, static_cast<int>(detail.size()),
                 detail.data());
    std::abort();
}
#define FUZZ_REQUIRE(cond, detail)                      \
    do {                                                \
        if (!(cond)) ::berth::fuzz::fail(#cond, detail); \
    } while (0)

// BERTH_FUZZ_VERBOSE=1: print why an input stopped (to check what a seed reaches).
inline void note(std::string_view what) {
    static const bool verbose = std::getenv("BERTH_FUZZ_VERBOSE") != nullptr;
    if (verbose) std::fprintf(stderr, "fuzz: %.*s\n", static_cast<int>(what.size()), what.data());
}

inline std::string_view text_of(const uint8_t* data, size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// Warnings (unknown capabilities...) would flood stderr and slow the run.
inline void quiet_logs() {
    log::Config c;
    c.program = "berth-fuzz";
    c.path = "/dev/null";
    log::configure(c);
}

// A scratch directory of a target: $BERTH_FUZZ_TMPDIR/berth-fuzz-NAME
// (build-and-run points it into a directory it removes), else
// /tmp/berth-fuzz-NAME. A fixed name, made again when missing and never
// removed by the fuzzer: libFuzzer often ends with _Exit, past atexit, so
// unique names would pile up.
inline std::string temp_dir(const char* name) {
    const char* base = std::getenv("BERTH_FUZZ_TMPDIR");
    std::string dir = std::string(base && *base ? base : "/tmp") + "/berth-fuzz-" + name;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
        std::fprintf(stderr, "create %s: %s\n", dir.c_str(), ec.message().c_str());
        std::exit(1);
    }
    return dir;
}

// Serialising and parsing back is stable: write(parse(write(v))) == write(v),
// compact and pretty.
inline void check_json_round_trip(const json::Value& v) {
    std::string once = json::write(v);
    auto back = json::parse(once);
    FUZZ_REQUIRE(back.has_value(), once);
    FUZZ_REQUIRE(json::write(*back) == once, once);
    auto pretty = json::parse(json::write(v, true));
    FUZZ_REQUIRE(pretty.has_value(), json::write(v, true));
    FUZZ_REQUIRE(json::write(*pretty) == once, once);
}

}  // namespace berth::fuzz
