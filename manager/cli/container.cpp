// The container verbs: run, create, start, stop, kill, restart, pause,
// unpause, rm, wait, logs, attach, exec, and `container cleanup` (the shim's
// exit command). ps and inspect are in ps.cpp.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "libutil/log.hpp"
#include "libutil/signals.hpp"
#include "libutil/strings.hpp"
#include "manager/cli/args.hpp"
#include "manager/cli/commands.hpp"
#include "manager/containers/attach.hpp"
#include "manager/containers/lifecycle.hpp"
#include "manager/containers/logs.hpp"
#include "manager/containers/process.hpp"
#include "manager/containers/run_options.hpp"
#include "manager/containers/spec.hpp"

namespace berth::manager {

namespace {

// docker's exit codes for a container that could not run its command.
constexpr int kExitNotExecutable = 126;
constexpr int kExitNotFound = 127;

int start_failure(const Error& e) {
    log::fatal(e.what());
    std::string m = e.what();
    for (auto& ch : m) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    bool exec_error = m.find("exec") != std::string::npos || m.find("executable") != std::string::npos;
    if (exec_error && (m.find("no such file") != std::string::npos || m.find("not found") != std::string::npos))
        return kExitNotFound;
    if (exec_error && m.find("permission denied") != std::string::npos) return kExitNotExecutable;
    return kExitError;
}

Result<std::unique_ptr<Engine>> open_engine(const GlobalOptions& g) {
    return Engine::open(g);
}

// Attaches to the started-but-not-running process, starts it, streams.
int run_attached(Engine& e, ContainerRecord& c, const RunOptions& o) {
    auto sock = connect_attach(e.paths.shim_dir(c.id));
    if (!sock) return fail(sock.error());
    if (auto r = start_process(e, c); !r) {
        (void)remove_container(e, c.id, true, true);
        return start_failure(r.error());
    }
    AttachOptions ao;
    ao.forward_stdin = o.interactive;
    ao.tty = o.tty;
    ao.proxy_signal = [&](int sig) { (void)runtime_command(e, c, {"kill", c.id, std::to_string(sig)}); };
    auto end = attach_stream(sock->get(), ao);
    if (!end) return fail(end.error());
    if (end->detached) return 0;
    int code = static_cast<int>(*end->exit_code);
    {
        auto held = ContainerLock::take(e.paths, c.id);
        if (held) {
            if (auto now = e.containers.get(c.id); now && *now) {
                (void)refresh(e, **now);
            }
        }
    }
    if (o.remove) {
        // The exit command removes it too; whoever comes second finds it gone.
        if (auto r = remove_container(e, c.id, false, true); !r && r.error().message.find("no such container") == std::string::npos)
            log::warn(r.error().what());
    }
    return code;
}

// -t/--time/--timeout SECONDS of stop and restart (-1: wait for ever).
Result<std::optional<int>> stop_timeout_flag(const Args& a) {
    std::optional<int> timeout;
    for (const char* f : {"time", "timeout"})
        if (a.values.count(f)) {
            auto n = parse_i64(a.get(f));
            if (!n || *n < -1 || *n > 1000000) return Err("invalid value \"", a.get(f), "\" for --", f, ": want seconds");
            timeout = static_cast<int>(*n);
        }
    return timeout;
}

// Runs `fn` on each named container; a name that is not a container, or a
// failure, is reported and the others still go. Prints each name done (docker's).
int each_container(Engine& e, const std::vector<std::string>& names,
                   const std::function<Result<void>(Engine&, ContainerRecord&)>& fn, bool print = true) {
    int rc = 0;
    for (const auto& n : names) {
        auto c = e.containers.find(n);
        Result<void> r = c ? fn(e, *c) : Result<void>(std::unexpected(c.error()));
        if (!r) {
            rc = fail(r.error());
            continue;
        }
        if (print) std::printf("%s\n", n.c_str());
    }
    return rc;
}

int each_container(const GlobalOptions& g, const std::vector<std::string>& names,
                   const std::function<Result<void>(Engine&, ContainerRecord&)>& fn, bool print = true) {
    auto e = open_engine(g);
    if (!e) return fail(e.error());
    return each_container(**e, names, fn, print);
}

}  // namespace

// parse_run_options, with its notes ("volume option z ignored ...") on stderr.
Result<RunOptions> run_options(int argc, char** argv, int start) {
    std::vector<std::string> notes;
    auto o = parse_run_options(argc, argv, start, &notes);
    for (const auto& n : notes) log::warn(n);
    return o;
}

int cmd_create(const GlobalOptions& g, int argc, char** argv, int start) {
    auto o = run_options(argc, argv, start);
    if (!o) return fail(o.error());
    auto e = open_engine(g);
    if (!e) return fail(e.error());
    auto c = create_container(**e, *o);
    if (!c) return fail(c.error());
    std::printf("%s\n", c->id.c_str());
    return 0;
}

int cmd_run(const GlobalOptions& g, int argc, char** argv, int start) {
    auto o = run_options(argc, argv, start);
    if (!o) return fail(o.error());
    auto e = open_engine(g);
    if (!e) return fail(e.error());
    auto c = create_container(**e, *o);
    if (!c) return fail(c.error());
    // Without -d the shim waits for `start` until berth has attached.
    Result<void> started;
    {
        auto held = ContainerLock::take((*e)->paths, c->id);
        if (!held) return fail(held.error());
        started = start_container(**e, *c, !o->detach);
    }  // released: rm takes it
    if (!started) {
        (void)remove_container(**e, c->id, true, true);
        return start_failure(started.error());
    }
    if (o->detach) {
        std::printf("%s\n", c->id.c_str());
        return 0;
    }
    return run_attached(**e, *c, *o);
}

int cmd_start(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"attach", 'a', false}, {"interactive", 'i', false}});
    if (!a) return fail(a.error());
    if (a->positional.empty()) return fail(Error{0, "start: at least one container is needed"});
    bool attach = a->has("attach");
    if (attach && a->positional.size() > 1) return fail(Error{0, "start: --attach takes one container"});
    auto e = open_engine(g);
    if (!e) return fail(e.error());
    int rc = 0;
    for (const auto& n : a->positional) {
        auto c = (*e)->containers.find(n);
        if (!c) {
            rc = fail(c.error());
            continue;
        }
        auto o = container_options(*c);
        if (!o) return fail(o.error());
        {
            auto held = ContainerLock::take((*e)->paths, c->id);
            if (!held) return fail(held.error());
            if (auto r = refresh(**e, *c); !r) return fail(r.error());
            if (c->state == "running" || c->state == "paused") {
                if (!attach) std::printf("%s\n", n.c_str());
                continue;
            }
            c->stop_requested = false;
            if (auto r = start_container(**e, *c, attach); !r) {
                rc = start_failure(r.error());
                continue;
            }
        }
        if (attach) {
            o->interactive = o->interactive && a->has("interactive");
            return run_attached(**e, *c, *o);
        }
        std::printf("%s\n", n.c_str());
    }
    return rc;
}

