#include "manager/images/load.hpp"

#include <cstdio>

#include "manager/cli/args.hpp"
#include "manager/cli/commands.hpp"

namespace berth::manager {

int cmd_load(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"input", 'i', true}, {"quiet", 'q', false}});
    if (!a) return fail(a.error());
    if (!a->positional.empty()) return fail(Error{0, cat("load: unexpected argument: ", a->positional[0])});
    // Without -i (or with -i -) the archive comes from stdin, as in podman.
    std::string input = a->get("input", "-");
    if (input.empty()) return fail(Error{0, "load: -i must not be empty"});
    auto loaded = load_archive(input, g.root, g.refs);
    if (!loaded) return fail(loaded.error());
    if (!a->has("quiet"))
        for (const auto& img : *loaded) {
            if (img.names.empty()) std::printf("Loaded image: %s\n", img.id.c_str());
            for (const auto& n : img.names)
                std::printf("Loaded image: %s\n", n.c_str());
        }
    return 0;
}

}  // namespace berth::manager
