#include "libutil/log.hpp"
#include "libutil/strings.hpp"
#include "runtime/cli/commands.hpp"

namespace berth::runtime {

int fail(const Error& e) {
    log::fatal(e.what());
    return 1;
}

Result<std::string> one_id(const Args& a, const char* verb) {
    if (a.positional.size() != 1)
        return Err(quote(verb), " requires exactly 1 argument(s): the container id");
    return a.positional[0];
}

}  // namespace berth::runtime
