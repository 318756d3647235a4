// The verbs' command-line parser (parse_args): the input is the argument
// list, NUL-separated; its first byte picks the verb's flag table (copies of
// those in runtime/cli/*.cpp).
#include <cstdint>
#include <vector>

#include "runtime/cli/args.hpp"
#include "tests/fuzz/common.hpp"

using namespace berth;
using runtime::FlagSpec;

namespace {

struct Table {
    std::vector<FlagSpec> flags;
    bool stop_at_positional;
};

const std::vector<Table>& tables() {
    static const std::vector<Table> t = {
        // create, run
        {{{"bundle", "b", true},
          {"console-socket", nullptr, true},
          {"pid-file", nullptr, true},
          {"no-pivot", nullptr, false},
          {"no-new-keyring", nullptr, false},
          {"preserve-fds", nullptr, true},
          {"detach", "d", false},
          {"keep", nullptr, false},
          {"no-subreaper", nullptr, false}},
         false},
        // exec
        {{{"console-socket", nullptr, true}, {"cwd", nullptr, true},       {"env", "e", true},
          {"tty", "t", false},               {"user", "u", true},          {"additional-gids", "g", true},
          {"process", "p", true},            {"detach", "d", false},       {"pid-file", nullptr, true},
          {"process-label", nullptr, true},  {"apparmor", nullptr, true},  {"no-new-privs", nullptr, false},
          {"cap", "c", true},                {"preserve-fds", nullptr, true}, {"cgroup", nullptr, true},
          {"ignore-paused", nullptr, false}},
         true},
        // update
        {{{"resources", "r", true}, {"memory", nullptr, true}, {"memory-swap", nullptr, true},
          {"cpu-quota", nullptr, true}, {"cpuset-cpus", nullptr, true}, {"pids-limit", nullptr, true}},
         false},
        // list, ps
        {{{"format", "f", true}, {"quiet", "q", false}}, false},
        {{{"format", "f", true}}, true},
        // delete, kill, spec, events
        {{{"force", "f", false}}, false},
        {{{"all", "a", false}}, false},
        {{{"bundle", "b", true}, {"rootless", nullptr, false}}, false},
        {{{"stats", nullptr, false}, {"interval", nullptr, true}}, false},
        // start, state, pause, features
        {{}, false},
    };
    return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const Table& table = tables()[data[0] % tables().size()];
    std::string_view rest = fuzz::text_of(data + 1, size - 1);

    // argv[0] is the verb, as runtime/main.cpp passes it.
    std::vector<std::string> words = {"verb"};
    for (size_t start = 0; start <= rest.size();) {
        size_t end = rest.find('\0', start);
        if (end == std::string_view::npos) end = rest.size();
        words.emplace_back(rest.substr(start, end - start));
        start = end + 1;
    }
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    int argc = static_cast<int>(words.size());

    auto a = runtime::parse_args(argc, argv.data(), 1, table.flags, table.stop_at_positional);
    if (!a) {
        FUZZ_REQUIRE(!a.error().message.empty(), "empty error");
        return 0;
    }
    FUZZ_REQUIRE(a->positional.size() < words.size(), "more positionals than words");
    auto known = [&](const std::string& name) -> const FlagSpec* {
        for (auto& f : table.flags)
            if (name == f.name) return &f;
        return nullptr;
    };
    for (auto& [name, value] : a->values) {
        const FlagSpec* f = known(name);
        FUZZ_REQUIRE(f != nullptr, name);
        if (!f->takes_value) FUZZ_REQUIRE(value == "true", name + "=" + value);
        else FUZZ_REQUIRE(!a->get_all(name).empty() && a->get_all(name).back() == value, name);
    }
    for (auto& [name, values] : a->all) FUZZ_REQUIRE(known(name) && known(name)->takes_value, name);
    return 0;
}
