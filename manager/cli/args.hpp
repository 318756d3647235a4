// Flag parsing for berth's verbs: --name VALUE, --name=VALUE, -x, and
// positional arguments. An unknown flag is a usage error naming it.
#pragma once
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "libutil/error.hpp"

namespace berth::manager {

struct FlagSpec {
    const char* name;  // long name without dashes: "format"
    char short_name;   // 'q', or 0 for none
    bool takes_value;
};

struct Args {
    std::map<std::string, std::string> values;  // flags given, by long name ("", "true" or "false" for booleans)
    std::vector<std::string> positional;
    std::map<std::string, std::vector<std::string>> all;  // every value of a repeated flag, in order

    // Given, and not a boolean given as =false.
    bool has(const std::string& name) const {
        auto it = values.find(name);
        return it != values.end() && it->second != "false";
    }
    std::string get(const std::string& name, std::string def = "") const {
        auto it = values.find(name);
        return it == values.end() ? def : it->second;
    }
    std::vector<std::string> get_all(const std::string& name) const {
        auto it = all.find(name);
        return it == all.end() ? std::vector<std::string>{} : it->second;
    }
};

// Parses argv[start..argc). "--" ends the flags. Errors: "unknown flag: --x",
// "flag needs an argument: --format". With `stop_at_positional` (run, exec:
// flags after IMAGE belong to the command), the first positional argument
// ends the flags too.
Result<Args> parse_args(int argc, char** argv, int start, std::initializer_list<FlagSpec> flags,
                        bool stop_at_positional = false);

}  // namespace berth::manager
