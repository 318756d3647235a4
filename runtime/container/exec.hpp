// exec: a new process in a running container. The runtime enters the
// container's pid (and time) namespace for its children, clones the process
// straight into the container's cgroup, and the child enters the other
// namespaces through the init's pidfd (one setns for all of them), takes the
// process's credentials and execs. One clone, no helper process.
#pragma once
#include <string>

#include "libutil/error.hpp"
#include "libutil/fd.hpp"
#include "libutil/oci/spec.hpp"
#include "runtime/linux/cgroups.hpp"
#include "runtime/options.hpp"

namespace berth::runtime {

struct ExecOptions {
    std::string id;
    oci::Process process;
    std::string console_socket;
    bool console_proxy = false;  // terminal without a socket: keep the master
    std::string pid_file;
    int preserve_fds = 0;
    bool ignore_paused = false;
    // --cgroup [CONTROLLER[,CONTROLLER...]:]PATH (repeatable): an existing
    // sub-cgroup of the container's, for all hierarchies or the named ones.
    std::vector<std::string> sub_cgroups;
};

struct Executed {
    pid_t pid = 0;
    UniqueFd pidfd;
    UniqueFd console_master;
};


// The container's cgroup dirs with --cgroup's sub-cgroups applied (each
// must exist).
Result<std::vector<CgroupDir>> exec_cgroup_dirs(const Cgroup& cg, const std::vector<std::string>& subs);

// Returns once the process is exec'd (or failed to be, with its error).
Result<Executed> exec_in_container(const GlobalOptions& g, const ExecOptions& o);

}  // namespace berth::runtime
