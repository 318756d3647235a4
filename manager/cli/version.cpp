#include <cstdio>

#include "manager/cli/args.hpp"
#include "manager/cli/commands.hpp"

namespace berth::manager {

int cmd_version(const GlobalOptions&, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {});
    if (!a) return fail(a.error());
    if (!a->positional.empty()) return fail(Error{0, cat("version: unexpected argument: ", a->positional[0])});
    std::printf("berth version %s\n", PACKAGE_VERSION);
    return 0;
}

}  // namespace berth::manager
