// /networks: list, inspect, create, remove, prune, connect, disconnect, on
// the same store and setup code as `berth network`, in docker's shape.
#include "libutil/strings.hpp"
#include "manager/containers/inspect.hpp"
#include "manager/network/network_store.hpp"
#include "manager/network/setup.hpp"
#include "manager/serve/call.hpp"

namespace berth::manager::serve {

namespace {

// docker's network object; Containers with the leases' addresses.
json::Value network_json(Engine& e, NetworkStore& s, const NetworkRecord& n) {
    auto o = json::Value::object();
    o.set("Name", str(n.name));
    o.set("Id", str(n.id));
    o.set("Created", str(n.created));
    o.set("Scope", str("local"));
    o.set("Driver", str(n.driver));
    o.set("EnableIPv6", json::Value::boolean(n.subnet6.has_value()));
    auto configs = json::Value::array();
    auto add = [&](const std::optional<Subnet>& sn, const IpAddress& gw) {
        if (!sn) return;
        auto c = json::Value::object();
        c.set("Subnet", str(sn->str()));
        if (!gw.empty()) c.set("Gateway", str(gw.str()));
        configs.push(std::move(c));
    };
    add(n.subnet4, n.gateway4);
    add(n.subnet6, n.gateway6);
    auto ipam = json::Value::object();
    ipam.set("Driver", str("default"));
    ipam.set("Config", std::move(configs));
    o.set("IPAM", std::move(ipam));
    o.set("Internal", json::Value::boolean(n.internal));
    o.set("Attachable", json::Value::boolean(false));
    auto containers = json::Value::object();
    for (const auto& l : s.leases_of_network(n.name).value_or(std::vector<Lease>{})) {
        auto ct = e.containers.get(l.container_id);
        auto entry = containers.find(l.container_id) ? *containers.find(l.container_id) : json::Value::object();
        entry.set("Name", str(ct && *ct ? (*ct)->name : ""));
        entry.set(l.address.is_v4() ? "IPv4Address" : "IPv6Address", str(cat(l.address.str(), "/", l.prefix)));
        containers.set(l.container_id, std::move(entry));
    }
    o.set("Containers", std::move(containers));
    auto opts = string_map(n.options);
    opts.set("com.docker.network.bridge.name", str(n.bridge));
    o.set("Options", std::move(opts));
    o.set("Labels", string_map(n.labels));
    return o;
}

// The default network by docker's names too ("bridge" is ours already).
std::expected<NetworkRecord, HttpError> find_net(Engine& e, const std::string& name) {
    NetworkStore s(e.db());
    auto n = name == kDefaultNetwork ? Result<std::optional<NetworkRecord>>(s.default_network()) : s.get(name);
    if (!n) return std::unexpected(api_error(n.error()));
    if (!*n) return std::unexpected(http_error(404, cat("network ", name, " not found")));
    return **n;
}

std::string string_of(const json::Value* v) {
    return v && v->is_string() ? v->as_string() : std::string();
}

}  // namespace

ApiResult networks_list(Call& c) {
    Engine* e = TRY(c.engine());
    NetworkStore s(e->db());
    (void)s.default_network();  // docker always lists its bridge
    auto list = s.list();
    if (!list) return std::unexpected(api_error(list.error()));
    auto filters = TRY(query_filters(c, {"name", "id", "driver", "label"}));
    auto out = json::Value::array();
    for (const auto& n : *list) {
        bool keep = true;
        for (const auto& [key, want] : filters) {
            bool any = want.empty() || (key == "label" && labels_match(n.labels, want));
            for (const auto& w : want) {
                if (key == "name") any = any || n.name.find(w) != std::string::npos;
                else if (key == "id") any = any || n.id.starts_with(w);
                else if (key == "driver") any = any || n.driver == w;
            }
            keep = keep && any;
        }
        if (keep) out.push(network_json(*e, s, n));
    }
    return send_json(c, 200, out);
}

ApiResult network_inspect(Call& c) {
    Engine* e = TRY(c.engine());
    auto n = TRY(find_net(*e, c.args.at(0)));
    NetworkStore s(e->db());
    return send_json(c, 200, network_json(*e, s, n));
}

ApiResult network_create(Call& c) {
    auto body = TRY(read_json(c));
    Engine* e = TRY(c.engine());
    if (!body.is_object()) return std::unexpected(http_error(400, "the body is not a JSON object"));
    NetworkCreateOptions o;
    if (auto* n = body.find("Name"); n && n->is_string()) o.name = n->as_string();
    if (auto* d = body.find("Driver"); d && d->is_string() && !d->as_string().empty()) o.driver = d->as_string();
    if (auto* i = body.find("Internal"); i && i->is_bool()) o.internal = i->as_bool();
    if (auto* v6 = body.find("EnableIPv6"); v6 && v6->is_bool()) o.ipv6 = v6->as_bool();
    o.labels = map_of(body.find("Labels"));
    o.options = map_of(body.find("Options"));
    if (auto* ipam = body.find("IPAM"); ipam && ipam->is_object())
        if (auto* cfgs = ipam->find("Config"); cfgs && cfgs->is_array())
            for (const auto& cfg : cfgs->items()) {
                if (auto* sn = cfg.find("Subnet"); sn && sn->is_string()) o.subnets.push_back(sn->as_string());
                if (auto* gw = cfg.find("Gateway"); gw && gw->is_string()) o.gateways.push_back(gw->as_string());
            }
    if (auto r = validate_network_name(o.name); !r) return std::unexpected(http_error(400, r.error().what()));
    auto made = NetworkStore(e->db()).create(o);
    if (!made) {
        auto err = api_error(made.error());
        if (err.status == 500) err.status = made.error().message.find("already") != std::string::npos ? 409 : 400;
        return std::unexpected(err);
    }
    auto v = json::Value::object();
    v.set("Id", str(made->id));
    v.set("Warning", str(""));
    return send_json(c, 201, v);
}

ApiResult network_delete(Call& c) {
    Engine* e = TRY(c.engine());
    auto n = TRY(find_net(*e, c.args.at(0)));
    if (auto r = check_removable(n.name); !r) return std::unexpected(http_error(403, r.error().what()));
    NetworkStore s(e->db());
    if (auto users = s.users(n.name); users && !users->empty())
        return std::unexpected(http_error(403, cat("error while removing network: network ", n.name, " id ", n.id,
                                                   " has active endpoints")));
    if (auto r = s.remove(n.name); !r) return std::unexpected(api_error(r.error()));
    if (auto r = teardown_network(n); !r) return std::unexpected(api_error(r.error()));
    return send_empty(c, 204);
}

ApiResult networks_prune(Call& c) {
    Engine* e = TRY(c.engine());
    auto removed = NetworkStore(e->db()).prune();
    if (!removed) return std::unexpected(api_error(removed.error()));
    auto names = json::Value::array();
    for (const auto& n : *removed) {
        (void)teardown_network(n);
        names.push(str(n.name));
    }
    auto out = json::Value::object();
    out.set("NetworksDeleted", std::move(names));
    return send_json(c, 200, out);
}

ApiResult network_connect(Call& c) {
    Engine* e = TRY(c.engine());
    auto n = TRY(find_net(*e, c.args.at(0)));
    auto body = TRY(read_json(c));
    auto rec = TRY(find_container(c, body.is_object() ? string_of(body.find("Container")) : ""));
    std::string ip, ip6;
    std::vector<std::string> aliases;
    if (auto* ep = body.find("EndpointConfig"); ep && ep->is_object()) {
        if (auto* a = ep->find("Aliases"); a && a->is_array())
            for (const auto& x : a->items())
                if (x.is_string()) aliases.push_back(x.as_string());
        if (auto* ipam = ep->find("IPAMConfig"); ipam && ipam->is_object()) {
            if (auto* v = ipam->find("IPv4Address"); v && v->is_string()) ip = v->as_string();
            if (auto* v = ipam->find("IPv6Address"); v && v->is_string()) ip6 = v->as_string();
        }
    }
    auto held = ContainerLock::take(e->paths, rec.id);
    if (!held) return std::unexpected(api_error(held.error()));
    if (auto r = refresh(*e, rec); !r) return std::unexpected(api_error(r.error()));
    if (auto r = manager::network_connect(*e, rec, n, ip, ip6, aliases); !r) {
        auto err = api_error(r.error());
        if (err.status == 500) err.status = 400;
        return std::unexpected(err);
    }
    return send(c, 200, "", "");
}

ApiResult network_disconnect(Call& c) {
    Engine* e = TRY(c.engine());
    auto n = TRY(find_net(*e, c.args.at(0)));
    auto body = TRY(read_json(c));
    auto rec = TRY(find_container(c, body.is_object() ? string_of(body.find("Container")) : ""));
    auto held = ContainerLock::take(e->paths, rec.id);
    if (!held) return std::unexpected(api_error(held.error()));
    if (auto r = refresh(*e, rec); !r) return std::unexpected(api_error(r.error()));
    if (auto r = manager::network_disconnect(*e, rec, n); !r) {
        auto err = api_error(r.error());
        if (err.status == 500) err.status = 400;
        return std::unexpected(err);
    }
    return send(c, 200, "", "");
}

}  // namespace berth::manager::serve
