#include <unistd.h>

#include "libutil/strings.hpp"
#include "runtime/cli/commands.hpp"
#include "runtime/container/exec.hpp"
#include "runtime/container/state.hpp"

namespace berth::runtime {

namespace {

const std::vector<FlagSpec> kExecFlags = {
    {"console-socket", nullptr, true}, {"cwd", nullptr, true},       {"env", "e", true},
    {"tty", "t", false},               {"user", "u", true},          {"additional-gids", "g", true},
    {"process", "p", true},            {"detach", "d", false},       {"pid-file", nullptr, true},
    {"process-label", nullptr, true},  {"apparmor", nullptr, true},  {"no-new-privs", nullptr, false},
    {"cap", "c", true},                {"preserve-fds", nullptr, true}, {"cgroup", nullptr, true},
    {"ignore-paused", nullptr, false},
};

Result<uint32_t> parse_id(const std::string& s, const char* what) {
    auto v = parse_u64(s);
    if (!v || *v > 0xffffffffu) return Err("--user ", quote(s), ": ", what, " must be a number");
    return static_cast<uint32_t>(*v);
}

// runc's getProcess: --process FILE, or the container's own process with
// the command and the flags' overrides.
Result<oci::Process> build_process(const Args& a, const oci::Spec& spec) {
    if (a.has("process")) {
        std::string file = a.get("process");
        auto text = TRY(read_file(file));
        return oci::parse_process(text, file);
    }
    if (a.positional.size() < 2) return Err("\"exec\" requires a command to run (or --process)");
    oci::Process p = spec.process ? *spec.process : oci::Process{};
    p.args.assign(a.positional.begin() + 1, a.positional.end());
    p.terminal = a.has("tty");
    p.console_size.reset();
    if (a.has("cwd")) p.cwd = a.get("cwd");
    if (p.cwd.empty()) p.cwd = "/";
    for (auto& e : a.get_all("env")) p.env.push_back(e);
    if (a.has("user")) {
        std::string u = a.get("user");
        auto colon = u.find(':');
        p.user.uid = TRY(parse_id(u.substr(0, colon), "uid"));
        if (colon != std::string::npos) p.user.gid = TRY(parse_id(u.substr(colon + 1), "gid"));
    }
    for (auto& gid : a.get_all("additional-gids")) {
        auto v = parse_u64(gid);
        if (!v || *v > 0xffffffffu) return Err("--additional-gids ", quote(gid), ": not a gid");
        p.user.additional_gids.push_back(static_cast<uint32_t>(*v));
    }
    if (a.has("no-new-privs")) p.no_new_privileges = true;
    auto caps = a.get_all("cap");
    if (!caps.empty()) {
        if (!p.capabilities) p.capabilities.emplace();
        for (auto& c : caps) {
            p.capabilities->bounding.push_back(c);
            p.capabilities->effective.push_back(c);
            p.capabilities->permitted.push_back(c);
        }
    }
    if (a.has("apparmor")) p.apparmor_profile = a.get("apparmor");
    if (a.has("process-label")) p.selinux_label = a.get("process-label");
    return p;
}

}  // namespace

int cmd_exec(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, kExecFlags, true);
    if (!a) return fail(a.error());
    if (a->positional.empty()) return fail({0, "\"exec\" requires a minimum of 1 argument: the container id"});
    auto st = load_state(g.root, a->positional[0]);
    if (!st) return fail(st.error());
    auto spec = oci::parse_spec(st->config);
    if (!spec) return fail(spec.error());
    auto p = build_process(*a, *spec);
    if (!p) return fail(p.error());
    ExecOptions o;
    o.id = a->positional[0];
    o.process = std::move(*p);
    o.console_socket = a->get("console-socket");
    o.pid_file = a->get("pid-file");
    o.ignore_paused = a->has("ignore-paused");
    o.sub_cgroups = a->get_all("cgroup");
    bool detach = a->has("detach");
    o.console_proxy = !detach && o.console_socket.empty();
    if (a->has("preserve-fds")) {
        auto n = parse_u64(a->get("preserve-fds"));
        if (!n || *n > 65536) return fail({0, "--preserve-fds " + quote(a->get("preserve-fds")) + ": not a count of fds"});
        o.preserve_fds = static_cast<int>(*n);
    }
    int sigfd = detach ? -1 : block_signals_fd();
    auto r = exec_in_container(g, o);
    if (!r) return fail(r.error());
    if (detach) return 0;
    return foreground(r->pid, r->pidfd.get(), sigfd, r->console_master.get());
}

}  // namespace berth::runtime
