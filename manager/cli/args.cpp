#include "manager/cli/args.hpp"

#include <string_view>

namespace berth::manager {

Result<Args> parse_args(int argc, char** argv, int start, std::initializer_list<FlagSpec> flags) {
    return parse_args(argc, argv, start, flags, false);
}

Result<Args> parse_args(int argc, char** argv, int start, std::initializer_list<FlagSpec> flags,
                        bool stop_at_positional) {
    Args out;
    bool flags_done = false;
    for (int i = start; i < argc; ++i) {
        std::string_view a = argv[i];
        if (flags_done || a.size() < 2 || a[0] != '-') {
            out.positional.emplace_back(a);
            if (stop_at_positional) flags_done = true;
            continue;
        }
        if (a == "--") {
            flags_done = true;
            continue;
        }
        bool is_long = a[1] == '-';
        if (!is_long && a.size() > 2) {
            // Grouped short flags, as docker takes them: "-it", "-af", "-n5".
            for (size_t k = 1; k < a.size(); ++k) {
                const FlagSpec* spec = nullptr;
                for (const auto& f : flags)
                    if (f.short_name && f.short_name == a[k]) spec = &f;
                if (!spec) return Err("unknown flag: ", a);
                std::string value;
                if (spec->takes_value) {
                    if (k + 1 < a.size()) {
                        value = std::string(a.substr(k + 1));
                    } else {
                        if (i + 1 >= argc) return Err("flag needs an argument: -", a[k]);
                        value = argv[++i];
                    }
                    k = a.size();
                }
                out.values[spec->name] = value;
                out.all[spec->name].push_back(value);
            }
            continue;
        }
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
