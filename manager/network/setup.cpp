#include "manager/network/setup.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include "libutil/fd.hpp"
#include "libutil/json.hpp"
#include "libutil/log.hpp"
#include "libutil/strings.hpp"
#include "manager/containers/spec.hpp"
#include "manager/network/firewall.hpp"
#include "manager/network/netlink.hpp"
#include "manager/network/text.hpp"
#include "manager/containers/events.hpp"

namespace berth::manager {

namespace {

using json::Value;

// An flock on RUNROOT/netlocks/NAME: one berth at a time sets up a network's
// bridge and rules, or rewrites the hosts files of its containers. Held for
// milliseconds, never while a container starts.
class NetLock {
public:
    static Result<NetLock> take(const Engine& e, const std::string& name) {
        std::string dir = e.paths.runroot + "/netlocks";
        TRY(mkdir_all(dir, 0700));
        std::string path = dir + "/" + name;
        UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
        if (!fd) return ErrnoErr("open ", path);
        while (::flock(fd.get(), LOCK_EX) < 0)
            if (errno != EINTR) return ErrnoErr("lock ", path);
        return NetLock(std::move(fd));
    }

private:
    explicit NetLock(UniqueFd fd) : fd_(std::move(fd)) {}
    UniqueFd fd_;
};

// The lock taken while host ports are checked and claimed.
constexpr const char* kPortsLock = ".ports";

std::string ports_file(const Engine& e, const std::string& id) { return e.paths.dir(id) + "/ports.json"; }

bool is_user_network(const std::string& name) { return name != kDefaultNetwork; }

Result<NetworkRecord> network_named(NetworkStore& store, const std::string& name) {
    if (name == kDefaultNetwork) return store.default_network();
    auto n = TRY(store.get(name));
    if (!n) return Err("network ", name, " not found");
    return std::move(*n);
}

// Leases of a container grouped per network, in the order of their
// interfaces (eth0 first).
struct Attachment {
    std::string network;
    std::string iface;
    std::vector<Lease> leases;  // one per family
    std::vector<std::string> aliases;
};

Result<std::vector<Attachment>> attachments(NetworkStore& store, const std::string& id) {
    std::vector<Attachment> out;
    for (auto& l : TRY(store.leases_of_container(id))) {
        if (out.empty() || out.back().network != l.network) {
            out.push_back({l.network, l.iface, {}, l.aliases});
        }
        out.back().leases.push_back(std::move(l));
    }
    std::sort(out.begin(), out.end(), [](const Attachment& a, const Attachment& b) {
        auto n = [](const std::string& i) { return parse_u64(std::string_view(i).substr(3)).value_or(0); };
        return n(a.iface) < n(b.iface);
    });
    return out;
}

std::string hostname_of(const ContainerRecord& c, const RunOptions& o) {
    if (o.network == "host") {
        char buf[256] = {};
        ::gethostname(buf, sizeof buf - 1);
        return buf;
    }
    return o.hostname.empty() ? c.id.substr(0, 12) : o.hostname;
}

// The container's /etc/hosts as it should be now.
Result<std::string> hosts_text(Engine& e, NetworkStore& store, const ContainerRecord& c, const RunOptions& o) {
    if (o.network == "host") return read_file("/etc/hosts").value_or("");
    std::string hostname = hostname_of(c, o);
    std::vector<std::string> names = {hostname};
    if (c.name != hostname) names.push_back(c.name);
    auto atts = TRY(attachments(store, c.id));
    std::vector<HostEntry> own, extra, peers;
    for (const auto& a : atts)
        for (const auto& l : a.leases) own.push_back({l.address.str(), names});
    if (own.empty()) own.push_back({"127.0.1.1", names});
    for (const auto& h : o.add_hosts) {
        auto sp = h.find(' ');
        std::string name = h.substr(0, sp), addr = h.substr(sp + 1);
        if (addr == "host-gateway") {
            addr.clear();
            if (!atts.empty()) {
                auto net = TRY(network_named(store, atts[0].network));
                addr = !net.gateway4.empty() ? net.gateway4.str() : net.gateway6.str();
            }
            if (addr.empty()) continue;
        }
        extra.push_back({addr, {name}});
    }
    std::set<std::string> seen;  // a peer on two shared networks: one line per address
    for (const auto& a : atts) {
        if (!is_user_network(a.network)) continue;
        for (const auto& l : TRY(store.leases_of_network(a.network))) {
            if (l.container_id == c.id || !seen.insert(l.address.str()).second) continue;
            auto peer = TRY(e.containers.get(l.container_id));
            if (!peer) continue;
            std::vector<std::string> pn = {peer->name};
            for (const auto& al : l.aliases)
                if (std::find(pn.begin(), pn.end(), al) == pn.end()) pn.push_back(al);
            pn.push_back(peer->id.substr(0, 12));
            peers.push_back({l.address.str(), pn});
        }
    }
    return make_hosts(own, extra, peers);
}

Result<std::string> resolv_text(const RunOptions& o) {
    std::string host = read_file(kHostResolvConf).value_or("");
    if (o.network == "host") return host;
    // A host with a local resolver (systemd-resolved's 127.0.0.53): its
    // upstream servers are what a container can reach.
    std::optional<std::string> resolved;
    if (only_loopback_nameservers(host))
        if (auto up = read_file(kResolvedResolvConf)) resolved = std::move(*up);
    auto conf = container_resolv_conf(host, resolved, o.dns, o.dns_search, o.dns_options);
    // Without a network of its own (none) it has nothing to ask anyway.
    if (!conf.warning.empty() && has_own_networks(o)) log::warn(conf.warning);
    return conf.text;
}

// Rewrites the hosts files of every container on `network` (a user network)
// from berth.db as it is now. Under the network's lock, so the last writer
// is the one that read last.
Result<void> rewrite_hosts_of(Engine& e, NetworkStore& store, const std::string& network) {
    auto lock = TRY(NetLock::take(e, network));
    std::set<std::string> done;
    for (const auto& l : TRY(store.leases_of_network(network))) {
        if (!done.insert(l.container_id).second) continue;
        auto c = TRY(e.containers.get(l.container_id));
        if (!c || c->state == "removing") continue;
        auto o = container_options(*c);
        if (!o) continue;
        // In place: the file is bind-mounted into the running container.
        // Never made: not there yet, its create writes it; gone, its
        // container is being removed at this moment (another berth rm).
        TRY(rewrite_file(e.paths.dir(c->id) + "/hosts", TRY(hosts_text(e, store, *c, *o))));
    }
    return {};
}

// net.ipv4.ip_forward etc.: written only when not already on.
Result<void> sysctl_on(const std::string& key) {
    auto v = read_file("/proc/sys/" + key);
    if (v && trim(*v) == "1") return {};
    return netlink::set_sysctl(key, "1");
}

Result<std::unique_ptr<Firewall>> open_firewall() {
    return std::make_unique<Firewall>(TRY(Firewall::open()));
}

NetworkRules network_rules(const NetworkRecord& net) {
    NetworkRules rules;
    rules.name = net.name;
    rules.bridge = net.bridge;
    rules.subnet4 = net.subnet4;
    rules.subnet6 = net.subnet6;
    rules.internal = net.internal;
    return rules;
}

// The network's bridge, up with its gateway addresses and rules; made by the
// first container that needs it (the lock keeps others waiting meanwhile).
Result<int> ensure_bridge(Engine& e, netlink::Socket& nl, const NetworkRecord& net) {
    if (auto l = TRY(nl.link(net.bridge)); l && l->up && l->kind == "bridge") return l->index;
    auto lock = TRY(NetLock::take(e, net.name));
    if (auto l = TRY(nl.link(net.bridge)); l && l->up && l->kind == "bridge") return l->index;
    TRY(nl.create_bridge(net.bridge));
    auto link = TRY(nl.link(net.bridge));
    if (!link) return Err("bridge ", net.bridge, " vanished after it was made");
    auto have = TRY(nl.addresses(link->index));
    auto add = [&](const std::optional<Subnet>& s, const IpAddress& gw) -> Result<void> {
        if (!s || gw.empty()) return {};
        for (const auto& [a, p] : have)
            if (a == gw) return {};
        return nl.add_address(link->index, gw, s->prefix);
    };
    TRY(add(net.subnet4, net.gateway4));
    TRY(add(net.subnet6, net.gateway6));
    if (!net.internal) {
        if (net.subnet4) {
            TRY(sysctl_on("net/ipv4/ip_forward"));
            // 127.0.0.1:HOSTPORT DNAT'ed to a container leaves through the
            // bridge with a loopback source; the kernel drops such packets
            // unless the outgoing device allows it.
            TRY(netlink::set_sysctl(cat("net/ipv4/conf/", net.bridge, "/route_localnet"), "1"));
        }
        if (net.subnet6) TRY(sysctl_on("net/ipv6/conf/all/forwarding"));
    }
    auto fw = TRY(open_firewall());
    TRY(fw->add_network(network_rules(net)));
    TRY(nl.set_up(link->index));
    return link->index;
}

std::vector<IpAddress> addresses_of(const std::vector<Lease>& leases) {
    std::vector<IpAddress> out;
    for (const auto& l : leases) out.push_back(l.address);
    return out;
}

// "veth" and 8 random hex digits: unique on the host, and never the name of
// a pair an exited container's namespace has not released yet.
Result<std::string> veth_name() {
    auto id = TRY(random_hex_id());
    return "veth" + id.substr(0, 8);
}

// The default routes (one per family of the attachment's leases) via the
// network's gateways, out of the container's interface `index`. None for an
// internal network.
Result<void> add_default_routes(netlink::Socket& ctr, const NetworkRecord& net, const Attachment& a, int index) {
    if (net.internal) return {};
    for (const auto& l : a.leases) {
        const IpAddress& gw = l.address.is_v4() ? net.gateway4 : net.gateway6;
        if (gw.empty()) continue;
        Subnet any;
        any.network.family = gw.family;
        TRY(ctr.add_route(any, gw, index));
    }
    return {};
}

// One interface of the container: a veth pair from the network's bridge to
// `iface` in the container's namespace, its addresses, and the default
// routes when `gateway` (the first network that is not internal).
Result<void> wire(Engine& e, netlink::Socket& host, netlink::Socket& ctr, int netns_fd, const NetworkRecord& net,
                  const Attachment& a, bool gateway) {
    int bridge = TRY(ensure_bridge(e, host, net));
    std::string name = TRY(veth_name());
    // The MAC comes from the address, so whoever had it before leaves no
    // stale neighbour entry behind on the host or the peers.
    auto mac = interface_mac(addresses_of(a.leases));
    TRY(host.create_veth(name, a.iface, netns_fd, mac ? std::span<const uint8_t>(*mac) : std::span<const uint8_t>{}));
    auto outer = TRY(host.link(name));
    if (!outer) return Err("veth ", name, " vanished after it was made");
    TRY(host.set_master(outer->index, bridge));
    TRY(host.set_up(outer->index));
    auto inner = TRY(ctr.link(a.iface));
    if (!inner) return Err("interface ", a.iface, " is not in the container after it was made");
    for (const auto& l : a.leases) TRY(ctr.add_address(inner->index, l.address, l.prefix));
    TRY(ctr.set_up(inner->index));
    if (gateway) TRY(add_default_routes(ctr, net, a, inner->index));
    return {};
}

// The network that gives the container its default routes: that of its
// first attachment that is not internal ("" when there is none).
Result<std::string> gateway_network(NetworkStore& store, const std::vector<Attachment>& atts) {
    for (const auto& a : atts)
        if (!TRY(network_named(store, a.network)).internal) return a.network;
    return std::string();
}

Result<UniqueFd> open_netns(pid_t pid) {
    std::string p = cat("/proc/", pid, "/ns/net");
    UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return ErrnoErr("open ", p);
    return fd;
}

// ---- published ports ------------------------------------------------------

Value ports_json(const std::vector<PortBinding>& ports) {
    Value a = Value::array();
    for (const auto& p : ports) {
        Value j = Value::object();
        j.set("hostIp", Value::string(p.host_ip));
        j.set("hostPort", Value::number(p.host_port));
        j.set("containerPort", Value::number(p.container_port));
        j.set("protocol", Value::string(p.proto));
        a.push(std::move(j));
    }
    return a;
}

Result<std::vector<PortBinding>> read_ports(const std::string& path) {
    auto text = read_file(path);
    if (!text) {
        if (text.error().code == ENOENT) return std::vector<PortBinding>{};
        return std::unexpected(text.error());
    }
    auto v = TRY_CTX(json::parse(*text), path);
    std::vector<PortBinding> out;
    for (const auto& j : v.items()) {
        PortBinding p;
        if (auto* f = j.find("hostIp"); f && f->is_string()) p.host_ip = f->as_string();
        if (auto* f = j.find("hostPort")) p.host_port = static_cast<uint16_t>(f->as_uint64().value_or(0));
        if (auto* f = j.find("containerPort")) p.container_port = static_cast<uint16_t>(f->as_uint64().value_or(0));
        if (auto* f = j.find("protocol"); f && f->is_string()) p.proto = f->as_string();
        out.push_back(p);
    }
    return out;
}

std::string spec_text(const PublishRequest& r) {
    std::string ip = r.host_ip.find(':') != std::string::npos ? "[" + r.host_ip + "]" : r.host_ip;
    return cat(ip.empty() ? "" : ip + ":", r.host_port ? std::to_string(r.host_port) : "", ip.empty() && !r.host_port ? "" : ":",
               r.container_port, "/", r.proto);
}

// Binds host_ip:port (any address when empty) the way a server would: an
// error when something listens there. Port 0: the kernel picks a free one,
// returned.
Result<uint16_t> try_bind(const std::string& host_ip, uint16_t port, const std::string& proto) {
    IpAddress ip;
    if (!host_ip.empty()) ip = TRY(parse_ip(host_ip));
    bool v6 = ip.is_v6();
    UniqueFd fd(::socket(v6 ? AF_INET6 : AF_INET, (proto == "udp" ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0));
    if (!fd) return ErrnoErr("socket");
    int one = 1;
    // TCP: a connection in TIME_WAIT is no reason to refuse a port.
    if (proto == "tcp") ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_storage ss{};
    socklen_t len;
    if (v6) {
        auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        std::copy(ip.bytes.begin(), ip.bytes.end(), s6->sin6_addr.s6_addr);
        len = sizeof *s6;
    } else {
        auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        if (!ip.empty()) std::copy(ip.bytes.begin(), ip.bytes.begin() + 4, reinterpret_cast<uint8_t*>(&s4->sin_addr));
        len = sizeof *s4;
    }
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) < 0) return ErrnoErr("bind");
    if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) < 0) return ErrnoErr("getsockname");
    return ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

