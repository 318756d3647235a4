// A container's state.json: parse_state, then what the verbs do with the
// result: the OCI state document, the cgroup record, the stored config
// parsed as a spec; and save_state's document read back gives the same
// state.
#include <cstdint>

#include "libutil/oci/spec.hpp"
#include "runtime/container/state.hpp"
#include "runtime/linux/cgroups.hpp"
#include "tests/fuzz/common.hpp"

using namespace berth;
using runtime::ContainerState;
using runtime::Status;

namespace {

constexpr const char* kDir = "/run/berth-runtime/fuzz";

bool same(const ContainerState& a, const ContainerState& b) {
    return a.id == b.id && a.bundle == b.bundle && a.rootfs == b.rootfs && a.pid == b.pid &&
           a.start_time == b.start_time && a.created == b.created && a.own_pid_ns == b.own_pid_ns &&
           json::write(a.cgroup) == json::write(b.cgroup) && json::write(a.config) == json::write(b.config) &&
           a.dir == b.dir;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    fuzz::quiet_logs();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto st = runtime::parse_state(fuzz::text_of(data, size), kDir);
    if (!st) {
        FUZZ_REQUIRE(st.error().message == std::string(kDir) + "/state.json: corrupt state file",
                     st.error().message);
        return 0;
    }
    FUZZ_REQUIRE(st->dir == kDir, st->dir);
    (void)runtime::validate_id(st->id);

    // What `state`, `list` and the hooks print.
    for (Status s : {Status::Creating, Status::Created, Status::Running, Status::Paused, Status::Stopped}) {
        auto doc = runtime::oci_state(*st, s);
        fuzz::check_json_round_trip(doc);
    }

    // save_state then load_state gives the same state back.
    auto saved = json::write(runtime::state_json(*st));
    auto again = runtime::parse_state(saved, kDir);
    FUZZ_REQUIRE(again.has_value(), saved);
    FUZZ_REQUIRE(same(*st, *again), saved);

    // The cgroup record, as delete/pause/ps read it.
    auto cg = runtime::Cgroup::from_json(st->cgroup);
    for (auto& d : cg.dirs()) {
        (void)d.has("memory");
        (void)d.has("cpu");
    }
    auto cg2 = runtime::Cgroup::from_json(cg.to_json());
    FUZZ_REQUIRE(json::write(cg2.to_json()) == json::write(cg.to_json()), json::write(cg.to_json()));

    // exec, start and delete parse the stored config.
    auto spec = oci::parse_spec(st->config);
    if (!spec) FUZZ_REQUIRE(spec.error().message.starts_with("config.json: "), spec.error().message);
    return 0;
}