int cmd_stop(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"time", 't', true}, {"timeout", 0, true}});
    if (!a) return fail(a.error());
    auto timeout = stop_timeout_flag(*a);
    if (!timeout) return fail(timeout.error());
    if (a->positional.empty()) return fail(Error{0, "stop: at least one container is needed"});
    return each_container(g, a->positional,
                          [&](Engine& e, ContainerRecord& c) { return stop_container(e, c, *timeout); });
}

int cmd_restart(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"time", 't', true}, {"timeout", 0, true}});
    if (!a) return fail(a.error());
    auto timeout = stop_timeout_flag(*a);
    if (!timeout) return fail(timeout.error());
    if (a->positional.empty()) return fail(Error{0, "restart: at least one container is needed"});
    return each_container(g, a->positional, [&](Engine& e, ContainerRecord& c) -> Result<void> {
        TRY(stop_container(e, c, *timeout));
        auto held = TRY(ContainerLock::take(e.paths, c.id));
        auto now = TRY(e.containers.get(c.id));
        if (!now) return Err("no such container: ", c.id);
        TRY(refresh(e, *now));
        now->stop_requested = false;
        return start_container(e, *now, false);
    });
}

int cmd_kill(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"signal", 's', true}});
    if (!a) return fail(a.error());
    auto sig = parse_signal(a->get("signal", "KILL"));
    if (!sig) return fail(Error{0, cat("invalid value \"", a->get("signal"), "\" for --signal: ", sig.error().message)});
    if (a->positional.empty()) return fail(Error{0, "kill: at least one container is needed"});
    return each_container(g, a->positional, [&](Engine& e, ContainerRecord& c) { return kill_container(e, c, *sig); });
}

int cmd_pause(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {});
    if (!a) return fail(a.error());
    if (a->positional.empty()) return fail(Error{0, "pause: at least one container is needed"});
    return each_container(g, a->positional, [](Engine& e, ContainerRecord& c) { return pause_container(e, c, true); });
}

