// Berth's default seccomp profile, in the linux.seccomp format of
// config.json: docker's approach (deny by default with EPERM, an allow-list
// of syscalls) without the calls that reach outside the container or change
// the kernel's global state: module loading, kexec, reboot, mount and the new
// mount API, unshare and setns, ptrace and process_vm_*, keyrings, bpf,
// perf_event_open, userfaultfd, clock setting, swap, quotas, acct, syslog,
// NUMA policy and handle-based opens. clone is allowed without namespace
// flags; clone3 gets ENOSYS so that libcs fall back to clone, whose flags
// the filter can see. Names a given architecture lacks are skipped by the
// runtime, so one list serves x86-64/x86/x32 and aarch64/arm.
#include "manager/containers/spec.hpp"

namespace berth::manager {

namespace {

constexpr const char* kAllowed[] = {
    "_llseek", "_newselect", "_sysctl", "accept", "accept4", "access", "adjtimex", "alarm", "arch_prctl",
    "arm_fadvise64_64", "arm_sync_file_range", "bind", "breakpoint", "brk", "cacheflush", "capget", "capset",
    "chdir", "chmod", "chown", "chown32", "chroot", "clock_getres", "clock_getres_time64", "clock_gettime",
    "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range", "connect",
    "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl",
    "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2",
    "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fallocate",
    "fanotify_init", "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchown", "fchown32", "fchownat", "fcntl",
    "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat",
    "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex", "futex_time64",
    "futex_waitv", "futimesat", "get_robust_list", "get_thread_area", "getcpu", "getcwd", "getdents",
    "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
    "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority",
    "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "getrusage", "getsid",
    "getsockname", "getsockopt", "gettid", "gettimeofday", "getuid", "getuid32", "getxattr", "inotify_add_watch",
    "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents",
    "io_pgetevents", "io_pgetevents_time64", "io_setup", "io_submit", "io_uring_enter", "io_uring_register",
    "io_uring_setup", "ioctl", "ioprio_get", "ioprio_set", "ipc", "kill", "landlock_add_rule",
    "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat",
    "listen", "listxattr", "llistxattr", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise",
    "membarrier", "memfd_create", "memfd_secret", "migrate_pages", "mincore", "mkdir", "mkdirat", "mknod",
    "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "modify_ldt", "mprotect", "mq_getsetattr",
    "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64",
    "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap",
    "nanosleep", "newfstatat", "nice", "oldolduname", "olduname", "open", "openat", "openat2", "pause",
    "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll",
    "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6",
    "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv",
    "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "rename",
    "renameat", "renameat2", "restart_syscall", "riscv_flush_icache", "rmdir", "rseq", "rt_sigaction",
    "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
    "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_get_priority_max", "sched_get_priority_min",
    "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_getscheduler", "sched_rr_get_interval",
    "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler",
    "sched_yield", "seccomp", "select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send",
    "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "set_mempolicy_home_node", "set_robust_list",
    "set_thread_area", "set_tid_address", "set_tls", "setdomainname", "setfsgid", "setfsgid32", "setfsuid",
    "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "sethostname", "setitimer", "setpgid",
    "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid",
    "setreuid32", "setrlimit", "setsid", "setsockopt", "setuid", "setuid32", "setxattr", "sgetmask", "shmat",
    "shmctl", "shmdt", "shmget", "shutdown", "sigaction", "sigaltstack", "signal", "signalfd", "signalfd4",
    "sigpending", "sigprocmask", "sigreturn", "sigsuspend", "socket", "socketcall", "socketpair", "splice",
    "ssetmask", "stat", "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync",
    "sync_file_range", "sync_file_range2", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create",
    "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
    "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times",
    "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat",
    "utimensat_time64", "utimes", "vfork", "vhangup", "vmsplice", "wait4", "waitid", "waitpid", "write", "writev",
};

// CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWTIME... as docker's mask.
constexpr uint64_t kCloneNamespaceFlags = 2114060288;
// PER_LINUX, PER_LINUX32, UNAME26, PER_LINUX32|UNAME26, and 0xffffffff (query).
constexpr uint64_t kPersonalities[] = {0, 8, 131072, 131080, 4294967295};

}  // namespace

json::Value default_seccomp_profile() {
    using json::Value;
    Value names = Value::array();
    for (const char* n : kAllowed) names.push(Value::string(n));
    auto rule = [](Value names, const char* action) {
        Value r = Value::object();
        r.set("names", std::move(names));
        r.set("action", Value::string(action));
        return r;
    };
    auto one = [](const char* n) {
        Value a = Value::array();
        a.push(Value::string(n));
        return a;
    };
    auto arg = [](uint64_t value, uint64_t value_two, const char* op) {
        Value a = Value::object();
        a.set("index", Value::number(0));
        a.set("value", Value::number(value));
        if (value_two || std::string_view(op) == "SCMP_CMP_MASKED_EQ") a.set("valueTwo", Value::number(value_two));
        a.set("op", Value::string(op));
        Value args = Value::array();
        args.push(std::move(a));
        return args;
    };
    Value syscalls = Value::array();
    syscalls.push(rule(std::move(names), "SCMP_ACT_ALLOW"));
    for (uint64_t p : kPersonalities) {
        Value r = rule(one("personality"), "SCMP_ACT_ALLOW");
        r.set("args", arg(p, 0, "SCMP_CMP_EQ"));
        syscalls.push(std::move(r));
    }
    Value clone = rule(one("clone"), "SCMP_ACT_ALLOW");
    clone.set("args", arg(kCloneNamespaceFlags, 0, "SCMP_CMP_MASKED_EQ"));
    syscalls.push(std::move(clone));
    Value clone3 = rule(one("clone3"), "SCMP_ACT_ERRNO");
    clone3.set("errnoRet", Value::number(38));  // ENOSYS
    syscalls.push(std::move(clone3));

    Value archs = Value::array();
#if defined(__aarch64__) || defined(__arm__)
    for (const char* a : {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}) archs.push(Value::string(a));
#else
    for (const char* a : {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}) archs.push(Value::string(a));
#endif
    Value profile = Value::object();
    profile.set("defaultAction", Value::string("SCMP_ACT_ERRNO"));
    profile.set("defaultErrnoRet", Value::number(1));  // EPERM
    profile.set("architectures", std::move(archs));
    profile.set("syscalls", std::move(syscalls));
    return profile;
}

}  // namespace berth::manager
