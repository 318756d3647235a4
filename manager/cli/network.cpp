// `berth network create|ls|inspect|rm|prune`: bridge networks as podman
// keeps them (manager/network/network_store.hpp). connect and disconnect
// are in network_connect.cpp.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "libutil/json.hpp"
#include "libutil/log.hpp"
#include "libutil/strings.hpp"
#include "manager/cli/args.hpp"
#include "manager/cli/commands.hpp"
#include "manager/containers/lifecycle.hpp"
#include "manager/images/sqlite.hpp"
#include "manager/network/network_store.hpp"
#include "manager/network/setup.hpp"

namespace berth::manager {

namespace {

// podman's exit codes for `network rm`: a network that did not exist (and
// nothing else failed), one in use; kExitError for anything else.
constexpr int kExitNotFound = 1;
constexpr int kExitInUse = 2;

// -o/-l KEY=VALUE, repeated; a later KEY replaces an earlier one.
Result<std::map<std::string, std::string>> key_values(const std::vector<std::string>& items, const char* flag) {
    std::map<std::string, std::string> out;
    for (const auto& kv : items) {
        auto eq = kv.find('=');
        if (eq == 0 || (eq == std::string::npos && std::string_view(flag) == "--opt"))
            return Err(flag, " ", quote(kv), ": want KEY=VALUE");
        if (eq == std::string::npos)
            out[kv] = "";  // a label without a value, as podman allows
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

int network_create(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start,
                        {{"subnet", 0, true},
                         {"gateway", 0, true},
                         {"internal", 0, false},
                         {"ipv6", 0, false},
                         {"driver", 'd', true},
                         {"label", 'l', true},
                         {"opt", 'o', true}});
    if (!a) return fail(a.error());
    if (a->positional.size() != 1) return fail(Error{0, "network create: give one NAME"});
    auto r = [&]() -> Result<std::string> {
        NetworkCreateOptions o;
        o.name = a->positional[0];
        o.driver = a->get("driver", "bridge");
        o.subnets = a->get_all("subnet");
        o.gateways = a->get_all("gateway");
        o.internal = a->has("internal");
        o.ipv6 = a->has("ipv6");
        o.labels = TRY(key_values(a->get_all("label"), "--label"));
        o.options = TRY(key_values(a->get_all("opt"), "--opt"));
        // Validated before the database is opened: a bad name leaves no berth.db.
        TRY(validate_network_name(o.name));
        auto db = TRY(ImageStore::open(g.root));
        return TRY(NetworkStore(db).create(o)).name;
    }();
    if (!r) return fail(r.error());
    std::printf("%s\n", r->c_str());
    return 0;
}

// --filter name=X (a substring), id=X (a prefix), driver=X,
// label=KEY[=VALUE]; a kind given several times matches any of its values.
struct Filters {
    std::vector<std::string> names, ids, drivers, labels;
};

Result<Filters> parse_filters(const std::vector<std::string>& items) {
    Filters f;
    for (const auto& item : items) {
        auto eq = item.find('=');
        if (eq == std::string::npos) return Err("--filter ", quote(item), ": want KEY=VALUE");
        std::string k = item.substr(0, eq), v = item.substr(eq + 1);
        if (k == "name")
            f.names.push_back(v);
        else if (k == "id")
            f.ids.push_back(v);
        else if (k == "driver")
            f.drivers.push_back(v);
        else if (k == "label")
            f.labels.push_back(v);
        else
            return Err("--filter ", quote(k), ": unknown filter (name, id, driver, label)");
    }
    return f;
}

bool matches(const NetworkRecord& n, const Filters& f) {
    auto any = [](const std::vector<std::string>& vals, auto pred) {
        return vals.empty() || std::any_of(vals.begin(), vals.end(), pred);
    };
    if (!any(f.names, [&](const std::string& x) { return n.name.find(x) != std::string::npos; })) return false;
    if (!any(f.ids, [&](const std::string& x) { return n.id.starts_with(x); })) return false;
    if (!any(f.drivers, [&](const std::string& x) { return n.driver == x; })) return false;
    for (const auto& l : f.labels) {
        auto eq = l.find('=');
        auto it = n.labels.find(l.substr(0, eq));
        if (it == n.labels.end() || (eq != std::string::npos && it->second != l.substr(eq + 1))) return false;
    }
    return true;
}

json::Value subnets_json(const NetworkRecord& n) {
    auto subnets = json::Value::array();
    auto add = [&](const std::optional<Subnet>& s, const IpAddress& gw) {
        if (!s) return;
        auto o = json::Value::object();
        o.set("subnet", json::Value::string(s->str()));
        if (!gw.empty()) o.set("gateway", json::Value::string(gw.str()));
        subnets.push(std::move(o));
    };
    add(n.subnet4, n.gateway4);
    add(n.subnet6, n.gateway6);
    return subnets;
}

// What podman 5's `network inspect` shows of a container: its interfaces
// on the network and their addresses.
Result<json::Value> containers_json(ImageStore& db, NetworkStore& s, const NetworkRecord& n) {
    // id -> interface -> leases (one per family)
    std::map<std::string, std::map<std::string, std::vector<Lease>>> by_container;
    for (auto& l : TRY(s.leases_of_network(n.name)))
        by_container[l.container_id][l.iface].push_back(std::move(l));
    auto containers = json::Value::object();
    for (const auto& [id, ifaces] : by_container) {
        Query q(db.handle(), "SELECT name FROM containers WHERE id = ?1");
        q.bind(id);
        std::string name = q.step() == SQLITE_ROW ? column_text(q.get(), 0) : "";
        auto ifs = json::Value::object();
        for (const auto& [iface, leases] : ifaces) {
            auto subs = json::Value::array();
            for (const auto& l : leases) {
                auto sub = json::Value::object();
                sub.set("ipnet", json::Value::string(cat(l.address.str(), "/", l.prefix)));
                const IpAddress& gw = l.address.is_v4() ? n.gateway4 : n.gateway6;
                if (!gw.empty()) sub.set("gateway", json::Value::string(gw.str()));
                subs.push(std::move(sub));
            }
            auto aliases = json::Value::array();
            for (const auto& al : leases.front().aliases)
                aliases.push(json::Value::string(al));
            auto i = json::Value::object();
            i.set("subnets", std::move(subs));
            i.set("aliases", std::move(aliases));
            ifs.set(iface, std::move(i));
        }
        auto c = json::Value::object();
        c.set("name", json::Value::string(name));
        c.set("interfaces", std::move(ifs));
        containers.set(id, std::move(c));
    }
    return containers;
}

// podman's network object; `containers` only for inspect.
Result<json::Value> network_json(ImageStore& db, NetworkStore& s, const NetworkRecord& n, bool with_containers) {
    auto o = json::Value::object();
    o.set("name", json::Value::string(n.name));
    o.set("id", json::Value::string(n.id));
    o.set("driver", json::Value::string(n.driver));
    o.set("network_interface", json::Value::string(n.bridge));
    o.set("created", json::Value::string(n.created));
    o.set("subnets", subnets_json(n));
    o.set("ipv6_enabled", json::Value::boolean(n.subnet6.has_value()));
    o.set("internal", json::Value::boolean(n.internal));
    // Names resolve through /etc/hosts, not a DNS server on the bridge.
    o.set("dns_enabled", json::Value::boolean(false));
    o.set("labels", string_map(n.labels));
    o.set("options", string_map(n.options));
    o.set("ipam_options", string_map({{"driver", "host-local"}}));
    if (with_containers) o.set("containers", TRY(containers_json(db, s, n)));
    return o;
}

int network_ls(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start,
                        {{"quiet", 'q', false}, {"format", 0, true}, {"filter", 'f', true}, {"no-trunc", 0, false}});
    if (!a) return fail(a.error());
    if (!a->positional.empty()) return fail(Error{0, cat("network ls: unexpected argument: ", a->positional[0])});
    std::string format = a->get("format", "table");
    if (format != "table" && format != "json")
        return fail(Error{0, cat("network ls: unsupported --format ", quote(format), " (table or json)")});
    auto r = [&]() -> Result<void> {
        Filters f = TRY(parse_filters(a->get_all("filter")));
        auto db = TRY(ImageStore::open(g.root));
        NetworkStore s(db);
        // Listed always, as podman lists its default network.
        TRY(s.default_network());
        std::vector<NetworkRecord> shown;
        for (auto& n : TRY(s.list()))
            if (matches(n, f)) shown.push_back(std::move(n));
        if (a->has("quiet")) {
            for (const auto& n : shown)
                std::printf("%s\n", n.name.c_str());
        } else if (format == "json") {
            auto out = json::Value::array();
            for (const auto& n : shown)
                out.push(TRY(network_json(db, s, n, false)));
            std::printf("%s\n", json::write(out, true).c_str());
        } else {
            // podman's tabwriter: columns 12 wide at least, 2 spaces between.
            size_t id_len = a->has("no-trunc") ? 64 : 12;
            int name_w = 12;
            for (const auto& n : shown)
                name_w = std::max(name_w, static_cast<int>(n.name.size()) + 2);
            int id_w = static_cast<int>(id_len) + 2;
            std::printf("%-*s%-*s%s\n", id_w, "NETWORK ID", name_w, "NAME", "DRIVER");
            for (const auto& n : shown)
                std::printf("%-*s%-*s%s\n", id_w, n.id.substr(0, id_len).c_str(), name_w, n.name.c_str(),
                            n.driver.c_str());
        }
        return {};
    }();
    return r ? 0 : fail(r.error());
}

int network_inspect(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {});
    if (!a) return fail(a.error());
    if (a->positional.empty()) return fail(Error{0, "network inspect: give one or more network names"});
    auto db = ImageStore::open(g.root);
    if (!db) return fail(db.error());
    NetworkStore s(*db);
    auto out = json::Value::array();
    int rc = 0;
    for (const auto& name : a->positional) {
        auto o = [&]() -> Result<json::Value> {
            auto n = TRY(s.get(name));
            if (!n) return Err("network ", name, " not found");
            return network_json(*db, s, *n, true);
        }();
        if (!o)
            rc = fail(o.error());
        else
            out.push(std::move(*o));
    }
    std::printf("%s\n", json::write(out, true).c_str());
    return rc;
}

// The containers on the network removed as `rm -f` removes them (killed
// when running; their anonymous volumes kept).
Result<void> remove_users(const GlobalOptions& g, const std::vector<std::string>& ids) {
    auto e = TRY(Engine::open(g));
    if (auto r = repair_containers(*e); !r) log::warn(r.error().what());
    for (const auto& id : ids) {
        auto r = remove_container(*e, id, true, false);
        // Gone meanwhile (another rm): its lease went with it.
        if (!r && r.error().message.find("no such container") == std::string::npos) return r;
    }
    return {};
}

// After the record is gone: what the kernel holds for it.
Result<void> teardown(const NetworkRecord& n) {
    TRY_CTX(teardown_network(n), "network ", n.name, " removed, but not its bridge ", n.bridge, " or its rules");
    return {};
}

int network_rm(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"force", 'f', false}});
    if (!a) return fail(a.error());
    if (a->positional.empty()) return fail(Error{0, "network rm: give one or more network names"});
    bool force = a->has("force");
    auto db = ImageStore::open(g.root);
    if (!db) return fail(db.error());
    NetworkStore s(*db);
    enum class Failure { None, NotFound, InUse, Other };
    Failure worst = Failure::None;  // in the enum's order
    for (const auto& name : a->positional) {
        Failure why = Failure::Other;
        auto r = [&]() -> Result<bool> {
            TRY(check_removable(name));
            auto n = TRY(s.get(name));
            if (!n) {
                if (force) return false;
                why = Failure::NotFound;
                return Err("network ", name, " not found");
            }
            TRY(check_removable(n->name));  // the default network by its id
            auto users = TRY(s.users(n->name));
            if (!users.empty() && force) TRY(remove_users(g, users));
            if (auto removed = s.remove(n->name); !removed) {
                // Its users without -f, or a container that joined meanwhile.
                if (!TRY(s.users(n->name)).empty()) why = Failure::InUse;
                return std::unexpected(removed.error());
            }
            TRY(teardown(*n));
            return true;
        }();
        if (!r) {
            fail(r.error());
            worst = std::max(worst, why);
        } else if (*r) {
            std::printf("%s\n", name.c_str());
        }
    }
    switch (worst) {
        case Failure::None:
            return 0;
        case Failure::NotFound:
            return kExitNotFound;
        case Failure::InUse:
            return kExitInUse;
        case Failure::Other:
            break;
    }
    return kExitError;
}