bool same_host_ip(const std::string& a, const std::string& b) { return a.empty() || b.empty() || a == b; }

// The image's ExposedPorts ("80/tcp") for -P.
Result<std::vector<PublishRequest>> exposed_ports(Engine& e, const ContainerRecord& c) {
    std::vector<PublishRequest> out;
    auto img = TRY(e.db().get(c.image_id));
    if (!img) return out;
    auto config = TRY_CTX(json::parse(img->config), "image ", c.image_id);
    const Value* cfg = config.find("config");
    const Value* exposed = cfg ? cfg->find("ExposedPorts") : nullptr;
    if (!exposed || !exposed->is_object()) return out;
    for (const auto& [k, v] : exposed->members()) {
        auto slash = k.find('/');
        auto port = parse_u64(std::string_view(k).substr(0, slash));
        std::string proto = slash == std::string::npos ? "tcp" : k.substr(slash + 1);
        if (!port || *port < 1 || *port > 65535 || (proto != "tcp" && proto != "udp")) continue;
        out.push_back({"", 0, static_cast<uint16_t>(*port), proto});
    }
    return out;
}

// The host ports the container gets: -p as given (checked free: no
// listener, no other running container), 0 replaced by a free port, then
// -P's. Written to the container's ports.json under the ports lock, so two
// containers starting at once never take one port.
Result<std::vector<PortBinding>> claim_ports(Engine& e, const ContainerRecord& c, const RunOptions& o) {
    std::vector<PublishRequest> wanted = o.publish;
    if (o.publish_all)
        for (const auto& x : TRY(exposed_ports(e, c))) {
            bool given = false;
            for (const auto& w : wanted) given = given || (w.container_port == x.container_port && w.proto == x.proto);
            if (!given) wanted.push_back(x);
        }
    if (wanted.empty()) return std::vector<PortBinding>{};
    auto lock = TRY(NetLock::take(e, kPortsLock));
    // Ports other running containers hold.
    struct Held {
        PortBinding p;
        std::string owner;
    };
    std::vector<Held> held;
    for (const auto& other : TRY(e.containers.list())) {
        if (other.id == c.id || (other.state != "running" && other.state != "paused")) continue;
        for (const auto& p : TRY(read_ports(ports_file(e, other.id)))) held.push_back({p, other.name});
    }
    std::vector<PortBinding> out;
    auto taken_by = [&](const std::string& ip, uint16_t port, const std::string& proto) -> std::string {
        for (const auto& h : held)
            if (h.p.host_port == port && h.p.proto == proto && same_host_ip(h.p.host_ip, ip)) return h.owner;
        for (const auto& p : out)
            if (p.host_port == port && p.proto == proto && same_host_ip(p.host_ip, ip)) return c.name;
        return "";
    };
    for (const auto& r : wanted) {
        PortBinding b{r.host_ip, r.host_port, r.container_port, r.proto};
        std::string what = cat("-p ", spec_text(r));
        if (r.host_port) {
            if (auto owner = taken_by(r.host_ip, r.host_port, r.proto); !owner.empty())
                return Err(what, ": host port ", r.host_port, "/", r.proto, " is already in use by container ", owner);
            if (auto ok = try_bind(r.host_ip, r.host_port, r.proto); !ok) {
                if (ok.error().code == EADDRINUSE)
                    return Err(what, ": host port ", r.host_port, "/", r.proto, " is already in use");
                if (ok.error().code == EADDRNOTAVAIL)
                    return Err(what, ": ", r.host_ip, " is not an address of this host");
                return Err(what, ": ", ok.error().what());
            }
        } else {
            for (int tries = 0;; ++tries) {
                b.host_port = TRY_CTX(try_bind(r.host_ip, 0, r.proto), what);
                if (taken_by(r.host_ip, b.host_port, r.proto).empty()) break;
                if (tries == 20) return Err(what, ": no free host port found");
            }
        }
        out.push_back(b);
    }
    TRY(write_file_atomic(ports_file(e, c.id), json::write(ports_json(out)), 0600));
    return out;
}

}  // namespace

