#include "shim/exit_command.hpp"

#include <sys/wait.h>

#include "libutil/log.hpp"
#include "libutil/strings.hpp"
#include "shim/runtime_cmd.hpp"

namespace berth::shim {

void run_exit_command(const Options& o) {
    std::vector<std::string> argv{o.exit_command};
    argv.insert(argv.end(), o.exit_command_args.begin(), o.exit_command_args.end());
    auto pid = spawn(argv, Stdio{});
    if (!pid) {
        log::error(cat("exit command: ", pid.error().what()));
        return;
    }
    // conmon waits for its exit command too (a blocking waitpid, no timeout):
    // the command is the shim's last child, and waiting lets its failure be
    // logged. Any orphan it leaves is reparented once the shim exits.
    auto st = wait_for(*pid);
    if (!st) {
        log::error(cat("exit command ", o.exit_command, ": ", st.error().what()));
    } else if (!WIFEXITED(*st) || WEXITSTATUS(*st) != 0) {
        log::warn(cat("exit command ", o.exit_command, " ", describe_status(*st)));
    }
}

}  // namespace berth::shim