int cmd_unpause(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {});
    if (!a) return fail(a.error());
    if (a->positional.empty()) return fail(Error{0, "unpause: at least one container is needed"});
    return each_container(g, a->positional, [](Engine& e, ContainerRecord& c) { return pause_container(e, c, false); });
}

int cmd_rm(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"force", 'f', false}, {"volumes", 'v', false}, {"all", 'a', false}});
    if (!a) return fail(a.error());
    auto e = open_engine(g);
    if (!e) return fail(e.error());
    if (auto r = repair_containers(**e); !r) log::warn(r.error().what());
    std::vector<std::string> names = a->positional;
    if (a->has("all")) {
        auto all = (*e)->containers.list();
        if (!all) return fail(all.error());
        for (const auto& c : *all) names.push_back(c.id);
    }
    if (names.empty()) {
        if (a->has("all")) return 0;  // nothing to remove
        return fail(Error{0, "rm: at least one container is needed"});
    }
    return each_container(**e, names, [&](Engine& eng, ContainerRecord& c) {
        return remove_container(eng, c.id, a->has("force"), a->has("volumes"));
    });
}

int cmd_wait(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {});
    if (!a) return fail(a.error());
    if (a->positional.empty()) return fail(Error{0, "wait: at least one container is needed"});
    return each_container(
        g, a->positional,
        [](Engine& e, ContainerRecord& c) -> Result<void> {
            int64_t code = TRY(wait_container(e, c.id));
            std::printf("%lld\n", static_cast<long long>(code));
            return {};
        },
        false);
}

int cmd_logs(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start,
                        {{"follow", 'f', false}, {"timestamps", 't', false}, {"tail", 'n', true}, {"since", 0, true},
                         {"until", 0, true}});
    if (!a) return fail(a.error());
    if (a->positional.size() != 1) return fail(Error{0, "logs: exactly one container is needed"});
    LogOptions lo;
    lo.follow = a->has("follow");
    lo.timestamps = a->has("timestamps");
    if (a->values.count("tail") && a->get("tail") != "all") {
        auto n = parse_i64(a->get("tail"));
        if (!n || *n < 0) return fail(Error{0, cat("invalid value \"", a->get("tail"), "\" for --tail: want a number or \"all\"")});
        lo.tail = *n;
    }
    if (a->values.count("since")) {
        auto t = parse_log_time(a->get("since"), "--since");
        if (!t) return fail(t.error());
        lo.since = *t;
    }
    if (a->values.count("until")) {
        auto t = parse_log_time(a->get("until"), "--until");
        if (!t) return fail(t.error());
        lo.until = *t;
    }
    auto e = open_engine(g);
    if (!e) return fail(e.error());
    auto c = (*e)->containers.find(a->positional[0]);
    if (!c) return fail(c.error());
    Engine& eng = **e;
    std::string id = c->id;
    auto running = [&]() {
        auto now = eng.containers.get(id);
        if (!now || !*now) return false;
        if ((*now)->state != "running" && (*now)->state != "paused") return false;
        return ::access(eng.paths.exit_file(id).c_str(), F_OK) != 0;
    };
    if (auto r = print_logs(eng.paths.log(id), lo, running); !r) return fail(r.error());
    return 0;
}

int cmd_attach(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"no-stdin", 0, false}, {"detach-keys", 0, true}});
    if (!a) return fail(a.error());
    if (a->positional.size() != 1) return fail(Error{0, "attach: exactly one container is needed"});
    auto e = open_engine(g);
    if (!e) return fail(e.error());
    auto c = (*e)->containers.find(a->positional[0]);
    if (!c) return fail(c.error());
    if (auto r = refresh(**e, *c); !r) return fail(r.error());
    if (c->state != "running" && c->state != "paused")
        return fail(Error{0, cat("you cannot attach to a stopped container, start it first")});
    auto o = container_options(*c);
    if (!o) return fail(o.error());
    auto sock = connect_attach((*e)->paths.shim_dir(c->id));
    if (!sock) return fail(sock.error());
    AttachOptions ao;
    ao.forward_stdin = o->interactive && !a->has("no-stdin");
    ao.tty = o->tty;
    Engine& eng = **e;
    ContainerRecord rec = *c;
    ao.proxy_signal = [&](int sig) { (void)runtime_command(eng, rec, {"kill", rec.id, std::to_string(sig)}); };
    auto end = attach_stream(sock->get(), ao);
    if (!end) return fail(end.error());
    if (end->detached) return 0;
    return static_cast<int>(*end->exit_code);
}

