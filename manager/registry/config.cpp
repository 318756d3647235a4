#include "manager/registry/config.hpp"

#include <cerrno>

#include "libutil/strings.hpp"

namespace berth::manager::registry {

namespace {

// A TOML basic string "..." with \" \\ \n \t escapes.
Result<std::string> parse_string(std::string_view v) {
    if (v.size() < 2 || v.front() != '"') return Err("expected a quoted string");
    std::string out;
    size_t i = 1;
    for (; i < v.size() && v[i] != '"'; ++i) {
        if (v[i] != '\\') {
            out.push_back(v[i]);
            continue;
        }
        if (++i >= v.size()) break;
        switch (v[i]) {
            case '"':
                out.push_back('"');
                break;
            case '\\':
                out.push_back('\\');
                break;
            case 'n':
                out.push_back('\n');
                break;
            case 't':
                out.push_back('\t');
                break;
            default:
                return Err("unsupported escape \\", v[i]);
        }
    }
    if (i >= v.size()) return Err("unterminated string");
    if (!trim(v.substr(i + 1)).empty()) return Err("unexpected text after the string");
    return out;
}

Result<bool> parse_bool(std::string_view v) {
    if (v == "true") return true;
    if (v == "false") return false;
    return Err("expected true or false, got ", quote(v));
}

// Drops a comment that is not inside a string.
std::string_view strip_comment(std::string_view line) {
    bool in_str = false;
    for (size_t i = 0; i < line.size(); ++i) {
        if (line[i] == '\\' && in_str) {
            ++i;
        } else if (line[i] == '"') {
            in_str = !in_str;
        } else if (line[i] == '#' && !in_str) {
            return line.substr(0, i);
        }
    }
    return line;
}

Result<void> check_location(std::string_view loc) {
    if (loc.empty()) return Err("must not be empty");
    if (loc.find("://") != std::string_view::npos) return Err("a location has no scheme: ", quote(loc));
    if (loc.back() == '/' || loc.find_first_of(" \t") != std::string_view::npos)
        return Err("invalid location ", quote(loc));
    return {};
}

}  // namespace

const RegistryEntry* RegistriesConfig::find(std::string_view repository) const {
    const RegistryEntry* best = nullptr;
    for (const auto& r : registries) {
        bool match =
            repository == r.location || (repository.starts_with(r.location) && repository[r.location.size()] == '/');
        if (match && (!best || r.location.size() > best->location.size())) best = &r;
    }
    return best;
}

Result<RegistriesConfig> parse_registries_conf(std::string_view text, const std::string& file) {
    RegistriesConfig cfg;
    bool in_registry = false;
    int lineno = 0;
    for (const auto& raw : split(text, '\n')) {
        ++lineno;
        std::string_view line = trim(strip_comment(raw));
        if (line.empty()) continue;
        auto where = [&](std::string_view key) { return cat(file, ":", lineno, ": ", key); };
        if (line.starts_with("[")) {
            if (line != "[[registry]]") return Err(where(line), ": unknown table (only [[registry]])");
            if (in_registry && cfg.registries.back().location.empty())
                return Err(file, ":", lineno, ": [[registry]] above has no location");
            cfg.registries.emplace_back();
            in_registry = true;
            continue;
        }
        auto eq = line.find('=');
        if (eq == std::string_view::npos) return Err(where(line), ": expected KEY = VALUE");
        std::string key(trim(line.substr(0, eq)));
        std::string_view value = trim(line.substr(eq + 1));
        if (!in_registry && key == "default-registry") {
            cfg.default_registry = TRY_CTX(parse_string(value), where(key));
            TRY_CTX(check_location(cfg.default_registry), where(key));
        } else if (in_registry && key == "location") {
            cfg.registries.back().location = TRY_CTX(parse_string(value), where(key));
            TRY_CTX(check_location(cfg.registries.back().location), where(key));
        } else if (in_registry && key == "insecure") {
            cfg.registries.back().insecure = TRY_CTX(parse_bool(value), where(key));
        } else {
            return Err(where(key), ": unknown key");
        }
    }
    if (in_registry && cfg.registries.back().location.empty())
        return Err(file, ": the last [[registry]] has no location");
    return cfg;
}

Result<RegistriesConfig> load_registries_conf(const std::string& file, bool missing_ok) {
    auto text = read_file(file);
    if (!text) {
        if (missing_ok && text.error().code == ENOENT) return RegistriesConfig{};
        return std::unexpected(text.error());
    }
    return parse_registries_conf(*text, file);
}

}  // namespace berth::manager::registry
