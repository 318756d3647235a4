// Running the helper programs a container needs (the runtime, the shim) and
// reading what they say.
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

#include "libutil/error.hpp"

namespace berth::manager {

struct ProgramOutput {
    int status = 0;  // exit status, or 128 + signal
    std::string out, err;
};

// Runs argv[0] (a path, or a name looked up in PATH) with stdin on
// `stdin_path` (/dev/null unless given; "" passes ours on) and waits for it,
// collecting stdout and stderr.
Result<ProgramOutput> run_program(const std::vector<std::string>& argv, const std::string& stdin_path = "/dev/null");

// The last non-empty line of `text`, without a "PROGRAM: " prefix it may
// carry; what a failed helper's stderr is reduced to for the user.
std::string last_line(const std::string& text);

// A program that ships with berth: next to this executable (a build tree or
// the install dir), else in PATH. Empty when not found.
std::string find_berth_program(const std::string& name);
// This executable's path.
std::string self_exe();

// True while `pid` is alive and its command name is `comm` (a recycled pid
// is not mistaken for the process we started).
bool process_alive(pid_t pid, const std::string& comm);

}  // namespace berth::manager
