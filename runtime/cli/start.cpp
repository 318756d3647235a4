#include "runtime/cli/commands.hpp"
#include "runtime/container/launch.hpp"

namespace berth::runtime {

int cmd_start(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {});
    if (!a) return fail(a.error());
    auto id = one_id(*a, "start");
    if (!id) return fail(id.error());
    if (auto r = start_container(g, *id); !r) return fail(r.error());
    return 0;
}

}  // namespace berth::runtime
