#include <filesystem>

#include "runtime/cli/commands.hpp"
#include "runtime/container/launch.hpp"

namespace berth::runtime {

int cmd_delete(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"force", "f", false}});
    if (!a) return fail(a.error());
    auto id = one_id(*a, "delete");
    if (!id) return fail(id.error());
    bool force = a->has("force");
    auto st = load_state(g.root, *id);
    if (!st) {
        // An aborted create can leave a dir without state.json: --force
        // removes it, and a missing container is not an error with --force.
        if (force && validate_id(*id)) {
            std::error_code ec;
            std::filesystem::remove_all(state_dir(g.root, *id), ec);
            return 0;
        }
        return fail(st.error());
    }
    if (auto r = delete_container(*st, force); !r) return fail(r.error());
    return 0;
}

}  // namespace berth::runtime
