// checkpoint and restore through CRIU (libcriu, which runs `criu swrk`; our
// own RPC to `criu swrk` for --lazy-pages, which libcriu cannot ask for), the
// way runc does them: runc's options, external mounts and namespaces, the
// stdio pipes recorded in descriptors.json and inherited at restore, the pty
// master handed to --console-socket, the cgroup made before the restore.
#pragma once
#include <string>

#include "libutil/error.hpp"
#include "libutil/fd.hpp"
#include "runtime/container/criu_options.hpp"
#include "runtime/container/state.hpp"
#include "runtime/options.hpp"

namespace berth::runtime {

// Dumps a running (or paused) container into o.image_path. Without
// --leave-running or --pre-dump the container is gone afterwards: CRIU
// killed its processes and, as runc does, it is deleted. On failure the
// container is left as it was; what we wrote to the image dir is removed,
// CRIU's log stays in the work dir.
Result<void> checkpoint_container(const GlobalOptions& g, const ContainerState& st, const CriuOptions& o);

struct RestoreOptions {
    std::string id;
    std::string bundle;
    std::string console_socket;
    std::string pid_file;
    bool detach = false;
    bool no_pivot = false;  // accepted: CRIU restores the mounts as they were
    CriuOptions criu;
};

struct Restored {
    ContainerState state;
    UniqueFd pidfd;  // of the restored init, our child
};

// bundle + images -> a running container with the id: state dir, cgroup,
// CRIU's restore, state.json. On any error nothing is left.
Result<Restored> restore_container(const GlobalOptions& g, const RestoreOptions& o);

// Whether the CRIU binary (--criu, else "criu" in PATH) is there and answers
// (its version as CRIU numbers it, 40101 for 4.1.1; 0 when not).
int criu_version(const GlobalOptions& g);

// Why a lazy migration (checkpoint/restore --lazy-pages) cannot work here,
// in a line; empty when it can: CRIU takes the restored tasks' page faults
// (non-cooperative userfaultfd) and its page server can make its pipes.
std::string lazy_pages_obstacle(const GlobalOptions& g);

}  // namespace berth::runtime
