// berth checkpoint, restore and migrate (also under `berth container`).
#include <unistd.h>

#include <cstdio>

#include "libutil/strings.hpp"
#include "manager/cli/args.hpp"
#include "manager/cli/commands.hpp"
#include "manager/containers/checkpoint.hpp"
#include "manager/containers/lifecycle.hpp"

namespace berth::manager {

int cmd_checkpoint(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start,
                        {{"all", 'a', false},
                         {"leave-running", 'R', false},
                         {"tcp-established", 0, false},
                         {"file-locks", 0, false},
                         {"export", 'e', true},
                         {"ignore-volumes", 0, false},
                         {"pre-checkpoint", 'P', false},
                         {"with-previous", 0, false},
                         {"keep", 'k', false}});
    if (!a) return fail(a.error());
    CheckpointOptions o;
    o.pre_checkpoint = a->has("pre-checkpoint");
    o.with_previous = a->has("with-previous");
    o.leave_running = a->has("leave-running");
    o.tcp_established = a->has("tcp-established");
    o.file_locks = a->has("file-locks");
    o.keep = a->has("keep");
    o.ignore_volumes = a->has("ignore-volumes");
    o.export_path = absolute_path(a->get("export"));
    if (a->values.count("export") && o.export_path.empty()) return fail(Error{0, "--export: a file name is needed"});
    if (o.ignore_volumes && o.export_path.empty()) return fail(Error{0, "--ignore-volumes: only with --export"});
    if (o.pre_checkpoint && (o.with_previous || o.leave_running || !o.export_path.empty()))
        return fail(Error{0, "--pre-checkpoint: not with --with-previous, --leave-running or --export (the container runs on)"});
    bool all = a->has("all");
    if (all && !a->positional.empty()) return fail(Error{0, "checkpoint: --all takes no container"});
    if (!all && a->positional.empty()) return fail(Error{0, "checkpoint: at least one container is needed (or --all)"});
    if (!o.export_path.empty() && (all || a->positional.size() > 1))
        return fail(Error{0, "--export: one container at a time"});
    auto e = Engine::open(g);
    if (!e) return fail(e.error());
    // As podman: each container as it was named, or its id with --all.
    std::vector<std::string> names = a->positional;
    if (all) {
        auto list = (*e)->containers.list();
        if (!list) return fail(list.error());
        for (auto& c : *list) {
            if (auto lock = ContainerLock::try_take((*e)->paths, c.id); lock && *lock) (void)refresh(**e, c);
            if (c.state == "running" || c.state == "paused") names.push_back(c.id);
        }
    }
    int rc = 0;
    for (const auto& n : names) {
        auto c = (*e)->containers.find(n);
        Result<void> r = c ? checkpoint_container(**e, *c, o) : Result<void>(std::unexpected(c.error()));
        if (!r) {
            rc = fail(r.error());
            continue;
        }
        std::printf("%s\n", n.c_str());
    }
    return rc;
}

int cmd_restore(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start,
                        {{"all", 'a', false},
                         {"import", 'i', true},
                         {"name", 'n', true},
                         {"tcp-established", 0, false},
                         {"file-locks", 0, false},
                         {"ignore-static-ip", 0, false},
                         {"keep", 'k', false},
                         {"publish", 'p', true}});
    if (!a) return fail(a.error());
    RestoreOptions o;
    if (a->values.count("publish")) o.publish = a->get_all("publish");
    o.import_path = a->get("import");
    if (a->values.count("import") && o.import_path.empty())
        return fail(Error{0, "--import: a file name is needed (- for stdin)"});
    if (o.import_path != "-") o.import_path = absolute_path(o.import_path);
    o.name = a->get("name");
    o.tcp_established = a->has("tcp-established");
    o.file_locks = a->has("file-locks");
    o.ignore_static_ip = a->has("ignore-static-ip");
    o.keep = a->has("keep");
    bool all = a->has("all");
    if (all && (!o.import_path.empty() || !o.name.empty() || !a->positional.empty()))
        return fail(Error{0, "restore: --all takes no container, --import or --name"});
    if (!all && o.import_path.empty() && a->positional.empty())
        return fail(Error{0, "restore: at least one container is needed (or --import FILE, or --all)"});
    if (!o.import_path.empty() && !a->positional.empty())
        return fail(Error{0, "restore: --import takes no container"});
    if (!o.name.empty() && o.import_path.empty() && a->positional.size() > 1)
        return fail(Error{0, "restore: --name takes one container"});
    auto e = Engine::open(g);
    if (!e) return fail(e.error());
    if (!o.import_path.empty()) {
        auto c = restore_container(**e, "", o);
        if (!c) return fail(c.error());
        std::printf("%s\n", c->id.c_str());
        return 0;
    }
    // As podman: each container as it was named (a new one: its id), or its
    // id with --all (every container a checkpoint stopped).
    std::vector<std::string> names = a->positional;
    if (all) {
        auto list = (*e)->containers.list();
        if (!list) return fail(list.error());
        for (const auto& c : *list)
            if (c.state == "exited" && !checkpointed_at(**e, c.id).empty()) names.push_back(c.id);
    }
    int rc = 0;
    for (const auto& n : names) {
        auto c = restore_container(**e, n, o);
        if (!c) {
            rc = fail(c.error());
            continue;
        }
        std::printf("%s\n", o.name.empty() ? n.c_str() : c->id.c_str());
    }
    return rc;
}

int cmd_migrate(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"to", 0, true}, {"remote-berth", 0, true}, {"tcp-established", 0, false}});
    if (!a) return fail(a.error());
    if (a->positional.size() != 1) return fail(Error{0, "migrate: one container is needed"});
    MigrateOptions o;
    o.to = a->get("to");
    if (o.to.empty()) return fail(Error{0, "migrate: --to DIR or --to ssh://HOST is needed"});
    if (!o.to.starts_with("ssh://")) {
        if (o.to.find("://") != std::string::npos)
            return fail(Error{0, cat("--to ", o.to, ": only a directory or ssh://[USER@]HOST[:PORT][/ROOT]")});
        o.to = absolute_path(o.to);
    }
    o.remote_berth = a->get("remote-berth");
    if (!o.remote_berth.empty() && !o.to.starts_with("ssh://"))
        return fail(Error{0, "--remote-berth: only with --to ssh://HOST"});
    o.tcp_established = a->has("tcp-established");
    auto e = Engine::open(g);
    if (!e) return fail(e.error());
    auto c = (*e)->containers.find(a->positional[0]);
    if (!c) return fail(c.error());
    auto id = migrate_container(**e, *c, o);
    if (!id) return fail(id.error());
    std::printf("%s\n", id->c_str());
    return 0;
}

}  // namespace berth::manager