bool has_own_networks(const RunOptions& o) { return !o.networks.empty(); }

Result<void> teardown_network(const NetworkRecord& net) {
    auto nl = TRY(netlink::Socket::open());
    if (auto l = TRY(nl.link(net.bridge)); l && l->kind == "bridge") TRY(nl.delete_link(l->index));
    auto fw = TRY(open_firewall());
    return fw->remove_network(net.name);
}

Result<void> attach_networks(Engine& e, const ContainerRecord& c, const RunOptions& o) {
    NetworkStore store(e.db());
    for (size_t i = 0; i < o.networks.size(); ++i) {
        auto net = TRY(network_named(store, o.networks[i]));
        std::string iface = cat("eth", i);
        std::vector<std::string> aliases = is_user_network(net.name) ? o.aliases : std::vector<std::string>{};
        auto want = [&](const std::string& ip) -> Result<std::optional<IpAddress>> {
            if (i != 0 || ip.empty()) return std::optional<IpAddress>{};
            return std::optional<IpAddress>(TRY(parse_ip(ip)));
        };
        if (i == 0 && !o.ip6.empty() && !net.subnet6)
            return Err("--ip6 ", o.ip6, ": network ", net.name, " has no IPv6 subnet");
        if (i == 0 && !o.ip.empty() && !net.subnet4)
            return Err("--ip ", o.ip, ": network ", net.name, " has no IPv4 subnet");
        if (net.subnet4) TRY(store.allocate(net, c.id, 4, TRY(want(o.ip)), aliases, iface));
        if (net.subnet6) TRY(store.allocate(net, c.id, 6, TRY(want(o.ip6)), aliases, iface));
    }
    return {};
}

