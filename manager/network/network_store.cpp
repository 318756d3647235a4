#include "manager/network/network_store.hpp"

#include <cstdio>
#include <cstdlib>
#include <set>

#include "libutil/json.hpp"
#include "libutil/strings.hpp"
#include "manager/images/import.hpp"
#include "manager/images/sqlite.hpp"
#include "manager/containers/events.hpp"

namespace berth::manager {

namespace {

// Subnets picked when `network create` is given none: podman's 10.89.N.0/24,
// and for --ipv6 fd00:4254:N::/64 (N = 0 to ff; 42 54 is "BT"), unique local
// addresses (RFC 4193) of ours, the first that overlaps no other network.
constexpr int kAutoSubnets = 256;

json::Value map_json(const std::map<std::string, std::string>& m) {
    auto o = json::Value::object();
    for (const auto& [k, v] : m) o.set(k, json::Value::string(v));
    return o;
}

std::map<std::string, std::string> map_from(const std::string& text) {
    std::map<std::string, std::string> out;
    if (auto v = json::parse(text); v && v->is_object())
        for (const auto& [k, val] : v->members())
            if (val.is_string()) out[k] = val.as_string();
    return out;
}

std::vector<std::string> list_from(const std::string& text) {
    std::vector<std::string> out;
    if (auto v = json::parse(text); v && v->is_array())
        for (const auto& i : v->items())
            if (i.is_string()) out.push_back(i.as_string());
    return out;
}

constexpr const char* kColumns =
    "SELECT name, id, driver, bridge, subnet4, gateway4, subnet6, gateway6, internal, labels, options, created "
    "FROM networks";

NetworkRecord network_row(sqlite3_stmt* s) {
    NetworkRecord n;
    n.name = column_text(s, 0);
    n.id = column_text(s, 1);
    n.driver = column_text(s, 2);
    n.bridge = column_text(s, 3);
    if (auto sub = parse_subnet(column_text(s, 4))) n.subnet4 = *sub;
    if (auto gw = parse_ip(column_text(s, 5))) n.gateway4 = *gw;
    if (auto sub = parse_subnet(column_text(s, 6))) n.subnet6 = *sub;
    if (auto gw = parse_ip(column_text(s, 7))) n.gateway6 = *gw;
    n.internal = sqlite3_column_int64(s, 8) != 0;
    n.labels = map_from(column_text(s, 9));
    n.options = map_from(column_text(s, 10));
    n.created = column_text(s, 11);
    return n;
}

Result<std::vector<NetworkRecord>> query_networks(sqlite3* db, const std::string& where, const std::string& arg) {
    Query q(db, cat(kColumns, where, " ORDER BY name").c_str());
    if (!arg.empty()) q.bind(arg);
    std::vector<NetworkRecord> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) out.push_back(network_row(q.get()));
    if (rc != SQLITE_DONE) return Err("berth.db: read networks: ", sqlite3_errmsg(db));
    return out;
}

Result<void> insert_network(sqlite3* db, const NetworkRecord& n) {
    Query q(db,
            "INSERT INTO networks (name, id, driver, bridge, subnet4, gateway4, subnet6, gateway6, internal, labels, "
            "options, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
    q.bind(n.name)
        .bind(n.id)
        .bind(n.driver)
        .bind(n.bridge)
        .bind(n.subnet4 ? n.subnet4->str() : "")
        .bind(n.gateway4.empty() ? "" : n.gateway4.str())
        .bind(n.subnet6 ? n.subnet6->str() : "")
        .bind(n.gateway6.empty() ? "" : n.gateway6.str())
        .bind(int64_t{n.internal})
        .bind(json::write(map_json(n.labels)))
        .bind(json::write(map_json(n.options)))
        .bind(n.created);
    return q.run(cat("berth.db: add network ", n.name));
}

// The network's own addresses: never leased.
bool reserved(const Subnet& s, const IpAddress& gw, const IpAddress& a) {
    return a == s.network || a == gw || (a.is_v4() && a == s.last());
}

// A subnet holds its network address, the gateway and one container at
// least (and IPv4's broadcast address): a /31 or /32 would leave no address
// to lease, and the gateway would fall outside a /32.
Result<void> check_size(const Subnet& s) {
    if (s.size() < 4)
        return Err("subnet ", s.str(), " is too small: a network needs 4 addresses at least (/",
                   s.network.is_v4() ? 30 : 126, ")");
    return {};
}

// The subnet and gateway of one family: checked, gateway defaulted to the
// first address.
Result<void> check_gateway(const Subnet& s, const IpAddress& gw) {
    if (!s.contains(gw)) return Err("--gateway ", gw.str(), ": not in subnet ", s.str());
    if (gw == s.network || (gw.is_v4() && gw == s.last()))
        return Err("--gateway ", gw.str(), ": the network or broadcast address of ", s.str(), " cannot be a gateway");
    return {};
}

Result<std::string> container_name(sqlite3* db, const std::string& id) {
    Query q(db, "SELECT name FROM containers WHERE id = ?1");
    q.bind(id);
    if (q.step() == SQLITE_ROW) return column_text(q.get(), 0);
    return id.substr(0, 12);
}

Result<std::vector<Lease>> query_leases(sqlite3* db, const char* where, const std::string& arg) {
    Query q(db, cat("SELECT l.network, l.container_id, l.family, l.address, l.aliases, l.iface, n.subnet4, n.subnet6 "
                    "FROM network_leases l JOIN networks n ON n.name = l.network ",
                    where, " ORDER BY length(l.iface), l.iface, l.network, l.family")
                    .c_str());
    q.bind(arg);
    std::vector<Lease> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
        Lease l;
        l.network = column_text(q.get(), 0);
        l.container_id = column_text(q.get(), 1);
        int family = static_cast<int>(sqlite3_column_int64(q.get(), 2));
        if (auto a = parse_ip(column_text(q.get(), 3))) l.address = *a;
        l.aliases = list_from(column_text(q.get(), 4));
        l.iface = column_text(q.get(), 5);
        if (auto s = parse_subnet(column_text(q.get(), family == 4 ? 6 : 7))) l.prefix = s->prefix;
        out.push_back(std::move(l));
    }
    if (rc != SQLITE_DONE) return Err("berth.db: read leases: ", sqlite3_errmsg(db));
    return out;
}

}  // namespace

