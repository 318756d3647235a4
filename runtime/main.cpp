// berth-runtime: a runc-compatible OCI runtime.
#include <seccomp.h>
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "libutil/log.hpp"
#include "libutil/oci/spec.hpp"
#include "runtime/cli/commands.hpp"

using namespace berth;
using namespace berth::runtime;

namespace {

constexpr const char* kUsage = R"(NAME:
   berth-runtime - Open Container Initiative runtime

USAGE:
   berth-runtime [global options] command [command options] [arguments...]

COMMANDS:
   create    create a container
   start     executes the user defined process in a created container
   run       create and run a container
   exec      execute new process inside the container
   state     output the state of a container
   kill      kill sends the specified signal (default: SIGTERM) to the container's init process
   delete    delete any resources held by the container often used with detached container
   list      lists containers started by berth-runtime with the given root
   pause     pause suspends all processes inside the container
   resume    resumes all processes that have been previously paused
   ps        ps displays the processes running inside a container
   update    update container resource constraints
   checkpoint  checkpoint a running container
   restore   restore a container from a previous checkpoint
   events    display container events such as OOM notifications, cpu, memory, and IO usage statistics
   spec      create a new specification file
   features  show the enabled features
   help      shows a list of commands or help for one command

GLOBAL OPTIONS:
   --debug             enable debug logging
   --log value         set the log file to write berth-runtime logs to (default is '/dev/stderr')
   --log-format value  set the log format ('text' (default), or 'json') (default: "text")
   --root value        root directory for storage of container state (default: "/run/berth-runtime")
   --criu value        path to the criu binary used for checkpoint and restore (default: "criu")
   --systemd-cgroup    enable systemd cgroup support (expects cgroupsPath as slice:prefix:name)
   --help, -h          show help
   --version, -v       print the version
)";

void print_version() {
    const scmp_version* v = seccomp_version();
    std::printf("berth-runtime version %s\nspec: %s\nlibseccomp: %u.%u.%u\n", PACKAGE_VERSION, oci::kSpecVersion,
                v ? v->major : 0, v ? v->minor : 0, v ? v->micro : 0);
}

struct Verb {
    const char* name;
    int (*fn)(const GlobalOptions&, int, char**, int);
};
constexpr Verb kVerbs[] = {
    {"create", cmd_create}, {"start", cmd_start},   {"run", cmd_run},
    {"state", cmd_state},   {"kill", cmd_kill},     {"delete", cmd_delete},
    {"list", cmd_list},     {"spec", cmd_spec},     {"features", cmd_features},
    {"pause", cmd_pause},   {"resume", cmd_resume}, {"ps", cmd_ps},
    {"exec", cmd_exec},     {"update", cmd_update}, {"events", cmd_events},
    {"checkpoint", cmd_checkpoint}, {"restore", cmd_restore},
};

}  // namespace

int main(int argc, char** argv) {
    // A hook that exits without reading its stdin must not kill us.
    ::signal(SIGPIPE, SIG_IGN);
    GlobalOptions g;
    // A caller that ignored SIGCHLD (SIG_IGN survives execve) would have our
    // children reaped by the kernel and their exit statuses lost.
    ::signal(SIGCHLD, SIG_DFL);
    log::Config lc;
    lc.program = "berth-runtime";
    // Global flags come before the command (as with runc).
    int i = 1;
    for (; i < argc; ++i) {
        std::string a = argv[i];
        if (a.size() < 2 || a[0] != '-') break;
        std::string name = a.substr(a[1] == '-' ? 2 : 1), value;
        bool has_value = false;
        if (auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
            has_value = true;
        }
        auto need = [&]() -> bool {
            if (has_value) return true;
            if (i + 1 >= argc) {
                std::fprintf(stderr, "berth-runtime: flag needs an argument: -%s\n", name.c_str());
                return false;
            }
            value = argv[++i];
            return true;
        };
        if (name == "root") {
            if (!need()) return 1;
            g.root = value;
        } else if (name == "log") {
            if (!need()) return 1;
            g.log_path = value;
        } else if (name == "log-format") {
            if (!need()) return 1;
            if (value != "text" && value != "json") {
                std::fprintf(stderr, "berth-runtime: invalid log-format: %s\n", value.c_str());
                return 1;
            }
            g.log_format = value;
        } else if (name == "debug") {
            g.debug = true;
        } else if (name == "systemd-cgroup") {
            g.systemd_cgroup = true;
        } else if (name == "rootless") {
            if (!has_value && i + 1 < argc && (std::strcmp(argv[i + 1], "true") == 0 ||
                                               std::strcmp(argv[i + 1], "false") == 0 ||
                                               std::strcmp(argv[i + 1], "auto") == 0))
                ++i;  // accepted for compatibility: rootless is detected, not configured
        } else if (name == "criu") {
            if (!need()) return 1;
            g.criu = value;
        } else if (name == "version" || name == "v") {
            print_version();
            return 0;
        } else if (name == "help" || name == "h") {
            std::fputs(kUsage, stdout);
            return 0;
        } else {
            std::fprintf(stderr, "berth-runtime: flag provided but not defined: -%s\n", name.c_str());
            return 1;
        }
    }
    lc.path = g.log_path;
    lc.json = g.log_format == "json";
    lc.debug = g.debug;
    log::configure(lc);

    if (i >= argc) {
        std::fputs(kUsage, stdout);
        return 0;
    }
    std::string verb = argv[i];
    if (verb == "help") {
        std::fputs(kUsage, stdout);
        return 0;
    }
    for (auto& v : kVerbs)
        if (verb == v.name) return v.fn(g, argc, argv, i + 1);
    log::fatal("No help topic for '" + verb + "'");
    return 1;
}
