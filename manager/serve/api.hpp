// The Docker Engine API that `berth serve` offers: the routes, and the
// handlers that do each through the same manager code as the berth CLI
// (so what one does, the other sees). One connection is served by one
// process (serve.cpp forks per connection); a handler may keep it for a
// long time (wait, logs --follow, attach) without holding up the others.
#pragma once
#include "libutil/fd.hpp"

namespace berth::manager {
struct GlobalOptions;
}

namespace berth::manager::serve {

// The newest API version served, and the oldest one accepted in a path.
inline constexpr const char* kApiVersion = "1.41";
inline constexpr const char* kMinApiVersion = "1.24";

// Serves requests on `fd` until the client closes it, a request says
// "Connection: close", a handler keeps the connection (hijack), or an
// error leaves it in an unknown state.
void serve_connection(const GlobalOptions& g, UniqueFd fd);

}  // namespace berth::manager::serve