Result<void> validate_network_name(const std::string& name) {
    bool ok = !name.empty() && name.size() <= 64 && std::isalnum(static_cast<unsigned char>(name[0]));
    for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-');
    if (!ok) return Err("invalid network name \"", name, "\": names are [a-zA-Z0-9][a-zA-Z0-9_.-]* (64 at most)");
    if (name == kDefaultNetwork || name == "none" || name == "host" || name == "default")
        return Err("network name \"", name, "\" is reserved");
    return {};
}

Result<NetworkRecord> NetworkStore::create(const NetworkCreateOptions& o) {
    TRY(validate_network_name(o.name));
    if (o.driver != "bridge") return Err("network driver ", o.driver, " is not supported (bridge)");
    if (!o.options.empty()) return Err("network option ", o.options.begin()->first, " is not supported");
    NetworkRecord n;
    n.name = o.name;
    n.driver = o.driver;
    n.internal = o.internal;
    n.labels = o.labels;
    n.created = now_rfc3339();
    n.id = TRY(random_hex_id());
    for (const auto& text : o.subnets) {
        auto s = parse_subnet(text);
        if (!s) return Err("--subnet ", text, ": ", s.error().message);
        TRY_CTX(check_size(*s), "--subnet ", text);
        auto& slot = s->network.is_v4() ? n.subnet4 : n.subnet6;
        if (slot) return Err("--subnet ", text, ": one subnet per address family (", slot->str(), " given already)");
        slot = *s;
    }
    for (const auto& text : o.gateways) {
        auto gw = parse_ip(text);
        if (!gw) return Err("--gateway ", text, ": ", gw.error().message);
        auto& subnet = gw->is_v4() ? n.subnet4 : n.subnet6;
        auto& slot = gw->is_v4() ? n.gateway4 : n.gateway6;
        if (!subnet) return Err("--gateway ", text, ": needs a --subnet of its address family");
        if (!slot.empty()) return Err("--gateway ", text, ": one gateway per address family");
        TRY(check_gateway(*subnet, *gw));
        slot = *gw;
    }
    bool want6 = o.ipv6 || n.subnet6;
    // Overlaps are checked against the default network too.
    TRY(default_network());
    sqlite3* db = db_.handle();
    TRY(db_.transaction([&]() -> Result<void> {
        if (TRY(query_networks(db, " WHERE name = ?1", n.name)).size())
            return Err("network ", n.name, " already exists");
        auto all = TRY(query_networks(db, "", ""));
        auto overlapping = [&](const Subnet& s) -> const NetworkRecord* {
            for (const auto& other : all)
                for (const auto& os : {other.subnet4, other.subnet6})
                    if (os && os->network.family == s.network.family && os->overlaps(s)) return &other;
            return nullptr;
        };
        for (const auto* s : {&n.subnet4, &n.subnet6})
            if (*s)
                if (auto* other = overlapping(**s)) {
                    const auto& os = (*s)->network.is_v4() ? other->subnet4 : other->subnet6;
                    return Err("subnet ", (*s)->str(), " overlaps network ", other->name, " (", os->str(), ")");
                }
        auto pick = [&](const std::string& pattern_v4, bool v6) -> Result<Subnet> {
            for (int i = 0; i < kAutoSubnets; ++i) {
                char hex[8];
                std::snprintf(hex, sizeof hex, "%x", i);
                std::string text = v6 ? cat("fd00:4254:", hex, "::/64") : cat(pattern_v4, i, ".0/24");
                auto s = TRY(parse_subnet(text));
                if (!overlapping(s)) return s;
            }
            return Err("no free ", v6 ? "IPv6" : "IPv4", " subnet left to pick: give one with --subnet");
        };
        if (!n.subnet4 && !(want6 && !o.subnets.empty())) n.subnet4 = TRY(pick("10.89.", false));
        if (want6 && !n.subnet6) n.subnet6 = TRY(pick("", true));
        if (n.subnet4 && n.gateway4.empty()) n.gateway4 = *n.subnet4->at(1);
        if (n.subnet6 && n.gateway6.empty()) n.gateway6 = *n.subnet6->at(1);
        std::set<std::string> bridges;
        for (const auto& other : all) bridges.insert(other.bridge);
        for (int i = 1; n.bridge.empty(); ++i)
            if (!bridges.count(cat("berth", i))) n.bridge = cat("berth", i);
        return insert_network(db, n);
    }));
    record_event(Event{"network", "create", n.id, {{"name", n.name}, {"type", n.driver}}});
    return n;
}

