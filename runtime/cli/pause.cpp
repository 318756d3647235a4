#include "runtime/cli/commands.hpp"
#include "runtime/container/state.hpp"

namespace berth::runtime {

namespace {
int freeze_cmd(const GlobalOptions& g, int argc, char** argv, int start, bool pause) {
    const char* verb = pause ? "pause" : "resume";
    auto a = parse_args(argc, argv, start, {});
    if (!a) return fail(a.error());
    auto id = one_id(*a, verb);
    if (!id) return fail(id.error());
    auto st = load_state(g.root, *id);
    if (!st) return fail(st.error());
    Status s = container_status(*st);
    if (pause && s != Status::Running && s != Status::Created) return fail({0, "container not running"});
    if (!pause && s != Status::Paused) return fail({0, "container not paused"});
    if (auto r = Cgroup::from_json(st->cgroup).freeze(pause); !r) return fail(r.error());
    return 0;
}
}  // namespace

int cmd_pause(const GlobalOptions& g, int argc, char** argv, int start) {
    return freeze_cmd(g, argc, argv, start, true);
}

int cmd_resume(const GlobalOptions& g, int argc, char** argv, int start) {
    return freeze_cmd(g, argc, argv, start, false);
}

}  // namespace berth::runtime
