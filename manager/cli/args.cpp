#include "manager/cli/args.hpp"

#include <string_view>

namespace berth::manager {

Result<Args> parse_args(int argc, char** argv, int start, std::initializer_list<FlagSpec> flags) {
    Args out;
    bool flags_done = false;
    for (int i = start; i < argc; ++i) {
        std::string_view a = argv[i];
        if (flags_done || a.size() < 2 || a[0] != '-') {
            out.positional.emplace_back(a);
            continue;
        }
        if (a == "--") {
            flags_done = true;
            continue;
        }
        bool is_long = a[1] == '-';
        std::string name(a.substr(is_long ? 2 : 1)), value;
        bool has_value = false;
        if (auto eq = name.find('='); is_long && eq != std::string::npos) {
            value = name.substr(eq + 1);
            name.resize(eq);
            has_value = true;
        }
        const FlagSpec* spec = nullptr;
        for (const auto& f : flags)
            if (is_long ? name == f.name : (name.size() == 1 && name[0] == f.short_name && f.short_name)) spec = &f;
        if (!spec) return Err("unknown flag: ", a);
        if (spec->takes_value && !has_value) {
            if (i + 1 >= argc) return Err("flag needs an argument: ", a);
            value = argv[++i];
        } else if (!spec->takes_value && has_value && value != "true" && value != "false") {
            // Booleans take =true and =false, as in podman (--tls-verify=false).
            return Err("flag does not take a value: ", a);
        }
        out.values[spec->name] = value;
        out.all[spec->name].push_back(value);
    }
    return out;
}

}  // namespace berth::manager
