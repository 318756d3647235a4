#include <cstdio>

#include "runtime/cli/commands.hpp"
#include "runtime/container/state.hpp"

namespace berth::runtime {

int cmd_state(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {});
    if (!a) return fail(a.error());
    auto id = one_id(*a, "state");
    if (!id) return fail(id.error());
    auto st = load_state(g.root, *id);
    if (!st) return fail(st.error());
    std::string out = json::write(runc_state(*st, container_status(*st)), true);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fputc('\n', stdout);
    return 0;
}

}  // namespace berth::runtime
