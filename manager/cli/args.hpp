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

    // Given, and not a boolean given as =false.
    bool has(const std::string& name) const {
        auto it = values.find(name);
        return it != values.end() && it->second != "false";
    }
    std::string get(const std::string& name, std::string def = "") const {
        auto it = values.find(name);
        return it == values.end() ? def : it->second;
    }
};

// Parses argv[start..argc). "--" ends the flags. Errors: "unknown flag: --x",
// "flag needs an argument: --format".
Result<Args> parse_args(int argc, char** argv, int start, std::initializer_list<FlagSpec> flags);

}  // namespace berth::manager
