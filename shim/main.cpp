// berth-shim: the per-container monitor. Started by the manager (or by hand)
// for one container: it detaches, runs `RUNTIME create` (or `exec`), reports
// the container's pid or the runtime's error to its caller, and then outlives
// the caller: it copies the output to the log, serves the attach socket,
// reaps, and writes the exit file. See berth-shim(8) and shim/README.md.
#include <fcntl.h>
#include <getopt.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <csignal>
#include <cstring>

#include "libutil/json.hpp"
#include "libutil/log.hpp"
#include "libutil/strings.hpp"
#include "shim/exit_command.hpp"
#include "shim/monitor.hpp"
#include "shim/options.hpp"
#include "shim/protocol.hpp"
#include "shim/status.hpp"

using namespace berth;
using namespace berth::shim;

namespace {

constexpr const char* kUsage = R"(Usage: berth-shim --id ID --bundle DIR [options]
       berth-shim --id ID --exec --process FILE --exec-id EID [options]
       berth-shim status --run-dir DIR [--exit-file FILE]

Starts a detached monitor for one container: it runs RUNTIME create (or exec),
prints {"pid": N} once the container process exists (or the runtime's error
on stderr, exit status 1) and returns, while the monitor keeps the stdio,
writes the log and, when the process exits, the exit file.

Options:
  --id ID                 container id (required)
  --bundle DIR            OCI bundle (create mode)
  --runtime PATH          runc-compatible runtime (default: berth-runtime)
  --runtime-root DIR      passed to the runtime as --root
  --runtime-arg ARG       an extra global runtime flag (repeatable)
  --run-dir DIR           attach/ctl sockets and pid files (default: /run/berth/shim/ID)
  --log-path FILE         container log, CRI format (default: none)
  --log-size-max BYTES    rotate the log to FILE.1 above this size
  --exit-dir DIR          write the exit file as DIR/ID (DIR/ID.EID for exec)
  --exit-file FILE        write the exit file here instead
  --pid-file FILE         where the runtime writes the container pid
                          (default: RUN_DIR/container.pid)
  --terminal              give the container a pty (--console-socket)
  --stdin                 keep a stdin pipe open for attach clients
  --start                 run RUNTIME start after create
  --delete                run RUNTIME delete after the exit
  --detach-keys KEYS      default "ctrl-p,ctrl-q"; "" disables
  --exit-command PATH     run PATH once the exit file is written (and after
                          --delete); the shim waits for it, then exits
  --exit-command-arg ARG  an argument for the exit command (repeatable)
  --restore DIR           restore mode: RUNTIME restore --detach from the
                          checkpoint in DIR instead of create
  --restore-arg ARG       an extra flag for RUNTIME restore (repeatable)
  --exec                  exec mode: RUNTIME exec --detach --process FILE ID
  --process FILE          the process.json for exec mode
  --exec-id EID           names the exec session (exit file ID.EID)
  --help                  this text
)";

