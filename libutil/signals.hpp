// Signal names and numbers as runc's CLI accepts them.
#pragma once
#include <string>
#include <string_view>

#include "libutil/error.hpp"

namespace berth {

// "KILL", "SIGKILL", "kill", "9", "SIGRTMIN+3" -> number. Unknown or out of
// range: error "unknown signal \"FOO\"".
Result<int> parse_signal(std::string_view s);
// 9 -> "SIGKILL"; unknown -> "SIG<n>".
std::string signal_name(int sig);

// Nothing blocked and every signal's action SIG_DFL (SIGKILL and SIGSTOP
// aside): what a container's process starts with, whatever the runtime
// blocked or its caller ignored (a shell's background job ignores SIGINT and
// SIGQUIT, nohup SIGHUP), as with runc. Ignored actions survive execve.
void reset_signals();

}  // namespace berth
