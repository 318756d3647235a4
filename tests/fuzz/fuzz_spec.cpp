// config.json: parse_spec, then what `create` does with a parsed spec before
// it makes anything: validate_spec, the seccomp filter (compiled, not
// loaded) and the cgroup2 device filter program.
#include <cstdint>

#include "libutil/oci/spec.hpp"
#include "runtime/container/validate.hpp"
#include "runtime/linux/cgroup_resources.hpp"
#include "runtime/linux/device_filter.hpp"
#include "runtime/linux/seccomp.hpp"
#include "tests/fuzz/common.hpp"

using namespace berth;

namespace {
std::string g_bundle;  // a bundle dir with an empty rootfs/
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    fuzz::quiet_logs();
    g_bundle = fuzz::temp_dir("spec");
    std::filesystem::create_directory(g_bundle + "/rootfs");
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text = fuzz::text_of(data, size);
    if (auto doc = json::parse(text)) fuzz::check_json_round_trip(*doc);

    auto spec = oci::parse_spec(text, "config.json");
    if (!spec) {
        fuzz::note(spec.error().message);
        FUZZ_REQUIRE(spec.error().message.starts_with("config.json: "), spec.error().message);
        return 0;
    }
    auto rootfs = runtime::validate_spec(*spec, g_bundle);
    if (!rootfs) {
        fuzz::note(rootfs.error().message);
        FUZZ_REQUIRE(rootfs.error().message.starts_with("config.json: "), rootfs.error().message);
        return 0;
    }
    FUZZ_REQUIRE(rootfs->starts_with('/'), *rootfs);
    FUZZ_REQUIRE(spec->process.has_value(), "validated without a process");

    auto filter = runtime::compile_seccomp(*spec);
    if (!filter) {
        fuzz::note(filter.error().message);
        FUZZ_REQUIRE(!filter.error().message.empty(), "empty seccomp error");
    }

    if (spec->linux && spec->linux->resources) {
        const auto& res = *spec->linux->resources;
        (void)runtime::v2_controllers_needed(res);
        auto prog = runtime::device_filter_program(res.devices);
        if (prog) FUZZ_REQUIRE(!prog->empty(), "empty device filter program");
    }
    return 0;
}
