// The client side of the shim's attach socket (shim/README.md): what
// `berth run` (without -d), `start -a` and `attach` use to stream a
// container's stdio to the user's terminal.
#pragma once
#include <functional>
#include <optional>
#include <string>

#include "libutil/error.hpp"
#include "libutil/fd.hpp"

namespace berth::manager {

// Connects to RUN_DIR/attach and waits for the shim's "attached".
Result<UniqueFd> connect_attach(const std::string& run_dir);

struct AttachEnd {
    bool detached = false;             // the user typed the detach keys
    std::optional<int64_t> exit_code;  // the process exited
};

struct AttachOptions {
    bool forward_stdin = false;  // -i
    bool tty = false;            // -t: raw local terminal, window size sent to the pty
    // Called with a signal berth received (SIGINT, SIGTERM, ...) in pipe
    // mode, to pass it to the container (docker's --sig-proxy).
    std::function<void(int)> proxy_signal;
};

// Streams until the process exits, the user detaches or the shim goes.
Result<AttachEnd> attach_stream(int sock, const AttachOptions& o);

}  // namespace berth::manager
