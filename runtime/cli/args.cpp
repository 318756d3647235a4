#include "runtime/cli/args.hpp"

namespace berth::runtime {

Result<Args> parse_args(int argc, char** argv, int start, const std::vector<FlagSpec>& specs,
                        bool stop_at_positional) {
    Args out;
    bool flags_done = false;
    for (int i = start; i < argc; ++i) {
        std::string a = argv[i];
        if (flags_done || a.size() < 2 || a[0] != '-') {
            out.positional.push_back(a);
            flags_done = flags_done || stop_at_positional;
            continue;
        }
        if (a == "--") {
            flags_done = true;
            continue;
        }
        std::string name = a.substr(a[1] == '-' ? 2 : 1);
        std::string value;
        bool has_value = false;
        if (auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
            has_value = true;
        }
        const FlagSpec* spec = nullptr;
        for (auto& s : specs)
            if (name == s.name || (s.alias && name == s.alias)) spec = &s;
        if (!spec) return Err("flag provided but not defined: -", name);
        if (spec->takes_value && !has_value) {
            if (i + 1 >= argc) return Err("flag needs an argument: -", name);
            value = argv[++i];
        } else if (!spec->takes_value) {
            if (has_value && value != "true" && value != "false")
                return Err("invalid boolean value ", value, " for -", name);
            if (!has_value) value = "true";
            if (value == "false") {
                out.values.erase(spec->name);
                continue;
            }
        }
        out.values[spec->name] = value;
        if (spec->takes_value) out.all[spec->name].push_back(value);
    }
    return out;
}

}  // namespace berth::runtime