int network_prune(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"force", 'f', false}});
    if (!a) return fail(a.error());
    if (!a->positional.empty()) return fail(Error{0, cat("network prune: unexpected argument: ", a->positional[0])});
    if (!a->has("force")) {
        std::fputs("WARNING! This will remove all networks not used by at least one container.\n", stderr);
        std::fputs("Are you sure you want to continue? [y/N] ", stderr);
        std::string answer;
        std::getline(std::cin, answer);
        if (answer != "y" && answer != "Y" && answer != "yes") return 0;
    }
    auto db = ImageStore::open(g.root);
    if (!db) return fail(db.error());
    auto removed = NetworkStore(*db).prune();
    if (!removed) return fail(removed.error());
    int rc = 0;
    for (const auto& n : *removed) {
        std::printf("%s\n", n.name.c_str());
        if (auto t = teardown(n); !t) rc = fail(t.error());
    }
    return rc;
}

}  // namespace

int cmd_network(const GlobalOptions& g, int argc, char** argv, int start) {
    static constexpr std::pair<const char*, int (*)(const GlobalOptions&, int, char**, int)> kSub[] = {
        {"create", network_create},
        {"ls", network_ls},
        {"list", network_ls},
        {"inspect", network_inspect},
        {"rm", network_rm},
        {"remove", network_rm},
        {"prune", network_prune},
        {"connect", cmd_network_connect},
        {"disconnect", cmd_network_disconnect},
        {"reload", cmd_network_reload},
    };
    if (start >= argc)
        return fail(Error{0, "network: give a subcommand (create, ls, inspect, rm, prune, connect, disconnect, reload)"});
    std::string sub = argv[start];
    for (const auto& [name, fn] : kSub)
        if (sub == name) return fn(g, argc, argv, start + 1);
    return fail(Error{0, cat("network: unknown subcommand: ", sub)});
}

}  // namespace berth::manager