Result<void> write_network_files(Engine& e, const ContainerRecord& c, const RunOptions& o) {
    std::string dir = e.paths.dir(c.id);
    NetworkStore store(e.db());
    TRY(write_file(dir + "/hostname", hostname_of(c, o) + "\n"));
    TRY(write_file(dir + "/resolv.conf", TRY(resolv_text(o))));
    TRY(write_file(dir + "/hosts", TRY(hosts_text(e, store, c, o))));
    for (const auto& n : o.networks)
        if (is_user_network(n)) TRY(rewrite_hosts_of(e, store, n));
    return {};
}

namespace {

// The container's DNAT rules for `ports`, replacing any it had (a start
// after a crash may find an earlier one's; reload finds its own), in one
// transaction. A port with no address of its family to go to is an error,
// or with `skip_unreachable` (after a disconnect) goes without a rule.
Result<void> set_port_rules(const std::string& id, const std::vector<PortBinding>& ports, const IpAddress& v4,
                            const IpAddress& v6, bool skip_unreachable = false) {
    std::vector<PortMapping> maps;
    for (const auto& p : ports) {
        PortMapping m;
        if (!p.host_ip.empty()) m.host_ip = TRY(parse_ip(p.host_ip));
        const char* missing = m.host_ip.is_v6() && v6.empty()   ? "IPv6 address"
                              : m.host_ip.is_v4() && v4.empty() ? "IPv4 address"
                              : v4.empty() && v6.empty()        ? "address"
                                                                : nullptr;
        if (missing && skip_unreachable) continue;
        if (missing) return Err("-p ", p.host_ip, ":", p.host_port, ":", p.container_port, ": the container has no ", missing);
        m.host_port = p.host_port;
        m.container_port = p.container_port;
        m.proto = p.proto;
        maps.push_back(m);
    }
    auto fw = TRY(open_firewall());
    return fw->replace_ports(id, maps, v4, v6);
}

// The addresses DNAT goes to: those of the container's first interface.
void first_addresses(const std::vector<Attachment>& atts, IpAddress& v4, IpAddress& v6) {
    if (atts.empty()) return;
    for (const auto& l : atts.front().leases) (l.address.is_v4() ? v4 : v6) = l.address;
}

// After a connect or disconnect of a running container: its published
// ports' rules go to the addresses of its first interface as it is now (none
// left: no rules; ports.json keeps the ports claimed, so a connect brings
// them back).
Result<void> repoint_port_rules(Engine& e, NetworkStore& store, const std::string& id) {
    auto ports = TRY(read_ports(ports_file(e, id)));
    if (ports.empty()) return {};
    IpAddress v4, v6;
    first_addresses(TRY(attachments(store, id)), v4, v6);
    return set_port_rules(id, ports, v4, v6, true);
}

}  // namespace

