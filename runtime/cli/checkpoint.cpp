#include "runtime/container/checkpoint.hpp"

#include "runtime/cli/commands.hpp"
#include "runtime/container/launch.hpp"

namespace berth::runtime {

// checkpoint: the container's processes into CRIU images (runc's flags).
int cmd_checkpoint(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, criu_flags(false));
    if (!a) return fail(a.error());
    auto id = one_id(*a, "checkpoint");
    if (!id) return fail(id.error());
    auto o = criu_options(*a);
    if (!o) return fail(o.error());
    auto st = load_state(g.root, *id);
    if (!st) return fail(st.error());
    if (auto r = checkpoint_container(g, *st, *o); !r) return fail(Wrap(r.error(), "checkpoint ", *id).error());
    return 0;
}

// restore: a container from CRIU images and its bundle; in the foreground
// (waits and returns its exit code, then deletes it) unless --detach.
int cmd_restore(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, criu_flags(true));
    if (!a) return fail(a.error());
    RestoreOptions o;
    auto id = one_id(*a, "restore");
    if (!id) return fail(id.error());
    o.id = *id;
    auto co = criu_options(*a);
    if (!co) return fail(co.error());
    o.criu = std::move(*co);
    o.bundle = a->get("bundle");
    o.console_socket = a->get("console-socket");
    o.pid_file = a->get("pid-file");
    o.detach = a->has("detach");
    o.no_pivot = a->has("no-pivot");
    // Signals blocked before the container exists so none is lost.
    int sigfd = o.detach ? -1 : block_signals_fd();
    auto r = restore_container(g, o);
    if (!r) return fail(Wrap(r.error(), "restore ", *id).error());
    if (o.detach) return 0;
    int code = foreground(r->state.pid, r->pidfd.get(), sigfd, -1);
    if (auto d = delete_container(r->state, true); !d) return fail(d.error());
    return code;
}

}  // namespace berth::runtime
