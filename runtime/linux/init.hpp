// The container init: the child cloned by `create`. It sets up the
// container from inside its namespaces, reports Ready (or Error) to the
// parent, then blocks on the exec fifo until `start`, and execs the process.
#pragma once
#include <string>
#include <vector>

#include "libutil/oci/spec.hpp"
#include "runtime/linux/cgroups.hpp"
#include "runtime/linux/namespaces.hpp"
#include "runtime/linux/seccomp.hpp"

namespace berth::runtime {

struct InitConfig {
    const oci::Spec* spec = nullptr;
    std::string id;
    std::string bundle;
    std::string rootfs;  // absolute host path
    int sync_fd = -1;
    int console_fd = -1;    // connected --console-socket, when process.terminal
    int state_dir_fd = -1;  // O_PATH fd of ROOT/ID: the exec fifo is opened through it
    bool no_pivot = false;
    bool no_new_keyring = false;
    int extra_fds = 0;  // fds 3..3+N-1 stay open (LISTEN_FDS + --preserve-fds)
    std::vector<std::string> extra_env;  // LISTEN_FDS=..., LISTEN_PID=1
    const NamespacePlan* ns = nullptr;
    const Cgroup* cgroup = nullptr;
    const SeccompFilter* seccomp = nullptr;  // compiled by the parent
    const std::vector<std::pair<size_t, UniqueFd>>* idmapped = nullptr;
};

// Never returns: execs the container process or _exits.
[[noreturn]] void container_init(const InitConfig& cfg);

}  // namespace berth::runtime