std::string netns_path(const Engine& e, const std::string& id) {
    return e.paths.runroot + "/netns/" + id;
}

Result<std::string> make_netns(Engine& e, const ContainerRecord& c) {
    std::string dir = e.paths.runroot + "/netns";
    TRY(mkdir_all(dir, 0700));
    std::string path = netns_path(e, c.id);
    drop_netns(e, c.id);  // one a killed berth left
    UniqueFd f(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!f) return ErrnoErr("create ", path);
    f.reset();
    // unshare in a thread of its own: only that thread moves to the new
    // namespace, and the bind mount keeps the namespace once it is gone.
    Error err;
    std::thread t([&] {
        if (::unshare(CLONE_NEWNET) < 0)
            err = Error{errno, "unshare a network namespace"};
        else if (::mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) < 0)
            err = Error{errno, cat("bind mount a network namespace on ", path)};
    });
    t.join();
    if (err.code) {
        ::unlink(path.c_str());
        return std::unexpected(err);
    }
    auto up = [&]() -> Result<void> {
        UniqueFd ns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!ns) return ErrnoErr("open ", path);
        auto ctr = TRY(netlink::Socket::open_in(ns.get()));
        auto lo = TRY(ctr.link("lo"));
        if (!lo) return Err("no lo in the network namespace ", path);
        return ctr.set_up(lo->index);
    }();
    if (!up) {
        drop_netns(e, c.id);
        return std::unexpected(up.error());
    }
    return path;
}

