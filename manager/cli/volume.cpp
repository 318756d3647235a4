// `berth volume create|ls|inspect|rm|prune`: volumes as docker's local
// driver keeps them (manager/volumes/volume_store.hpp).
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "libutil/json.hpp"
#include "libutil/strings.hpp"
#include "manager/cli/args.hpp"
#include "manager/cli/commands.hpp"
#include "manager/volumes/volume_store.hpp"

namespace berth::manager {

namespace {

// -o/-l KEY=VALUE, repeated; a later KEY replaces an earlier one.
Result<std::map<std::string, std::string>> key_values(const std::vector<std::string>& items, const char* flag) {
    std::map<std::string, std::string> out;
    for (const auto& kv : items) {
        auto eq = kv.find('=');
        if (eq == 0 || (eq == std::string::npos && std::string_view(flag) == "--opt"))
            return Err(flag, " ", quote(kv), ": want KEY=VALUE");
        if (eq == std::string::npos)
            out[kv] = "";  // a label without a value, as docker allows
        else
            out[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    return out;
}

json::Value string_map(const std::map<std::string, std::string>& m) {
    auto o = json::Value::object();
    for (const auto& [k, v] : m)
        o.set(k, json::Value::string(v));
    return o;
}

int volume_create(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"driver", 'd', true}, {"opt", 'o', true}, {"label", 'l', true}});
    if (!a) return fail(a.error());
    if (a->positional.size() > 1) return fail(Error{0, "volume create: at most one NAME"});
    auto r = [&]() -> Result<std::string> {
        VolumeRecord v;
        v.driver = a->get("driver", "local");
        v.options = TRY(key_values(a->get_all("opt"), "--opt"));
        v.labels = TRY(key_values(a->get_all("label"), "--label"));
        v.name = a->positional.empty() ? TRY(random_hex_id()) : a->positional[0];
        // Validated before the database is opened: a bad name leaves no berth.db.
        TRY(validate_volume_name(v.name));
        TRY(validate_volume_options(v.driver, v.options));
        auto db = TRY(ImageStore::open(g.root));
        TRY(VolumeStore(db, g.root).create(v));
        return v.name;
    }();
    if (!r) return fail(r.error());
    std::printf("%s\n", r->c_str());
    return 0;
}

struct Filters {
    std::optional<bool> dangling;
    std::vector<std::string> names, drivers, labels;
};

Result<Filters> parse_filters(const std::vector<std::string>& items) {
    Filters f;
    for (const auto& item : items) {
        auto eq = item.find('=');
        if (eq == std::string::npos) return Err("--filter ", quote(item), ": want KEY=VALUE");
        std::string k = item.substr(0, eq), v = item.substr(eq + 1);
        if (k == "dangling") {
            if (v == "true" || v == "1")
                f.dangling = true;
            else if (v == "false" || v == "0")
                f.dangling = false;
            else
                return Err("--filter dangling=", v, ": want true or false");
        } else if (k == "name") {
            f.names.push_back(v);
        } else if (k == "driver") {
            f.drivers.push_back(v);
        } else if (k == "label") {
            f.labels.push_back(v);
        } else {
            return Err("--filter ", quote(k), ": unknown filter (dangling, name, driver, label)");
        }
    }
    return f;
}

// docker's rules: a kind given several times matches any of its values;
// name is a substring match; label is KEY or KEY=VALUE.
Result<bool> matches(VolumeStore& s, const VolumeRecord& v, const Filters& f) {
    auto any = [](const std::vector<std::string>& vals, auto pred) {
        return vals.empty() || std::any_of(vals.begin(), vals.end(), pred);
    };
    if (!any(f.names, [&](const std::string& n) { return v.name.find(n) != std::string::npos; })) return false;
    if (!any(f.drivers, [&](const std::string& d) { return v.driver == d; })) return false;
    for (const auto& l : f.labels) {
        auto eq = l.find('=');
        auto it = v.labels.find(l.substr(0, eq));
        if (it == v.labels.end() || (eq != std::string::npos && it->second != l.substr(eq + 1))) return false;
    }
    if (f.dangling && TRY(s.users(v.name)).empty() != *f.dangling) return false;
    return true;
}

int volume_ls(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"quiet", 'q', false}, {"format", 0, true}, {"filter", 'f', true}});
    if (!a) return fail(a.error());
    if (!a->positional.empty()) return fail(Error{0, cat("volume ls: unexpected argument: ", a->positional[0])});
    std::string format = a->get("format", "table");
    if (format != "table" && format != "json")
        return fail(Error{0, cat("volume ls: unsupported --format ", quote(format), " (table or json)")});
    auto r = [&]() -> Result<void> {
        Filters f = TRY(parse_filters(a->get_all("filter")));
        auto db = TRY(ImageStore::open(g.root));
        VolumeStore s(db, g.root);
        std::vector<VolumeRecord> shown;
        for (auto& v : TRY(s.list()))
            if (TRY(matches(s, v, f))) shown.push_back(std::move(v));
        if (a->has("quiet")) {
            for (const auto& v : shown)
                std::printf("%s\n", v.name.c_str());
        } else if (format == "json") {
            // docker: one object per line.
            for (const auto& v : shown) {
                auto o = json::Value::object();
                o.set("Name", json::Value::string(v.name));
                o.set("Driver", json::Value::string(v.driver));
                o.set("Scope", json::Value::string("local"));
                o.set("Mountpoint", json::Value::string(s.data_dir(v.name)));
                o.set("Labels", string_map(v.labels));
                std::printf("%s\n", json::write(o).c_str());
            }
        } else {
            std::printf("%-10s%s\n", "DRIVER", "VOLUME NAME");
            for (const auto& v : shown)
                std::printf("%-10s%s\n", v.driver.c_str(), v.name.c_str());
        }
        return {};
    }();
    return r ? 0 : fail(r.error());
}

