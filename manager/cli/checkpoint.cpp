// berth checkpoint, restore and migrate (also under `berth container`).
#include <unistd.h>

#include <cstdio>

#include "libutil/strings.hpp"
#include "manager/cli/args.hpp"
#include "manager/cli/commands.hpp"
#include "manager/containers/checkpoint.hpp"

namespace berth::manager {

namespace {

// FILE as given, made absolute (tar and a second berth run elsewhere).
std::string absolute_path(const std::string& p) {
    if (p.empty() || p[0] == '/') return p;
    char cwd[4096];
    if (!::getcwd(cwd, sizeof cwd)) return p;
    return std::string(cwd) + "/" + p;
}

}  // namespace

int cmd_checkpoint(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start,
                        {{"leave-running", 'R', false},
                         {"tcp-established", 0, false},
                         {"export", 'e', true},
                         {"ignore-volumes", 0, false},
                         {"keep", 'k', false}});
    if (!a) return fail(a.error());
    if (a->positional.empty()) return fail(Error{0, "checkpoint: at least one container is needed"});
    CheckpointOptions o;
    o.leave_running = a->has("leave-running");
    o.tcp_established = a->has("tcp-established");
    o.keep = a->has("keep");
    o.ignore_volumes = a->has("ignore-volumes");
    o.export_path = absolute_path(a->get("export"));
    if (a->values.count("export") && o.export_path.empty()) return fail(Error{0, "--export: a file name is needed"});
    if (o.ignore_volumes && o.export_path.empty()) return fail(Error{0, "--ignore-volumes: only with --export"});
    if (!o.export_path.empty() && a->positional.size() > 1)
        return fail(Error{0, "--export: one container at a time"});
    auto e = Engine::open(g);
    if (!e) return fail(e.error());
    int rc = 0;
    for (const auto& n : a->positional) {
        auto c = (*e)->containers.find(n);
        Result<void> r = c ? checkpoint_container(**e, *c, o) : Result<void>(std::unexpected(c.error()));
        if (!r) {
            rc = fail(r.error());
            continue;
        }
        std::printf("%s\n", c->id.c_str());
    }
    return rc;
}

int cmd_restore(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start,
                        {{"import", 'i', true},
                         {"name", 'n', true},
                         {"tcp-established", 0, false},
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
    o.keep = a->has("keep");
    if (o.import_path.empty() && a->positional.size() != 1)
        return fail(Error{0, "restore: one container is needed (or --import FILE)"});
    if (!o.import_path.empty() && !a->positional.empty())
        return fail(Error{0, "restore: --import takes no container"});
    auto e = Engine::open(g);
    if (!e) return fail(e.error());
    auto c = restore_container(**e, o.import_path.empty() ? a->positional[0] : "", o);
    if (!c) return fail(c.error());
    std::printf("%s\n", c->id.c_str());
    return 0;
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