void drop_netns(Engine& e, const std::string& id) {
    std::string path = netns_path(e, id);
    ::umount2(path.c_str(), MNT_DETACH);
    ::unlink(path.c_str());
}

Result<void> connect_netns(Engine& e, const ContainerRecord& c, const RunOptions& o, int netns_fd) {
    NetworkStore store(e.db());
    auto atts = TRY(attachments(store, c.id));
    if (atts.empty()) return {};
    auto host = TRY(netlink::Socket::open());
    auto ctr = TRY(netlink::Socket::open_in(netns_fd));
    bool gateway = true;
    IpAddress v4, v6;
    for (const auto& a : atts) {
        auto net = TRY(network_named(store, a.network));
        TRY_CTX(wire(e, host, ctr, netns_fd, net, a, gateway && !net.internal), "network ", net.name);
        if (!net.internal) gateway = false;
    }
    first_addresses(atts, v4, v6);
    auto ports = TRY(claim_ports(e, c, o));
    if (ports.empty()) return {};
    if (auto r = set_port_rules(c.id, ports, v4, v6); !r) {
        ::unlink(ports_file(e, c.id).c_str());
        return std::unexpected(r.error());
    }
    return {};
}

Result<void> join_container_netns(Engine& e, const ContainerRecord& c, const RunOptions& o) {
    std::string target_name = o.network.substr(std::string_view("container:").size());
    auto target = TRY(e.containers.find(target_name));
    TRY(refresh(e, target));
    if (target.id == c.id) return Err("--network ", o.network, ": a container cannot join itself");
    if (target.state != "running" && target.state != "paused")
        return Err("--network ", o.network, ": container ", target.name, " is not running");
    std::string dir = e.paths.dir(c.id);
    TRY(set_namespace_path(dir + "/config.json", "network", cat("/proc/", target.pid, "/ns/net")));
    std::string from = e.paths.dir(target.id);
    for (const char* f : {"/hosts", "/resolv.conf"}) TRY(write_file(dir + f, TRY(read_file(from + f))));
    return {};
}

