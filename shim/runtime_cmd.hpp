// Running the OCI runtime (berth-runtime, runc, crun: anything with runc's
// CLI): argv building, fork+exec with given stdio, and the runtime's error
// read back from its JSON log (`--log FILE --log-format json`).
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

#include "libutil/error.hpp"
#include "shim/options.hpp"

namespace berth::shim {

// Fds for the runtime's 0/1/2; -1 means /dev/null.
struct Stdio {
    int in = -1, out = -1, err = -1;
};

// RUNTIME [--root R] [extra...] --log LOG --log-format json VERB ARGS...
std::vector<std::string> runtime_argv(const Options& o, const std::string& log,
                                      std::vector<std::string> verb_args);

// fork + execvp. A failed execve comes back as the error ("exec RUNTIME: ...").
// The child gets default signal dispositions and an empty signal mask.
Result<pid_t> spawn(const std::vector<std::string>& argv, Stdio io);

// Waits for that one child; returns its wait status.
Result<int> wait_for(pid_t pid);

// Runs argv to completion with stdout/stderr captured (up to 4 KiB); fails
// with the runtime's message when it exits non-zero.
Result<void> run_captured(const std::vector<std::string>& argv, const std::string& log);

// The message of the last error-level line of a runtime's JSON log, or "".
std::string last_log_error(const std::string& log);

// "exited with status 1" / "killed by SIGKILL".
std::string describe_status(int status);

}  // namespace berth::shim
