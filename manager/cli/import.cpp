// `berth import [--change INSTR=VALUE]... [-m MSG] FILE|- [REF]`
#include "manager/images/import.hpp"

#include <cstdio>

#include "manager/cli/args.hpp"
#include "manager/cli/commands.hpp"

namespace berth::manager {

int cmd_import(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"change", 'c', true}, {"message", 'm', true}, {"quiet", 'q', false}});
    if (!a) return fail(a.error());
    if (a->positional.empty() || a->positional.size() > 2)
        return fail(Error{0, "import: FILE (or - for stdin) and an optional REFERENCE are required"});
    ImportOptions opts;
    opts.changes = a->get_all("change");
    opts.message = a->get("message");
    if (a->positional.size() == 2) {
        auto ref = parse_reference(a->positional[1], g.refs);
        if (!ref) return fail(ref.error());
        opts.names.push_back(ref->str());
    }
    auto id = import_rootfs(a->positional[0], g.root, opts);
    if (!id) return fail(id.error());
    std::printf("%s\n", id->substr(7).c_str());
    return 0;
}

}  // namespace berth::manager
