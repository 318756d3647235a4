#include "runtime/linux/process.hpp"

#include <grp.h>
#include <linux/sched.h>
#include <sched.h>
#include <sys/capability.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <linux/limits.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>
#include <cstring>

#include "libutil/log.hpp"
#include "libutil/strings.hpp"
#include "runtime/linux/safe_path.hpp"

namespace berth::runtime {

namespace {

constexpr struct {
    const char* name;
    int resource;
} kRlimits[] = {
    {"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK},
};

int rlimit_resource(std::string_view name) {
    for (auto& r : kRlimits)
        if (name == r.name) return r.resource;
    return -1;
}

constexpr struct {
    const char* name;
    int policy;
} kPolicies[] = {
    {"SCHED_OTHER", SCHED_OTHER}, {"SCHED_FIFO", SCHED_FIFO},     {"SCHED_RR", SCHED_RR},
    {"SCHED_BATCH", SCHED_BATCH}, {"SCHED_ISO", 4},               {"SCHED_IDLE", SCHED_IDLE},
    {"SCHED_DEADLINE", SCHED_DEADLINE},
};

constexpr struct {
    const char* name;
    uint64_t flag;
} kSchedFlags[] = {
    {"SCHED_FLAG_RESET_ON_FORK", SCHED_FLAG_RESET_ON_FORK},
    {"SCHED_FLAG_RECLAIM", SCHED_FLAG_RECLAIM},
    {"SCHED_FLAG_DL_OVERRUN", SCHED_FLAG_DL_OVERRUN},
    {"SCHED_FLAG_KEEP_POLICY", SCHED_FLAG_KEEP_POLICY},
    {"SCHED_FLAG_KEEP_PARAMS", SCHED_FLAG_KEEP_PARAMS},
    {"SCHED_FLAG_UTIL_CLAMP_MIN", SCHED_FLAG_UTIL_CLAMP_MIN},
    {"SCHED_FLAG_UTIL_CLAMP_MAX", SCHED_FLAG_UTIL_CLAMP_MAX},
};

constexpr struct {
    const char* name;
    int cls;
} kIoClasses[] = {{"IOPRIO_CLASS_RT", 1}, {"IOPRIO_CLASS_BE", 2}, {"IOPRIO_CLASS_IDLE", 3}};

struct SchedAttr {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime, sched_deadline, sched_period;
};

bool cap_value(const std::string& name, cap_value_t& v) {
    return cap_from_name(name.c_str(), &v) == 0 && v < static_cast<cap_value_t>(cap_max_bits());
}

// Capability names -> numbers; names unknown to this kernel/libcap are
// skipped (validate_process warned about them in the runtime, where the log
// is reachable), as runc does.
std::vector<cap_value_t> cap_values(const std::vector<std::string>& names) {
    std::vector<cap_value_t> out;
    for (auto& n : names) {
        cap_value_t v;
        if (cap_value(n, v)) out.push_back(v);
    }
    return out;
}

// Needs CAP_SETPCAP: done before the uid change clears the effective set.
Result<void> apply_bounding_set(const oci::Capabilities& c) {
    auto bounding = cap_values(c.bounding);
    for (cap_value_t v = 0; v < static_cast<cap_value_t>(cap_max_bits()); ++v) {
        bool keep = false;
        for (auto b : bounding) keep |= b == v;
        if (!keep && cap_drop_bound(v) < 0 && errno != EINVAL)
            return ErrnoErr("drop capability ", v, " from the bounding set");
    }
    return {};
}

// After the uid change: permitted was kept (PR_SET_KEEPCAPS), so the sets
// can be set exactly.
Result<void> apply_capabilities(const oci::Capabilities& c) {
    cap_t caps = cap_init();
    if (!caps) return ErrnoErr("cap_init");
    auto set = [&](const std::vector<std::string>& names, cap_flag_t flag) {
        auto vals = cap_values(names);
        if (!vals.empty()) cap_set_flag(caps, flag, static_cast<int>(vals.size()), vals.data(), CAP_SET);
    };
    set(c.effective, CAP_EFFECTIVE);
    set(c.permitted, CAP_PERMITTED);
    set(c.inheritable, CAP_INHERITABLE);
    int r = cap_set_proc(caps);
    int e = errno;
    cap_free(caps);
    if (r < 0) return CodeErr(e, "set capabilities");
    if (cap_reset_ambient() < 0 && errno != EINVAL) return ErrnoErr("clear ambient capabilities");
    // An ambient capability must also be permitted and inheritable; runc
    // only warns when it is not, so a spec like runc's default still runs.
    for (auto v : cap_values(c.ambient)) (void)cap_set_ambient(v, CAP_SET);
    return {};
}

// Go prints errno texts in lower case ("no such file or directory"); engines
// and users match runc's messages, so these follow it.
std::string go_strerror(int e) {
    std::string s = std::strerror(e);
    if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
    return s;
}

}  // namespace

bool apparmor_enabled() {
    auto on = read_file("/sys/module/apparmor/parameters/enabled");
    return on && trim(*on) == "Y";
}

bool selinux_enabled() {
    struct statfs sf;
    return ::statfs("/sys/fs/selinux", &sf) == 0 && sf.f_type == SELINUX_MAGIC;
}

Result<void> apply_lsm_labels(const oci::Process& p) {
    // process.selinuxLabel: the label of the process after execve, where
    // SELinux is enabled (ignored elsewhere, as runc does).
    if (!p.selinux_label.empty() && selinux_enabled())
        TRY_CTX(write_proc_file(cat(::getpid(), "/attr/exec"), p.selinux_label), "process.selinuxLabel ",
                quote(p.selinux_label));
    if (p.apparmor_profile.empty()) return {};
    // The profile takes effect at execve; the write goes to procfs itself
    // (write_proc_file), never to a file mounted over it.
    std::string value = "exec " + p.apparmor_profile;
    auto r = write_proc_file(cat(::getpid(), "/attr/apparmor/exec"), value);
    if (!r) r = write_proc_file(cat(::getpid(), "/attr/exec"), value);  // kernels before 5.8
    if (!r) return Wrap(r.error(), cat("process.apparmorProfile ", quote(p.apparmor_profile)));
    return {};
}

Result<void> validate_process(const oci::Process& p, const oci::Spec& spec) {
    if (p.capabilities) {
        auto& c = *p.capabilities;
        for (auto* set : {&c.bounding, &c.effective, &c.inheritable, &c.permitted, &c.ambient})
            for (auto& n : *set) {
                cap_value_t v;
                if (!cap_value(n, v)) log::warn(cat("ignoring unknown or unavailable capability ", quote(n)));
            }
    }
    for (auto& r : p.rlimits) {
        if (rlimit_resource(r.type) < 0) return Err("process.rlimits: unknown type ", quote(r.type));
        if (r.soft > r.hard)
            return Err("process.rlimits: ", r.type, ": soft limit ", r.soft, " is above the hard limit ", r.hard);
    }
    if (p.scheduler) {
        bool ok = false;
        for (auto& pol : kPolicies) ok |= p.scheduler->policy == pol.name;
        if (!ok) return Err("process.scheduler.policy ", quote(p.scheduler->policy), ": unknown policy");
        for (auto& f : p.scheduler->flags) {
            bool known = false;
            for (auto& k : kSchedFlags) known |= f == k.name;
            if (!known) return Err("process.scheduler.flags: unknown flag ", quote(f));
        }
    }
    if (p.io_priority) {
        bool ok = false;
        for (auto& c : kIoClasses) ok |= p.io_priority->io_class == c.name;
        if (!ok) return Err("process.ioPriority.class ", quote(p.io_priority->io_class), ": unknown class");
        if (p.io_priority->priority < 0 || p.io_priority->priority > 7)
            return Err("process.ioPriority.priority ", p.io_priority->priority, ": must be 0..7");
    }
    if (p.oom_score_adj && (*p.oom_score_adj < -1000 || *p.oom_score_adj > 1000))
        return Err("process.oomScoreAdj ", *p.oom_score_adj, ": must be in -1000..1000");
    // runc and crun refuse a profile they cannot apply rather than run the
    // process unconfined.
    if (!p.apparmor_profile.empty() && !apparmor_enabled())
        return Err("process.apparmorProfile ", quote(p.apparmor_profile), ": AppArmor is not enabled on this host");
    if (spec.linux && spec.linux->personality_domain) {
        auto& d = *spec.linux->personality_domain;
        if (d != "LINUX" && d != "LINUX32") return Err("linux.personality.domain ", quote(d), ": unknown domain");
    }
    return {};
}

Result<void> enter_cwd(const std::string& cwd) {
    if (::chdir(cwd.c_str()) < 0) return ErrnoErr("chdir to process.cwd ", quote(cwd));
    // The raw syscall: glibc hides the "(unreachable)" prefix as ENOENT.
    char buf[PATH_MAX];
    long n = ::syscall(SYS_getcwd, buf, sizeof buf);
    if (n < 0 && errno != ENAMETOOLONG) return ErrnoErr("process.cwd ", quote(cwd), ": getcwd");
    if (n > 0 && buf[0] != '/')
        return Err("process.cwd ", quote(cwd), ": the working directory is outside the container's root");
    return {};
}

Result<std::string> resolve_executable(const oci::Process& p) {
    const std::string& name = p.args.at(0);
    auto check = [](const std::string& path) -> int {
        struct stat st;
        if (::stat(path.c_str(), &st) < 0) return errno;
        // A directory is refused with EACCES, as execve (and runc) does.
        if (!S_ISREG(st.st_mode) || ::access(path.c_str(), X_OK) < 0) return EACCES;
        return 0;
    };
    if (name.find('/') != std::string::npos) {
        if (int e = check(name)) return Err("exec: ", quote(name), ": ", go_strerror(e));
        return name;
    }
    std::string path_var;
    for (auto& e : p.env)
        if (e.starts_with("PATH=")) path_var = e.substr(5);
    for (auto& dir : split(path_var, ':')) {
        std::string cand = path_join(dir.empty() ? "." : dir, name);
        if (check(cand) == 0) return cand;
    }
    return Err("exec: ", quote(name), ": executable file not found in $PATH");
}

std::vector<std::string> process_env(const oci::Process& p) {
    std::vector<std::string> env = p.env;
    for (auto& e : env)
        if (e.starts_with("HOME=")) return env;
    std::string home = "/";
    if (auto pw = read_file("/etc/passwd")) {
        for (auto& line : split(*pw, '\n')) {
            auto f = split(line, ':');
            if (f.size() >= 6 && parse_u64(f[2]) == p.user.uid && !f[5].empty()) {
                home = f[5];
                break;
            }
        }
    }
    env.push_back("HOME=" + home);
    return env;
}

Result<void> apply_rlimits(const oci::Process& p) {
    for (auto& r : p.rlimits) {
        struct rlimit rl {r.soft, r.hard};
        if (::setrlimit(rlimit_resource(r.type), &rl) < 0) return ErrnoErr("setrlimit ", r.type);
    }
    return {};
}

Result<void> apply_oom_score_adj(const oci::Process& p) {
    if (!p.oom_score_adj) return {};
    TRY_CTX(write_proc_file(cat(::getpid(), "/oom_score_adj"), std::to_string(*p.oom_score_adj)), "set oomScoreAdj");
    return {};
}

Result<void> apply_scheduler(const oci::Process& p) {
    if (!p.scheduler) return {};
    auto& s = *p.scheduler;
    SchedAttr a{};
    a.size = sizeof a;
    for (auto& pol : kPolicies)
        if (s.policy == pol.name) a.sched_policy = static_cast<uint32_t>(pol.policy);
    for (auto& f : s.flags)
        for (auto& k : kSchedFlags)
            if (f == k.name) a.sched_flags |= k.flag;
    a.sched_nice = s.nice;
    a.sched_priority = static_cast<uint32_t>(s.priority);
    a.sched_runtime = s.runtime;
    a.sched_deadline = s.deadline;
    a.sched_period = s.period;
    if (::syscall(SYS_sched_setattr, 0, &a, 0) < 0) return ErrnoErr("set scheduler ", s.policy);
    return {};
}

Result<void> apply_io_priority(const oci::Process& p) {
    if (!p.io_priority) return {};
    int cls = 0;
    for (auto& c : kIoClasses)
        if (p.io_priority->io_class == c.name) cls = c.cls;
    int value = (cls << 13) | p.io_priority->priority;
    if (::syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, value) < 0) return ErrnoErr("set ioPriority");
    return {};
}

Result<void> apply_personality(const oci::Spec& spec) {
    if (!spec.linux || !spec.linux->personality_domain) return {};
    unsigned long persona = *spec.linux->personality_domain == "LINUX32" ? PER_LINUX32 : PER_LINUX;
    if (::personality(persona) < 0) return ErrnoErr("set personality");
    return {};
}

Result<void> apply_credentials(const oci::Process& p, bool setgroups_allowed) {
    // No capabilities object: the process gets none (as runc).
    static const oci::Capabilities kNone;
    const oci::Capabilities& caps = p.capabilities ? *p.capabilities : kNone;
    TRY(apply_bounding_set(caps));
    // Keep capabilities across the uid change; they are set explicitly after.
    if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return ErrnoErr("prctl(PR_SET_KEEPCAPS)");
    if (setgroups_allowed) {
        std::vector<gid_t> groups(p.user.additional_gids.begin(), p.user.additional_gids.end());
        if (::setgroups(groups.size(), groups.data()) < 0) return ErrnoErr("setgroups");
    }
    if (::setresgid(p.user.gid, p.user.gid, p.user.gid) < 0) return ErrnoErr("setgid ", p.user.gid);
    if (::setresuid(p.user.uid, p.user.uid, p.user.uid) < 0) return ErrnoErr("setuid ", p.user.uid);
    if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) return ErrnoErr("prctl(PR_SET_KEEPCAPS)");
    TRY(apply_capabilities(caps));
    ::umask(p.user.umask ? static_cast<mode_t>(*p.user.umask & 0777) : 0022);
    if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return ErrnoErr("prctl(PR_SET_NO_NEW_PRIVS)");
    return {};
}

}  // namespace berth::runtime