Result<void> unpublish_ports(Engine& e, const std::string& id) {
    std::string path = ports_file(e, id);
    if (!path_exists(path)) return {};
    auto fw = TRY(open_firewall());
    TRY(fw->remove_container(id));
    ::unlink(path.c_str());
    return {};
}

Result<void> update_peers(Engine& e, const std::vector<std::string>& networks) {
    NetworkStore store(e.db());
    for (const auto& n : networks)
        if (is_user_network(n)) TRY(rewrite_hosts_of(e, store, n));
    return {};
}

Result<void> rewrite_hosts(Engine& e, const ContainerRecord& c) {
    auto o = TRY(container_options(c));
    if (o.network == "host" || o.network.starts_with("container:")) return {};
    NetworkStore store(e.db());
    TRY(rewrite_file(e.paths.dir(c.id) + "/hosts", TRY(hosts_text(e, store, c, o))));
    std::vector<std::string> nets;
    for (const auto& a : TRY(attachments(store, c.id))) nets.push_back(a.network);
    return update_peers(e, nets);
}

Result<std::vector<PortBinding>> published_ports(Engine& e, const std::string& id) {
    return read_ports(ports_file(e, id));
}

Result<void> network_connect(Engine& e, const ContainerRecord& c, const NetworkRecord& net, const std::string& ip,
                             const std::string& ip6, const std::vector<std::string>& aliases) {
    auto o = TRY(container_options(c));
    if (!has_own_networks(o) && !o.network.empty())
        return Err("container ", c.name, " uses --network ", o.network, ": it cannot join other networks");
    NetworkStore store(e.db());
    auto atts = TRY(attachments(store, c.id));
    bool running = c.state == "running" || c.state == "paused";
    int next = 0;
    for (const auto& a : atts) {
        if (a.network == net.name) return Err("container ", c.name, " is already connected to network ", net.name);
        next = std::max<int>(next, static_cast<int>(parse_u64(std::string_view(a.iface).substr(3)).value_or(0)) + 1);
    }
    Attachment a{net.name, cat("eth", next), {}, is_user_network(net.name) ? aliases : std::vector<std::string>{}};
    auto lease = [&](int family, const std::string& want) -> Result<void> {
        std::optional<IpAddress> req;
        if (!want.empty()) req = TRY(parse_ip(want));
        a.leases.push_back(TRY(store.allocate(net, c.id, family, req, a.aliases, a.iface)));
        return {};
    };
    if (!ip.empty() && !net.subnet4) return Err("--ip ", ip, ": network ", net.name, " has no IPv4 subnet");
    if (!ip6.empty() && !net.subnet6) return Err("--ip6 ", ip6, ": network ", net.name, " has no IPv6 subnet");
    auto made = [&]() -> Result<void> {
        if (net.subnet4) TRY(lease(4, ip));
        if (net.subnet6) TRY(lease(6, ip6));
        if (running) {
            auto ns = TRY(open_netns(static_cast<pid_t>(c.pid)));
            auto host = TRY(netlink::Socket::open());
            auto ctr = TRY(netlink::Socket::open_in(ns.get()));
            // The default routes, when no network of the container gives them yet.
            bool gateway = TRY(gateway_network(store, atts)).empty();
            TRY_CTX(wire(e, host, ctr, ns.get(), net, a, gateway), "network ", net.name);
            // Its first interface: the published ports go to it now.
            if (atts.empty()) TRY(repoint_port_rules(e, store, c.id));
        }
        return {};
    }();
    if (!made) {
        (void)store.release(c.id, net.name);
        return std::unexpected(made.error());
    }
    record_event(Event{"network", "connect", net.id, {{"name", net.name}, {"type", net.driver}, {"container", c.id}}});
    std::string hosts = e.paths.dir(c.id) + "/hosts";
    TRY(write_file(hosts, TRY(hosts_text(e, store, c, o))));
    return update_peers(e, {net.name});
}