Result<NetworkRecord> NetworkStore::default_network() {
    sqlite3* db = db_.handle();
    auto found = TRY(query_networks(db, " WHERE name = ?1", kDefaultNetwork));
    if (!found.empty()) return found[0];
    NetworkRecord n;
    n.name = kDefaultNetwork;
    n.bridge = kDefaultBridge;
    n.created = now_rfc3339();
    n.id = TRY(random_hex_id());
    const char* env = std::getenv("BERTH_DEFAULT_SUBNET");
    std::string text = env && *env ? env : kDefaultSubnet;
    auto s = parse_subnet(text);
    if (!s) return Err("BERTH_DEFAULT_SUBNET ", text, ": ", s.error().message);
    TRY_CTX(check_size(*s), "BERTH_DEFAULT_SUBNET ", text);
    (s->network.is_v4() ? n.subnet4 : n.subnet6) = *s;
    (s->network.is_v4() ? n.gateway4 : n.gateway6) = *s->at(1);
    TRY(db_.transaction([&]() -> Result<void> {
        // Another berth may have made it meanwhile: theirs is the one.
        if (!TRY(query_networks(db, " WHERE name = ?1", kDefaultNetwork)).empty()) return {};
        return insert_network(db, n);
    }));
    found = TRY(query_networks(db, " WHERE name = ?1", kDefaultNetwork));
    if (found.empty()) return Err("berth.db: the default network vanished");
    return found[0];
}

