#include <signal.h>

#include "libutil/signals.hpp"
#include "runtime/cli/commands.hpp"
#include "runtime/container/launch.hpp"

namespace berth::runtime {

int cmd_kill(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"all", "a", false}});
    if (!a) return fail(a.error());
    if (a->positional.empty() || a->positional.size() > 2)
        return fail({0, "\"kill\" requires a minimum of 1 and a maximum of 2 arguments: ID [SIGNAL]"});
    int sig = SIGTERM;
    if (a->positional.size() == 2) {
        auto s = parse_signal(a->positional[1]);
        if (!s) return fail(s.error());
        sig = *s;
    }
    auto st = load_state(g.root, a->positional[0]);
    if (!st) return fail(st.error());
    if (auto r = kill_container(*st, sig, a->has("all")); !r) return fail(r.error());
    return 0;
}

}  // namespace berth::runtime
