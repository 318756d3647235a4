// process.terminal: the init opens a pty in the container's devpts, sends the
// master to --console-socket over SCM_RIGHTS, and makes the slave its
// controlling terminal and stdio.
#pragma once
#include <string>

#include "libutil/error.hpp"
#include "libutil/fd.hpp"
#include "libutil/oci/spec.hpp"

namespace berth::runtime {

// Connects to the console socket (in the runtime, before clone).
Result<UniqueFd> connect_console_socket(const std::string& path);

// The console end handed to the process that makes the pty: connected to
// `socket_path`, or (empty path) one end of a socketpair whose `peer` end
// receives the master, for runtime's own terminal proxy.
struct Console {
    UniqueFd fd;
    UniqueFd peer;
};
Result<Console> open_console(const std::string& socket_path);
// In the container (after pivot_root): new pty, /dev/console (for the init,
// not for exec), master sent over `socket`, slave on 0/1/2 as the
// controlling terminal.
Result<void> setup_terminal(int socket, const oci::Process& p, bool console = true);

}  // namespace berth::runtime
