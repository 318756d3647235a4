// Work that the berth verbs do on stdin or stdout (cp, save, load) done for
// a connection: a child runs it with the fd of a pipe as that stdio, the
// connection's process relays between the pipe and the client.
#pragma once
#include <sys/types.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "libutil/error.hpp"
#include "libutil/fd.hpp"
#include "manager/serve/call.hpp"

namespace berth::manager::serve {

struct PipeChild {
    pid_t pid = -1;
    UniqueFd err;  // the child's error message, if it fails
    // Waits for it: "" when it worked, else its error.
    std::string end();
};

// Forks a child that runs `fn` with `fd` as its `target` (STDIN_FILENO or
// STDOUT_FILENO). pid -1 when it could not.
PipeChild spawn_on(int fd, int target, const std::function<Result<void>()>& fn);

// A 200 with `headers` whose chunked body is what `fd` (the read end of
// `child`'s stdout) gives until EOF; the last chunk goes only when the child
// worked, so a client sees a failure after the head as a broken stream.
// False then, or when the client is gone.
bool stream_from(Call& c, UniqueFd fd, PipeChild& child, std::vector<std::pair<std::string, std::string>> headers);

// The request's body, written to `fd` as it comes.
std::expected<void, HttpError> body_to(Call& c, int fd);

}  // namespace berth::manager::serve
