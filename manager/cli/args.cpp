#include "manager/cli/args.hpp"

#include <string_view>

namespace berth::manager {

namespace {

void record(Args& out, const FlagSpec& spec, std::string value) {
    out.values[spec.name] = value;
    out.all[spec.name].push_back(std::move(value));
}

const FlagSpec* find_short(std::initializer_list<FlagSpec> flags, char c) {
    for (const auto& f : flags)
        if (f.short_name && f.short_name == c) return &f;
    return nullptr;
}

}  // namespace

Result<Args> parse_args(int argc, char** argv, int start, std::initializer_list<FlagSpec> flags,
                        bool stop_at_positional) {
    Args out;
    bool flags_done = false;
    for (int i = start; i < argc; ++i) {
        std::string_view a = argv[i];
        if (flags_done || a.size() < 2 || a[0] != '-') {
            out.positional.emplace_back(a);
            flags_done = flags_done || stop_at_positional;
            continue;
        }
        if (a == "--") {
            flags_done = true;
            continue;
        }
        bool is_long = a[1] == '-';
        if (!is_long && a.size() > 2) {
            // Grouped short flags as getopt takes them: -it, -dit; a flag that
            // takes a value ends the group and takes the rest or the next word.
            for (size_t k = 1; k < a.size(); ++k) {
                const FlagSpec* spec = find_short(flags, a[k]);
                if (!spec) return Err("unknown flag: ", a);
                if (!spec->takes_value) {
                    record(out, *spec, "");
                    continue;
                }
                std::string value(a.substr(k + 1));
                if (value.empty()) {
                    if (i + 1 >= argc) return Err("flag needs an argument: -", a[k]);
                    value = argv[++i];
                }
                record(out, *spec, std::move(value));
                break;
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
        record(out, *spec, std::move(value));
    }
    return out;
}

}  // namespace berth::manager