Result<std::optional<NetworkRecord>> NetworkStore::get(const std::string& name_or_id) {
    sqlite3* db = db_.handle();
    if (name_or_id == kDefaultNetwork) return std::optional<NetworkRecord>(TRY(default_network()));
    auto by_name = TRY(query_networks(db, " WHERE name = ?1", name_or_id));
    if (!by_name.empty()) return std::optional<NetworkRecord>(by_name[0]);
    if (name_or_id.size() < 3 || name_or_id.find_first_not_of("0123456789abcdef") != std::string::npos)
        return std::optional<NetworkRecord>{};
    auto by_id = TRY(query_networks(db, " WHERE substr(id, 1, length(?1)) = ?1", name_or_id));
    if (by_id.size() > 1) return Err("network id prefix ", name_or_id, " is ambiguous");
    if (by_id.empty()) return std::optional<NetworkRecord>{};
    return std::optional<NetworkRecord>(by_id[0]);
}

Result<std::vector<NetworkRecord>> NetworkStore::list() { return query_networks(db_.handle(), "", ""); }

Result<std::vector<std::string>> NetworkStore::users(const std::string& name) {
    Query q(db_.handle(), "SELECT DISTINCT container_id FROM network_leases WHERE network = ?1 ORDER BY container_id");
    q.bind(name);
    std::vector<std::string> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) out.push_back(column_text(q.get(), 0));
    if (rc != SQLITE_DONE) return Err("berth.db: read leases: ", sqlite3_errmsg(db_.handle()));
    return out;
}

Result<void> check_removable(const std::string& name) {
    if (name == kDefaultNetwork) return Err("network ", name, " is the default network and cannot be removed");
    if (name == "none" || name == "host") return Err("network ", name, " is reserved and cannot be removed");
    return {};
}

Result<void> NetworkStore::remove(const std::string& name) {
    TRY(check_removable(name));
    sqlite3* db = db_.handle();
    auto net = TRY(get(name));
    TRY(db_.transaction([&]() -> Result<void> {
        auto users_now = TRY(users(name));
        if (!users_now.empty())
            return Err("network ", name, " is in use by container ", TRY(container_name(db, users_now[0])));
        Query q(db, "DELETE FROM networks WHERE name = ?1");
        return q.bind(name).run(cat("berth.db: remove network ", name));
    }));
    if (net) record_event(Event{"network", "destroy", net->id, {{"name", net->name}, {"type", net->driver}}});
    return {};
}

Result<std::vector<NetworkRecord>> NetworkStore::prune() {
    sqlite3* db = db_.handle();
    std::vector<NetworkRecord> removed;
    TRY(db_.transaction([&]() -> Result<void> {
        removed = TRY(query_networks(db, " WHERE name != ?1 AND name NOT IN (SELECT network FROM network_leases)",
                                     kDefaultNetwork));
        for (const auto& n : removed) {
            Query q(db, "DELETE FROM networks WHERE name = ?1");
            TRY(q.bind(n.name).run(cat("berth.db: remove network ", n.name)));
        }
        return {};
    }));
    for (const auto& n : removed) record_event(Event{"network", "destroy", n.id, {{"name", n.name}, {"type", n.driver}}});
    return removed;
}