int volume_inspect(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {});
    if (!a) return fail(a.error());
    if (a->positional.empty()) return fail(Error{0, "volume inspect: give one or more volume names"});
    auto db = ImageStore::open(g.root);
    if (!db) return fail(db.error());
    VolumeStore s(*db, g.root);
    auto out = json::Value::array();
    int rc = 0;
    for (const auto& name : a->positional) {
        auto v = s.get(name);
        if (!v) {
            rc = fail(v.error());
            continue;
        }
        if (!*v) {
            rc = fail(Error{0, cat("no such volume: ", name)});
            continue;
        }
        auto o = json::Value::object();
        o.set("CreatedAt", json::Value::string((*v)->created));
        o.set("Driver", json::Value::string((*v)->driver));
        o.set("Labels", string_map((*v)->labels));
        o.set("Mountpoint", json::Value::string(s.data_dir(name)));
        o.set("Name", json::Value::string(name));
        o.set("Options", string_map((*v)->options));
        o.set("Scope", json::Value::string("local"));
        o.set("Anonymous", json::Value::boolean((*v)->anonymous));
        out.push(std::move(o));
    }
    std::printf("%s\n", json::write(out, true).c_str());
    return rc;
}

int volume_rm(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"force", 'f', false}});
    if (!a) return fail(a.error());
    if (a->positional.empty()) return fail(Error{0, "volume rm: give one or more volume names"});
    auto db = ImageStore::open(g.root);
    if (!db) return fail(db.error());
    VolumeStore s(*db, g.root);
    int rc = 0;
    for (const auto& name : a->positional) {
        if (auto r = s.remove(name, a->has("force")); !r)
            rc = fail(r.error());
        else
            std::printf("%s\n", name.c_str());
    }
    return rc;
}

int volume_prune(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"force", 'f', false}, {"all", 'a', false}});
    if (!a) return fail(a.error());
    if (!a->positional.empty()) return fail(Error{0, cat("volume prune: unexpected argument: ", a->positional[0])});
    if (!a->has("force")) {
        std::fputs(a->has("all") ? "WARNING! This will remove all volumes not used by at least one container.\n"
                                 : "WARNING! This will remove anonymous volumes not used by at least one container.\n",
                   stderr);
        std::fputs("Are you sure you want to continue? [y/N] ", stderr);
        std::string answer;
        std::getline(std::cin, answer);
        if (answer != "y" && answer != "Y" && answer != "yes") return 0;
    }
    auto r = [&]() -> Result<std::vector<std::string>> {
        auto db = TRY(ImageStore::open(g.root));
        return VolumeStore(db, g.root).prune(a->has("all"));
    }();
    if (!r) return fail(r.error());
    for (const auto& n : *r)
        std::printf("%s\n", n.c_str());
    return 0;
}

}  // namespace

int cmd_volume(const GlobalOptions& g, int argc, char** argv, int start) {
    static constexpr std::pair<const char*, int (*)(const GlobalOptions&, int, char**, int)> kSub[] = {
        {"create", volume_create}, {"ls", volume_ls},     {"list", volume_ls},     {"inspect", volume_inspect},
        {"rm", volume_rm},         {"remove", volume_rm}, {"prune", volume_prune},
    };
    if (start >= argc) return fail(Error{0, "volume: give a subcommand (create, ls, inspect, rm, prune)"});
    std::string sub = argv[start];
    for (const auto& [name, fn] : kSub)
        if (sub == name) return fn(g, argc, argv, start + 1);
    return fail(Error{0, cat("volume: unknown subcommand: ", sub)});
}

}  // namespace berth::manager