Result<Options> parse(int argc, char** argv) {
    enum {
        kId = 256, kBundle, kRuntime, kRuntimeRoot, kRuntimeArg, kRunDir, kLogPath, kLogSizeMax, kExitDir,
        kExitFile, kPidFile, kTerminal, kStdin, kStart, kDelete, kDetachKeys, kExec, kProcess, kExecId,
        kExitCommand, kExitCommandArg, kRestore, kRestoreArg, kHelp
    };
    static const struct option longopts[] = {
        {"id", 1, nullptr, kId}, {"bundle", 1, nullptr, kBundle}, {"runtime", 1, nullptr, kRuntime},
        {"runtime-root", 1, nullptr, kRuntimeRoot}, {"runtime-arg", 1, nullptr, kRuntimeArg},
        {"run-dir", 1, nullptr, kRunDir}, {"log-path", 1, nullptr, kLogPath},
        {"log-size-max", 1, nullptr, kLogSizeMax}, {"exit-dir", 1, nullptr, kExitDir},
        {"exit-file", 1, nullptr, kExitFile}, {"pid-file", 1, nullptr, kPidFile},
        {"terminal", 0, nullptr, kTerminal}, {"stdin", 0, nullptr, kStdin}, {"start", 0, nullptr, kStart},
        {"delete", 0, nullptr, kDelete}, {"detach-keys", 1, nullptr, kDetachKeys}, {"exec", 0, nullptr, kExec},
        {"process", 1, nullptr, kProcess}, {"exec-id", 1, nullptr, kExecId}, {"exit-command", 1, nullptr, kExitCommand},
        {"exit-command-arg", 1, nullptr, kExitCommandArg}, {"restore", 1, nullptr, kRestore},
        {"restore-arg", 1, nullptr, kRestoreArg}, {"help", 0, nullptr, kHelp},
        {nullptr, 0, nullptr, 0},
    };
    Options o;
    opterr = 0;
    int c;
    while ((c = ::getopt_long(argc, argv, "+", longopts, nullptr)) != -1) {
        std::string v = optarg ? optarg : "";
        switch (c) {
        case kId: o.id = v; break;
        case kBundle: o.bundle = absolute_path(v); break;
        case kRuntime: o.runtime = v.find('/') == std::string::npos ? v : absolute_path(v); break;
        case kRuntimeRoot: o.runtime_root = absolute_path(v); break;
        case kRuntimeArg: o.runtime_args.push_back(v); break;
        case kRunDir: o.run_dir = absolute_path(v); break;
        case kLogPath: o.log_path = absolute_path(v); break;
        case kLogSizeMax: {
            auto n = parse_u64(v);
            if (!n) return Err("--log-size-max: not a number of bytes: ", quote(v));
            o.log_size_max = *n;
            break;
        }
        case kExitDir: o.exit_dir = absolute_path(v); break;
        case kExitFile: o.exit_file = absolute_path(v); break;
        case kPidFile: o.container_pid_file = absolute_path(v); break;
        case kTerminal: o.terminal = true; break;
        case kStdin: o.stdin_open = true; break;
        case kStart: o.start = true; break;
        case kDelete: o.remove = true; break;
        case kDetachKeys: o.detach_keys = v; break;
        case kExec: o.exec = true; break;
        case kProcess: o.process_file = absolute_path(v); break;
        case kExecId: o.exec_id = v; break;
        case kExitCommand: o.exit_command = v.find('/') == std::string::npos ? v : absolute_path(v); break;
        case kExitCommandArg: o.exit_command_args.push_back(v); break;
        case kRestore: o.restore_dir = absolute_path(v); break;
        case kRestoreArg: o.restore_args.push_back(v); break;
        case kHelp: std::fputs(kUsage, stdout); std::exit(0);
        case ':': return Err("option ", argv[optind - 1], " needs a value");
        default: return Err("unknown option ", optind > 0 ? argv[optind - 1] : "?");
        }
    }
    if (optind < argc) return Err("unexpected argument ", quote(argv[optind]));
    if (o.id.empty() || o.id.find('/') != std::string::npos || o.id == "." || o.id == "..")
        return Err("--id: a container id is required (no '/')");
    if (o.exec) {
        if (o.process_file.empty()) return Err("--exec needs --process FILE");
        if (o.exec_id.empty() || o.exec_id.find('/') != std::string::npos)
            return Err("--exec needs --exec-id (no '/')");
        if (o.start || o.remove) return Err("--start and --delete are for create mode, not --exec");
        if (!o.restore_dir.empty()) return Err("--restore is not for --exec");
    } else if (o.bundle.empty()) {
        return Err("--bundle is required");
    }
    if (!o.restore_args.empty() && o.restore_dir.empty()) return Err("--restore-arg needs --restore DIR");
    if (!o.restore_dir.empty() && o.start) return Err("--start is for create mode, not --restore");
    if (!o.exit_command_args.empty() && o.exit_command.empty())
        return Err("--exit-command-arg needs --exit-command PATH");
    if (o.run_dir.empty()) o.run_dir = path_join("/run/berth/shim", o.exec ? o.id + "." + o.exec_id : o.id);
    if (o.container_pid_file.empty()) o.container_pid_file = path_join(o.run_dir, proto::kContainerPidFile);
    TRY(parse_detach_keys(o.detach_keys));
    return o;
}