Result<Lease> NetworkStore::allocate(const NetworkRecord& net, const std::string& container_id, int family,
                                     const std::optional<IpAddress>& requested, const std::vector<std::string>& aliases,
                                     const std::string& iface) {
    const auto& subnet = family == 4 ? net.subnet4 : net.subnet6;
    const IpAddress& gw = family == 4 ? net.gateway4 : net.gateway6;
    const char* fam = family == 4 ? "IPv4" : "IPv6";
    if (!subnet) return Err("network ", net.name, " has no ", fam, " subnet");
    sqlite3* db = db_.handle();
    Lease l;
    l.network = net.name;
    l.container_id = container_id;
    l.prefix = subnet->prefix;
    l.aliases = aliases;
    l.iface = iface;
    TRY(db_.transaction([&]() -> Result<void> {
        Query mine(db, "SELECT address FROM network_leases WHERE network = ?1 AND container_id = ?2 AND family = ?3");
        mine.bind(net.name).bind(container_id).bind(int64_t{family});
        if (mine.step() == SQLITE_ROW)
            return Err("container ", TRY(container_name(db, container_id)), " already has ", fam, " address ",
                       column_text(mine.get(), 0), " in network ", net.name);
        // The addresses in use, as offsets into the subnet.
        Query used(db, "SELECT address, container_id FROM network_leases WHERE network = ?1 AND family = ?2");
        used.bind(net.name).bind(int64_t{family});
        std::map<uint64_t, std::string> taken;
        int rc;
        while ((rc = used.step()) == SQLITE_ROW)
            if (auto a = parse_ip(column_text(used.get(), 0)); a && subnet->contains(*a))
                taken[subnet->offset(*a)] = column_text(used.get(), 1);
        if (rc != SQLITE_DONE) return Err("berth.db: read leases: ", sqlite3_errmsg(db));
        if (requested) {
            if (!subnet->contains(*requested))
                return Err("IP address ", requested->str(), " is not in network ", net.name, "'s subnet ", subnet->str());
            if (reserved(*subnet, gw, *requested))
                return Err("IP address ", requested->str(), " is reserved in network ", net.name,
                           " (network, gateway or broadcast address)");
            if (auto t = taken.find(subnet->offset(*requested)); t != taken.end())
                return Err("IP address ", requested->str(), " is already in use by container ",
                           TRY(container_name(db, t->second)), " in network ", net.name);
            l.address = *requested;
        } else {
            // The lowest free offset: at most taken.size() + 3 candidates.
            for (uint64_t off = 1; off < subnet->size(); ++off) {
                auto a = subnet->at(off);
                if (!a) break;
                if (reserved(*subnet, gw, *a) || taken.count(off)) continue;
                l.address = *a;
                break;
            }
            if (l.address.empty()) return Err("network ", net.name, " has no free ", fam, " address");
        }
        auto al = json::Value::array();
        for (const auto& a : aliases) al.push(json::Value::string(a));
        Query ins(db,
                  "INSERT INTO network_leases (network, container_id, family, address, aliases, iface) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
        ins.bind(net.name).bind(container_id).bind(int64_t{family}).bind(l.address.str()).bind(json::write(al)).bind(iface);
        return ins.run(cat("berth.db: lease ", l.address.str(), " in network ", net.name));
    }));
    return l;
}

Result<std::vector<Lease>> NetworkStore::leases_of_container(const std::string& container_id) {
    return query_leases(db_.handle(), "WHERE l.container_id = ?1", container_id);
}

Result<std::vector<Lease>> NetworkStore::leases_of_network(const std::string& network) {
    return query_leases(db_.handle(), "WHERE l.network = ?1", network);
}

Result<void> NetworkStore::release(const std::string& container_id, const std::optional<std::string>& network) {
    Query q(db_.handle(), network ? "DELETE FROM network_leases WHERE container_id = ?1 AND network = ?2"
                                  : "DELETE FROM network_leases WHERE container_id = ?1");
    q.bind(container_id);
    if (network) q.bind(*network);
    return q.run(cat("berth.db: release the leases of ", container_id));
}

}  // namespace berth::manager
