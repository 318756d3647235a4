// --exit-command: the program the shim runs after the container's exit has
// been recorded, as conmon does (podman passes `podman container cleanup`).
#pragma once
#include "shim/options.hpp"

namespace berth::shim {

// Runs o.exit_command with o.exit_command_args (fork + exec, stdio
// /dev/null, the shim's environment) and waits for it. Failures go to the
// shim log; there is nobody else to tell.
void run_exit_command(const Options& o);

}  // namespace berth::shim
