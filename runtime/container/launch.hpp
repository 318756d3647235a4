// The container lifecycle as runc's verbs see it: create (clone the init
// and set it up), start (open the exec fifo), kill, delete.
#pragma once
#include <string>

#include "libutil/error.hpp"
#include "libutil/fd.hpp"
#include "runtime/container/state.hpp"
#include "runtime/options.hpp"

namespace berth::runtime {

struct CreateOptions {
    std::string id;
    std::string bundle;  // default: the current directory
    std::string console_socket;
    std::string pid_file;
    bool no_pivot = false;
    bool no_new_keyring = false;
    int preserve_fds = 0;
    // process.terminal without --console-socket: keep the pty master for
    // ourselves (foreground `run` proxies it to its own stdio, like runc).
    bool console_proxy = false;
};

struct Created {
    ContainerState state;
    UniqueFd pidfd;  // of the init, our child
    UniqueFd console_master;  // with console_proxy
};

// validate -> state dir -> cgroup -> clone init -> id maps/cgroup placement
// -> hooks -> wait Ready -> state.json. On any error, everything made is undone.
Result<Created> create_container(const GlobalOptions& g, const CreateOptions& o);
// Releases a created container; runs poststart hooks (failures only warn).
Result<void> start_container(const GlobalOptions& g, const std::string& id);
// Signals the init (or, with `all`, every process of the container).
Result<void> kill_container(const ContainerState& st, int sig, bool all);
// Kills what is left (created, or with force running/paused), removes the
// cgroup, runs poststop hooks, removes the state dir.
Result<void> delete_container(const ContainerState& st, bool force);

}  // namespace berth::runtime
