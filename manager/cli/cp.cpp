// berth cp [-a] [-L] CONTAINER:PATH DEST|-   and   berth cp [-a] [-L] SRC|- CONTAINER:PATH
#include <fcntl.h>

#include <cstdio>

#include "manager/cli/args.hpp"
#include "manager/cli/commands.hpp"
#include "manager/containers/copy.hpp"
#include "manager/containers/lifecycle.hpp"

namespace berth::manager {

namespace {

// "NAME:PATH" → {NAME, PATH}; a host path has no ':' before its first '/'.
std::optional<std::pair<std::string, std::string>> container_path(const std::string& arg) {
    auto colon = arg.find(':');
    if (colon == std::string::npos || colon == 0) return std::nullopt;
    auto slash = arg.find('/');
    if (slash != std::string::npos && slash < colon) return std::nullopt;
    return std::make_pair(arg.substr(0, colon), arg.substr(colon + 1));
}

Result<void> run_cp(const GlobalOptions& g, const Args& a) {
    if (a.positional.size() != 2) return Err("cp: a source and a destination are needed");
    auto from = container_path(a.positional[0]);
    auto to = container_path(a.positional[1]);
    if (bool(from) == bool(to)) return Err("cp: exactly one of the source and the destination must be CONTAINER:PATH");
    CopyOptions o;
    o.archive = a.has("archive");
    o.follow = a.has("follow-link");
    auto e = TRY(Engine::open(g));
    auto c = TRY(e->containers.find(from ? from->first : to->first));
    auto held = TRY(ContainerLock::take(e->paths, c.id));
    TRY(refresh(*e, c));
    // A running container: its own view, volumes included. Else its rootfs.
    UniqueFd root;
    bool mounted_here = false;
    if ((c.state == "running" || c.state == "paused") && c.pid > 0) {
        root = UniqueFd(::open(cat("/proc/", c.pid, "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!root) return ErrnoErr("open the root of container ", c.name);
    } else {
        std::string merged = TRY(e->storage.mount(c.id));
        mounted_here = true;
        root = UniqueFd(::open(merged.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!root) return ErrnoErr("open ", merged);
    }
    auto r = from ? copy_out(root.get(), from->second, a.positional[1], o)
                  : copy_in(a.positional[0], root.get(), to->second, o);
    root.reset();
    if (mounted_here) TRY(e->storage.unmount(c.id, false));
    return r;
}

}  // namespace

int cmd_cp(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"archive", 'a', false}, {"follow-link", 'L', false}, {"quiet", 'q', false}});
    if (!a) return fail(a.error());
    if (auto r = run_cp(g, *a); !r) return fail(r.error());
    return 0;
}

}  // namespace berth::manager