Result<void> network_disconnect(Engine& e, const ContainerRecord& c, const NetworkRecord& net) {
    auto o = TRY(container_options(c));
    NetworkStore store(e.db());
    auto atts = TRY(attachments(store, c.id));
    auto found = std::find_if(atts.begin(), atts.end(), [&](const Attachment& a) { return a.network == net.name; });
    if (found == atts.end()) return Err("container ", c.name, " is not connected to network ", net.name);
    bool running = c.state == "running" || c.state == "paused";
    std::optional<netlink::Socket> ctr;
    if (running) {
        auto ns = TRY(open_netns(static_cast<pid_t>(c.pid)));
        ctr.emplace(TRY(netlink::Socket::open_in(ns.get())));
        // Deleting the container's end deletes the pair.
        if (auto l = TRY(ctr->link(found->iface))) TRY(ctr->delete_link(l->index));
    }
    bool had_gateway = TRY(gateway_network(store, atts)) == net.name;
    TRY(store.release(c.id, net.name));
    if (running) {
        atts = TRY(attachments(store, c.id));
        // The default routes went with the interface: the next network that
        // is not internal gives them now, as it would at a start.
        if (had_gateway) {
            if (auto gw = TRY(gateway_network(store, atts)); !gw.empty()) {
                auto a = std::find_if(atts.begin(), atts.end(), [&](const Attachment& x) { return x.network == gw; });
                if (auto l = TRY(ctr->link(a->iface)))
                    TRY_CTX(add_default_routes(*ctr, TRY(network_named(store, gw)), *a, l->index), "network ", gw);
            }
        }
        // The published ports may have gone to the addresses just released.
        TRY(repoint_port_rules(e, store, c.id));
    }
    record_event(Event{"network", "disconnect", net.id, {{"name", net.name}, {"type", net.driver}, {"container", c.id}}});
    TRY(write_file(e.paths.dir(c.id) + "/hosts", TRY(hosts_text(e, store, c, o))));
    return update_peers(e, {net.name});
}

Result<void> reload_network_rules(Engine& e) {
    NetworkStore store(e.db());
    auto nl = TRY(netlink::Socket::open());
    auto fw = TRY(open_firewall());
    for (const auto& net : TRY(store.list())) {
        if (net.bridge.empty()) continue;
        auto link = TRY(nl.link(net.bridge));
        if (!link || link->kind != "bridge") continue;  // its first container makes it, rules too
        auto lock = TRY(NetLock::take(e, net.name));
        TRY_CTX(fw->add_network(network_rules(net)), "network ", net.name);
    }
    return {};
}

Result<void> reload_port_rules(Engine& e, const ContainerRecord& c) {
    auto ports = TRY(read_ports(ports_file(e, c.id)));
    if (ports.empty()) return {};
    NetworkStore store(e.db());
    IpAddress v4, v6;
    first_addresses(TRY(attachments(store, c.id)), v4, v6);
    return set_port_rules(c.id, ports, v4, v6);
}

}  // namespace berth::manager
