// The container process's attributes, applied by the init just before it
// waits for `start`: rlimits, oom score, scheduler, I/O priority,
// personality, credentials, capabilities, no_new_privs; and the executable
// looked up in the container's PATH.
#pragma once
#include <string>
#include <vector>

#include "libutil/error.hpp"
#include "libutil/oci/spec.hpp"

namespace berth::runtime {

// Checks names (capabilities, rlimits, scheduler policy, ioprio class,
// personality domain) before anything is created.
Result<void> validate_process(const oci::Process& p, const oci::Spec& spec);
// AppArmor is enabled on this host (/sys/module/apparmor/parameters/enabled).
bool apparmor_enabled();
// Sets process.apparmorProfile (and process.selinuxLabel where SELinux is
// enabled) to apply at the next execve, through procfs (write_proc_file).
Result<void> apply_lsm_labels(const oci::Process& p);

// Resolves args[0] like Go's exec.LookPath with the process's PATH:
// `exec: "/nope": no such file or directory`,
// `exec: "nope": executable file not found in $PATH`.
// chdir to process.cwd and check that the new cwd is inside the process's
// root: a cwd reached through an fd the process inherited
// (/proc/self/fd/N, CVE-2024-21626) reads as "(unreachable)/..." and is
// refused.
Result<void> enter_cwd(const std::string& cwd);

Result<std::string> resolve_executable(const oci::Process& p);

// The process's environment: process.env, plus HOME from the container's
// /etc/passwd (or "/") when it is not set, as runc does.
std::vector<std::string> process_env(const oci::Process& p);

// Runs as root in the container (before credentials change).
Result<void> apply_rlimits(const oci::Process& p);
Result<void> apply_oom_score_adj(const oci::Process& p);
Result<void> apply_scheduler(const oci::Process& p);
Result<void> apply_io_priority(const oci::Process& p);
Result<void> apply_personality(const oci::Spec& spec);
// setgroups/setresgid/setresuid keeping capabilities, then the five capability
// sets, then umask and no_new_privs. `setgroups_allowed`: false when the
// user namespace denies setgroups.
Result<void> apply_credentials(const oci::Process& p, bool setgroups_allowed);

}  // namespace berth::runtime
