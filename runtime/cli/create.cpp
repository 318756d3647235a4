#include "libutil/strings.hpp"
#include "runtime/cli/commands.hpp"
#include "runtime/container/launch.hpp"

namespace berth::runtime {

// Flags shared by create and run.
extern const std::vector<FlagSpec> kCreateFlags;
const std::vector<FlagSpec> kCreateFlags = {
    {"bundle", "b", true},       {"console-socket", nullptr, true}, {"pid-file", nullptr, true},
    {"no-pivot", nullptr, false}, {"no-new-keyring", nullptr, false}, {"preserve-fds", nullptr, true},
    {"detach", "d", false},      {"keep", nullptr, false},          {"no-subreaper", nullptr, false},
};

Result<CreateOptions> create_options(const Args& a, const char* verb) {
    CreateOptions o;
    o.id = TRY(one_id(a, verb));
    o.bundle = a.get("bundle");
    o.console_socket = a.get("console-socket");
    o.pid_file = a.get("pid-file");
    o.no_pivot = a.has("no-pivot");
    o.no_new_keyring = a.has("no-new-keyring");
    if (a.has("preserve-fds")) {
        auto n = parse_u64(a.get("preserve-fds"));
        if (!n || *n > 65536) return Err("--preserve-fds ", quote(a.get("preserve-fds")), ": not a count of fds");
        o.preserve_fds = static_cast<int>(*n);
    }
    return o;
}

int cmd_create(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, kCreateFlags);
    if (!a) return fail(a.error());
    auto o = create_options(*a, "create");
    if (!o) return fail(o.error());
    auto c = create_container(g, *o);
    if (!c) return fail(c.error());
    return 0;
}

}  // namespace berth::runtime
