// linux.seccomp through libseccomp. The runtime compiles the profile into a
// BPF program before the clone (so a bad profile is a create error naming the
// field, and the container's process does no libseccomp work); the process
// installs it with one seccomp(2) call, with the spec's flags, as late as it
// may: just before execve (with noNewPrivileges or CAP_SYS_ADMIN kept), or
// before dropping capabilities otherwise, since loading without
// no_new_privs needs CAP_SYS_ADMIN (runc's order). A profile with
// SCMP_ACT_NOTIFY rules is installed before `create` returns instead, so that
// its listener fd reaches the agent at linux.seccomp.listenerPath.
#pragma once
#include <linux/filter.h>

#include <string>
#include <vector>

#include "libutil/error.hpp"
#include "libutil/fd.hpp"
#include "libutil/oci/spec.hpp"

namespace berth::runtime {

class SeccompFilter {
public:
    bool empty() const { return prog_.empty(); }
    // The profile has SCMP_ACT_NOTIFY rules: loading gives a listener fd.
    bool notify() const { return notify_; }
    unsigned flags() const { return flags_; }
    const std::string& listener_path() const { return listener_path_; }
    const std::string& listener_metadata() const { return listener_metadata_; }

    // Installs the filter in the calling thread (all threads with TSYNC).
    // Returns the notify listener fd (close-on-exec) when notify(), else an
    // empty fd. Async-signal-safe apart from building the error.
    Result<UniqueFd> load() const;

    // The compiled program, kept in the container's state dir at create so
    // that `exec` need not compile the profile again (libseccomp takes ~10 ms
    // for a docker-style profile).
    Result<void> save(const std::string& path) const;

    friend Result<SeccompFilter> compile_seccomp(const oci::Spec& spec);
    friend Result<SeccompFilter> saved_seccomp(const oci::Spec& spec, const std::string& path);
    friend Result<SeccompFilter> cached_seccomp(const oci::Spec& spec, const std::string& cache_dir);

private:
    std::vector<sock_filter> prog_;
    unsigned flags_ = 0;
    bool notify_ = false;
    std::string listener_path_, listener_metadata_;
};

// An empty filter when the spec has no linux.seccomp.
Result<SeccompFilter> compile_seccomp(const oci::Spec& spec);
// The program save() kept at `path` for this spec, or, when there is none
// (or it is not a valid save), compile_seccomp(spec).
Result<SeccompFilter> saved_seccomp(const oci::Spec& spec, const std::string& path);

// compile_seccomp through a cache of compiled programs in `cache_dir`, keyed
// by the profile's exact JSON (and this runtime's build): engines start most
// containers with one profile (docker's default takes libseccomp ~20 ms to
// compile), so the second container with it loads ~30 KB instead. A cache
// entry holds its key and is used only when the key matches byte for byte;
// a missing, unreadable or foreign entry means compiling (and replacing it).
// The cache is root's (0700) and on a tmpfs: a reboot empties it.
Result<SeccompFilter> cached_seccomp(const oci::Spec& spec, const std::string& cache_dir);
constexpr const char* kSeccompCacheDir = "/run/berth-runtime-cache/seccomp";

// Hands a notify listener fd to the seccomp agent listening on `path` (a unix
// stream socket), as runc does: one message whose payload is the
// ContainerProcessState JSON ({"ociVersion", "fds": ["seccompFd"], "pid",
// "metadata", "state"}) and whose SCM_RIGHTS carry the fd. `state` is the
// container's OCI state; `pid` the filtered process.
Result<void> send_seccomp_listener(const SeccompFilter& f, int listener_fd, pid_t pid, json::Value state);

}  // namespace berth::runtime