// The detached monitor: everything after the double fork. `sync` is the
// caller's pipe; one JSON line goes there ({"pid": N} or {"error": "..."}).
int monitor_main(const Options& o, int sync) {
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    // Keep no fd of the caller's: a held pipe would keep its reader waiting
    // for as long as the container lives. The sync pipe becomes fd 3.
    if (sync != 3) {
        ::dup3(sync, 3, O_CLOEXEC);
        sync = 3;
    }
    ::close_range(4, ~0U, 0);
    int null = ::open("/dev/null", O_RDWR);
    for (int fd = 0; fd < 3; ++fd) ::dup2(null, fd);
    if (null > 2) ::close(null);
    if (::chdir("/") < 0) return 1;

    auto report = [&](const json::Value& v) {
        std::string s = json::write(v) + "\n";
        [[maybe_unused]] auto n = ::write(sync, s.data(), s.size());
        ::close(sync);
    };
    std::string pidfile = path_join(o.run_dir, proto::kShimPidFile);
    // tmp + rename without fsync: a pid file means nothing after a reboot,
    // and an fsync costs milliseconds on the start path.
    std::string tmp = pidfile + ".tmp";
    if (auto r = write_file(tmp, cat(::getpid(), "\n"), 0644); !r || ::rename(tmp.c_str(), pidfile.c_str()) < 0) {
        if (r) r = ErrnoErr("rename ", tmp);
        auto v = json::Value::object();
        v.set("error", json::Value::string(r.error().what()));
        report(v);
        return 1;
    }
    int rc;
    {
        Monitor m(o);
        auto pid = m.launch();
        if (!pid) {
            log::error(pid.error().what());
            auto v = json::Value::object();
            v.set("error", json::Value::string(pid.error().what()));
            m.remove_run_files();  // before the caller hears of it: it finds nothing left
            report(v);
            return 1;  // no exit command: the caller has the error already
        }
        auto v = json::Value::object();
        v.set("pid", json::Value::number(int64_t(*pid)));
        v.set("shim_pid", json::Value::number(int64_t(::getpid())));
        report(v);
        rc = m.run();
    }  // the log, pipes and sockets are closed before the exit command runs
    if (!o.exit_command.empty()) run_exit_command(o);
    return rc;
}

// The caller's side: waits for the monitor's one line and prints it.
int caller_main(int sync, pid_t child) {
    std::string msg;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(sync, buf, sizeof buf)) != 0) {
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        msg.append(buf, size_t(n));
    }
    ::waitpid(child, nullptr, 0);
    auto v = json::parse(msg);
    if (!v || !v->is_object()) {
        std::fprintf(stderr, "berth-shim: the monitor exited before reporting\n");
        return 1;
    }
    if (const json::Value* e = v->find("error"); e && e->is_string()) {
        std::fprintf(stderr, "berth-shim: %s\n", e->as_string().c_str());
        return 1;
    }
    std::fputs(msg.c_str(), stdout);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    // A caller that ignored SIGCHLD (SIG_IGN survives execve) would have our
    // children reaped by the kernel and their exit statuses lost.
    ::signal(SIGCHLD, SIG_DFL);
    log::Config lc;
    lc.program = "berth-shim";
    if (argc > 1 && std::strcmp(argv[1], "status") == 0) return status_main(argc - 1, argv + 1);
    auto opts = parse(argc, argv);
    if (!opts) {
        std::fprintf(stderr, "berth-shim: %s\n%s", opts.error().what().c_str(),
                     "Try 'berth-shim --help' for more information.\n");
        return 2;
    }
    const Options& o = *opts;
    if (auto r = mkdir_all(o.run_dir, 0700); !r) {
        std::fprintf(stderr, "berth-shim: %s\n", r.error().what().c_str());
        return 1;
    }
    if (std::string exit_path = o.exit_path(); !exit_path.empty()) {
        std::string dir = exit_path.substr(0, exit_path.find_last_of('/'));
        if (auto r = mkdir_all(dir.empty() ? "/" : dir, 0755); !r) {
            std::fprintf(stderr, "berth-shim: %s\n", r.error().what().c_str());
            return 1;
        }
        ::unlink(exit_path.c_str());  // a stale record must not be read as this one's
    }
    lc.path = path_join(o.run_dir, proto::kShimLog);
    log::configure(lc);

    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) {
        std::perror("berth-shim: pipe");
        return 1;
    }
    std::fflush(nullptr);
    pid_t child = ::fork();
    if (child < 0) {
        std::perror("berth-shim: fork");
        return 1;
    }
    if (child > 0) {
        ::close(p[1]);
        return caller_main(p[0], child);
    }
    // Double fork: a new session, and a parent that exits at once, so the
    // monitor is no child of the caller and no terminal can signal it.
    ::close(p[0]);
    ::setsid();
    pid_t grandchild = ::fork();
    if (grandchild != 0) ::_exit(grandchild < 0 ? 1 : 0);
    ::_exit(monitor_main(o, p[1]));
}
