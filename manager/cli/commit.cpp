// `berth commit [-c INSTR=VALUE]... [-m MSG] [-a AUTHOR] [-q] [--pause[=false]] CONTAINER|ROOTFS [IMAGE]`
// A container runs on the rootfs with its id: its name or id (prefix) is
// looked up first, then a rootfs id (or prefix) from `berth rootfs create`.
// A running container is paused while its upper dir is read (docker's
// default; --pause=false leaves it running).
#include "manager/images/commit.hpp"

#include <cstdio>

#include "manager/cli/args.hpp"
#include "manager/cli/commands.hpp"
#include "manager/containers/lifecycle.hpp"

namespace berth::manager {

namespace {

// The rootfs an id or a unique id prefix names.
Result<RootfsRecord> find_rootfs(RootfsStore& s, const std::string& arg) {
    if (auto r = TRY(s.get(arg))) return *r;
    std::optional<RootfsRecord> found;
    if (arg.size() >= 3)
        for (const auto& r : TRY(s.list())) {
            if (!r.id.starts_with(arg)) continue;
            if (found) return Err("rootfs ", arg, ": ambiguous id prefix");
            found = r;
        }
    if (!found) return Err("rootfs ", arg, ": not known");
    return *found;
}

Result<std::string> run(const GlobalOptions& g, const Args& a) {
    if (a.positional.empty() || a.positional.size() > 2)
        return Err("commit: a CONTAINER (or ROOTFS id) and an optional IMAGE name are required");
    CommitOptions opts;
    opts.changes = a.get_all("change");
    opts.message = a.get("message");
    opts.author = a.get("author");
    if (a.positional.size() == 2) opts.names.push_back(TRY(parse_reference(a.positional[1], g.refs)).str());
    auto e = TRY(Engine::open(g));
    if (auto c = e->containers.find(a.positional[0])) {
        auto base = TRY(e->db().get(c->image_id));
        if (!base) return Err("container ", c->name, ": image ", c->image_id, " not known");
        bool pause = a.get("pause", "true") != "false";
        bool paused = false;
        if (pause) {
            auto held = TRY(ContainerLock::take(e->paths, c->id));
            TRY(refresh(*e, *c));
            if (c->state == "running") {
                TRY(runtime_command(*e, *c, {"pause", c->id}));
                paused = true;
            }
        }
        auto id = commit_rootfs(g.root, e->storage.upper_dir(c->id), *base, opts);
        if (paused) {
            auto held = TRY(ContainerLock::take(e->paths, c->id));
            TRY(runtime_command(*e, *c, {"resume", c->id}));
        }
        return id;
    }
    // The rootfs store's lock is released again before commit takes the store's lock shared.
    auto s = TRY(open_storage(g));
    RootfsRecord rootfs = TRY(find_rootfs(s, a.positional[0]));
    auto base = TRY(s.images().get(rootfs.image_id));
    if (!base) return Err("rootfs ", rootfs.id, ": image ", rootfs.image_id, " not known");
    return commit_rootfs(g.root, s.upper_dir(rootfs.id), *base, opts);
}

}  // namespace

int cmd_commit(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start,
                        {{"change", 'c', true},
                         {"message", 'm', true},
                         {"author", 'a', true},
                         {"quiet", 'q', false},
                         {"pause", 'p', false}});
    if (!a) return fail(a.error());
    auto id = run(g, *a);
    if (!id) return fail(id.error());
    std::printf("%s\n", id->substr(7).c_str());
    return 0;
}

}  // namespace berth::manager
