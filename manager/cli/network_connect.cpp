// `berth port` and `berth network connect|disconnect`: the commands that
// act on a container's networks (manager/network/setup.hpp does the work).
#include <cstdio>

#include "libutil/strings.hpp"
#include "manager/cli/args.hpp"
#include "manager/cli/commands.hpp"
#include "manager/containers/lifecycle.hpp"
#include "manager/network/setup.hpp"

namespace berth::manager {

namespace {

Result<NetworkRecord> find_network(ImageStore& db, const std::string& name) {
    NetworkStore store(db);
    if (name == kDefaultNetwork) return store.default_network();
    auto n = TRY(store.get(name));
    if (!n) return Err("network ", name, " not found");
    return std::move(*n);
}

}  // namespace

int cmd_port(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {});
    if (!a) return fail(a.error());
    if (a->positional.empty() || a->positional.size() > 2)
        return fail(Error{0, "port: CONTAINER [PORT[/PROTOCOL]] is needed"});
    std::string filter = a->positional.size() == 2 ? a->positional[1] : "";
    auto e = Engine::open(g);
    if (!e) return fail(e.error());
    auto c = (*e)->containers.find(a->positional[0]);
    if (!c) return fail(c.error());
    std::vector<PortBinding> ports;
    if (c->state == "running" || c->state == "paused") {
        auto p = published_ports(**e, c->id);
        if (!p) return fail(p.error());
        ports = std::move(*p);
    }
    auto lines = port_lines(ports, filter);
    if (lines.empty() && !filter.empty()) {
        std::string key = filter.find('/') == std::string::npos ? filter + "/tcp" : filter;
        return fail(Error{0, cat("no public port '", key, "' published for ", c->name)});
    }
    for (const auto& l : lines) std::printf("%s\n", l.c_str());
    return 0;
}

int cmd_network_connect(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"ip", 0, true}, {"ip6", 0, true}, {"alias", 0, true}});
    if (!a) return fail(a.error());
    if (a->positional.size() != 2) return fail(Error{0, "network connect: NETWORK CONTAINER is needed"});
    for (const char* flag : {"ip", "ip6"})
        if (a->values.count(flag)) {
            auto ip = parse_ip(a->get(flag));
            if (!ip || ip->is_v4() != (std::string_view(flag) == "ip"))
                return fail(Error{0, cat("invalid value \"", a->get(flag), "\" for --", flag, ": not an ",
                                         std::string_view(flag) == "ip" ? "IPv4" : "IPv6", " address")});
        }
    auto e = Engine::open(g);
    if (!e) return fail(e.error());
    auto net = find_network((*e)->db(), a->positional[0]);
    if (!net) return fail(net.error());
    auto c = (*e)->containers.find(a->positional[1]);
    if (!c) return fail(c.error());
    auto held = ContainerLock::take((*e)->paths, c->id);
    if (!held) return fail(held.error());
    if (auto r = refresh(**e, *c); !r) return fail(r.error());
    std::string ip = a->values.count("ip") ? a->get("ip") : "";
    std::string ip6 = a->values.count("ip6") ? a->get("ip6") : "";
    if (auto r = network_connect(**e, *c, *net, ip, ip6, a->get_all("alias")); !r) return fail(r.error());
    return 0;
}

int cmd_network_disconnect(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"force", 'f', false}});
    if (!a) return fail(a.error());
    if (a->positional.size() != 2) return fail(Error{0, "network disconnect: NETWORK CONTAINER is needed"});
    auto e = Engine::open(g);
    if (!e) return fail(e.error());
    auto net = find_network((*e)->db(), a->positional[0]);
    if (!net) return fail(net.error());
    auto c = (*e)->containers.find(a->positional[1]);
    if (!c) return fail(c.error());
    auto held = ContainerLock::take((*e)->paths, c->id);
    if (!held) return fail(held.error());
    if (auto r = refresh(**e, *c); !r) return fail(r.error());
    if (auto r = network_disconnect(**e, *c, *net); !r) return fail(r.error());
    return 0;
}

// podman's `network reload [--all | CONTAINER...]`: the firewall rules made
// again, for after a firewall reload or `nft flush ruleset` removed them while
// the bridges stayed up. Prints the ids of the running containers it went
// through.
int cmd_network_reload(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"all", 'a', false}});
    if (!a) return fail(a.error());
    bool all = a->has("all");
    if (all == !a->positional.empty())
        return fail(Error{0, "network reload: give --all or one or more containers, not both"});
    auto e = Engine::open(g);
    if (!e) return fail(e.error());
    std::vector<ContainerRecord> targets;
    if (all) {
        auto l = (*e)->containers.list();
        if (!l) return fail(l.error());
        targets = std::move(*l);
    } else {
        for (const auto& name : a->positional) {
            auto c = (*e)->containers.find(name);
            if (!c) return fail(c.error());
            targets.push_back(std::move(*c));
        }
    }
    int rc = 0;
    if (auto r = reload_network_rules(**e); !r) rc = fail(r.error());
    for (auto& c : targets) {
        auto held = ContainerLock::take((*e)->paths, c.id);
        if (!held) return fail(held.error());
        if (auto r = refresh(**e, c); !r) return fail(r.error());
        if (c.state != "running" && c.state != "paused") {
            if (!all) rc = fail(Error{0, cat("network reload: container ", c.name, " is not running")});
        } else if (auto r = reload_port_rules(**e, c); !r) {
            rc = fail(Error{0, cat("container ", c.name, ": ", r.error().what())});
        } else {
            std::printf("%s\n", c.id.c_str());
        }
    }
    return rc;
}

}  // namespace berth::manager
