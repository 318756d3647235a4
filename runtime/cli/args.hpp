// Command-line parsing the way runc's CLI library accepts it: flags as
// -name or --name, values as "--name V" or "--name=V", flags before or after
// the positional arguments, "--" ends the flags.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "libutil/error.hpp"

namespace berth::runtime {

struct FlagSpec {
    const char* name;   // long name
    const char* alias;  // short name or nullptr
    bool takes_value;
};

struct Args {
    std::vector<std::string> positional;
    std::map<std::string, std::string> values;  // by long name; "true" for booleans
    std::map<std::string, std::vector<std::string>> all;  // every value of repeatable flags (-e, -c)

    bool has(const std::string& name) const { return values.count(name) > 0; }
    std::string get(const std::string& name, std::string def = "") const {
        auto it = values.find(name);
        return it == values.end() ? def : it->second;
    }
    std::vector<std::string> get_all(const std::string& name) const {
        auto it = all.find(name);
        return it == all.end() ? std::vector<std::string>{} : it->second;
    }
};

// Error: "flag provided but not defined: -x" (runc's wording).
// With `stop_at_positional`, everything from the first positional on is
// positional (for `ps ID [ps-args]`, whose tail belongs to ps).
Result<Args> parse_args(int argc, char** argv, int start, const std::vector<FlagSpec>& specs,
                        bool stop_at_positional = false);

}  // namespace berth::runtime