int cmd_exec(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start,
                        {{"interactive", 'i', false}, {"tty", 't', false}, {"detach", 'd', false}, {"user", 'u', true},
                         {"env", 'e', true}, {"workdir", 'w', true}, {"privileged", 0, false}},
                        true);
    if (!a) return fail(a.error());
    if (a->positional.size() < 2) return fail(Error{0, "exec: a container and a command are needed"});
    auto e = open_engine(g);
    if (!e) return fail(e.error());
    auto c = (*e)->containers.find(a->positional[0]);
    if (!c) return fail(c.error());
    if (auto r = refresh(**e, *c); !r) return fail(r.error());
    if (c->state != "running") return fail(Error{0, cat("container ", c->name, " is not running")});
    auto o = container_options(*c);
    if (!o) return fail(o.error());
    auto rt = (*e)->runtime_path(o->runtime);
    if (!rt) return fail(rt.error());
    std::vector<std::string> args = {*rt, "--root", (*e)->paths.runtime_root(), "exec"};
    if (a->has("tty")) args.push_back("--tty");
    if (a->has("detach")) args.push_back("--detach");
    if (a->has("privileged")) args.push_back("--cap=ALL");
    if (a->values.count("user")) {
        auto merged = (*e)->storage.merged_dir(c->id);
        auto u = resolve_user(merged, a->get("user"));
        if (!u) return fail(u.error());
        args.insert(args.end(), {"--user", cat(u->uid, ":", u->gid)});
        for (uint32_t gid : u->additional_gids) args.insert(args.end(), {"--additional-gids", std::to_string(gid)});
    }
    for (const auto& env : a->get_all("env")) {
        if (env.find('=') == std::string::npos) {
            const char* v = std::getenv(env.c_str());
            if (!v) continue;
            args.insert(args.end(), {"--env", env + "=" + v});
        } else {
            args.insert(args.end(), {"--env", env});
        }
    }
    if (a->values.count("workdir")) args.insert(args.end(), {"--cwd", a->get("workdir")});
    args.push_back(c->id);
    args.insert(args.end(), a->positional.begin() + 1, a->positional.end());
    std::vector<char*> cargs;
    for (auto& s : args) cargs.push_back(s.data());
    cargs.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) return fail(Error{errno, "fork"});
    if (pid == 0) {
        // -d: the process outlives berth, and its output goes nowhere (docker's).
        int fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        if (fd >= 0 && a->has("detach"))
            for (int to : {0, 1, 2}) ::dup2(fd, to);
        else if (fd >= 0 && !a->has("interactive") && !a->has("tty"))
            ::dup2(fd, 0);
        ::execv(cargs[0], cargs.data());
        std::fprintf(stderr, "berth: exec %s: %s\n", cargs[0], std::strerror(errno));
        ::_exit(kExitError);
    }
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int cmd_container(const GlobalOptions& g, int argc, char** argv, int start) {
    if (start >= argc) return fail(Error{0, "container: a subcommand is needed (see berth --help)"});
    std::string sub = argv[start];
    struct Sub {
        const char* name;
        int (*fn)(const GlobalOptions&, int, char**, int);
    };
    static constexpr Sub kSubs[] = {
        {"run", cmd_run},         {"create", cmd_create}, {"start", cmd_start},     {"stop", cmd_stop},
        {"restart", cmd_restart}, {"kill", cmd_kill},     {"pause", cmd_pause},     {"unpause", cmd_unpause},
        {"rm", cmd_rm},           {"remove", cmd_rm},     {"wait", cmd_wait},       {"logs", cmd_logs},
        {"attach", cmd_attach},   {"exec", cmd_exec},     {"ps", cmd_ps},           {"ls", cmd_ps},
        {"list", cmd_ps},         {"inspect", cmd_container_inspect}, {"prune", cmd_container_prune},
        {"top", cmd_top},         {"cp", cmd_cp},         {"stats", cmd_stats},   {"rename", cmd_rename},   {"diff", cmd_diff},
        {"port", cmd_port},       {"checkpoint", cmd_checkpoint}, {"restore", cmd_restore},
        {"migrate", cmd_migrate},
    };
    for (const auto& s : kSubs)
        if (sub == s.name) return s.fn(g, argc, argv, start + 1);
    if (sub == "cleanup") {
        // The shim's exit command: no output, errors to the shim's log via stderr.
        if (start + 1 >= argc) return fail(Error{0, "container cleanup: a container id is needed"});
        auto e = open_engine(g);
        if (!e) return fail(e.error());
        if (auto r = cleanup_container(**e, argv[start + 1]); !r) return fail(r.error());
        return 0;
    }
    return fail(Error{0, cat("container: unknown subcommand \"", sub, "\"")});
}

}  // namespace berth::manager
