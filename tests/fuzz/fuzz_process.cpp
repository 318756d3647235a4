// `exec --process FILE`: the process.json parser (oci::parse_process), then
// the checks exec makes of the process before it enters the container.
#include <cstdint>

#include "libutil/oci/spec.hpp"
#include "runtime/linux/process.hpp"
#include "tests/fuzz/common.hpp"

using namespace berth;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    fuzz::quiet_logs();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto p = oci::parse_process(fuzz::text_of(data, size), "process.json");
    if (!p) {
        FUZZ_REQUIRE(p.error().message.starts_with("process.json: "), p.error().message);
        return 0;
    }
    FUZZ_REQUIRE(!p->args.empty(), "parsed a process without args");
    FUZZ_REQUIRE(p->cwd.starts_with('/'), p->cwd);
    oci::Spec spec;
    spec.oci_version = oci::kSpecVersion;
    (void)runtime::validate_process(*p, spec);
    return 0;
}
