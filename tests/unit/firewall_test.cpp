// nftables through libnftables against the real kernel (root needed: run
// without them with `unit-tests '~[root]'`). Every test makes its own network
// namespaces and opens the Firewall in one of them; the host's rules are
// only read, to check that nothing reached them.
#include "manager/network/firewall.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <thread>
#include <tuple>

#include "libutil/fd.hpp"
#include "manager/network/netlink.hpp"

using namespace berth;
using namespace berth::manager;

namespace {

// A new network namespace, held by the returned fd: a thread unshares into it
// and ends, so the test's own threads never leave the host's namespace.
UniqueFd new_netns() {
    UniqueFd fd;
    std::thread([&] {
        if (unshare(CLONE_NEWNET) == 0) fd.reset(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    }).join();
    REQUIRE(fd);
    return fd;
}

// Runs `fn` on a thread inside `netns`; nullopt (and fn not run) when the
// thread cannot enter it.
template <class F>
auto in_netns(int netns, F fn) -> std::optional<decltype(fn())> {
    std::optional<decltype(fn())> r;
    std::thread([&] {
        if (setns(netns, CLONE_NEWNET) == 0) r = fn();
    }).join();
    return r;
}

// A Firewall acting on `netns`, used afterwards from the test's own thread.
Firewall firewall_in(int netns) {
    auto fw = in_netns(netns, [] { return Firewall::open(); });
    REQUIRE(fw.has_value());
    REQUIRE(*fw);
    return std::move(**fw);
}

IpAddress ip(const char* s) {
    return *parse_ip(s);
}
Subnet subnet(const char* s) {
    return *parse_subnet(s);
}

NetworkRules network(const char* name, const char* bridge, const char* v4, const char* v6 = nullptr,
                     bool internal = false) {
    NetworkRules n;
    n.name = name;
    n.bridge = bridge;
    n.internal = internal;
    if (v4) n.subnet4 = subnet(v4);
    if (v6) n.subnet6 = subnet(v6);
    return n;
}

std::string listing(Firewall& fw) {
    auto l = fw.list();
    REQUIRE(l);
    return *l;
}

size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size()))
        ++n;
    return n;
}

using Names = std::vector<std::string>;

Names network_owners(Firewall& fw) {
    auto o = fw.network_owners();
    REQUIRE(o);
    return *o;
}

Names container_owners(Firewall& fw) {
    auto o = fw.container_owners();
    REQUIRE(o);
    return *o;
}

}  // namespace

TEST_CASE("firewall: add_network makes table inet berth, its chains and the network's rules", "[firewall][root]") {
    UniqueFd ns = new_netns();
    Firewall fw = firewall_in(ns.get());
    CHECK(listing(fw) == "");
    CHECK(network_owners(fw).empty());

    REQUIRE(fw.add_network(network("n1", "fwt-br1", "10.77.0.0/24", "fd77::/64")));
    std::string l = listing(fw);
    CHECK(count(l, "table inet berth {") == 1);
    CHECK(count(l, "type nat hook prerouting priority dstnat; policy accept;") == 1);
    CHECK(count(l, "type nat hook output priority -100; policy accept;") == 1);
    CHECK(count(l, "type nat hook postrouting priority srcnat; policy accept;") == 1);
    CHECK(count(l, "type filter hook forward priority filter; policy accept;") == 1);
    CHECK(count(l, R"(elements = { "fwt-br1" comment "net:n1" })") == 1);
    CHECK(count(l, R"(ip saddr 10.77.0.0/24 oifname != "fwt-br1" masquerade comment "net:n1")") == 1);
    CHECK(count(l, R"(ip6 saddr fd77::/64 oifname != "fwt-br1" masquerade comment "net:n1")") == 1);
    CHECK(count(l, R"(ip saddr 127.0.0.0/8 oifname "fwt-br1" masquerade comment "net:n1")") == 1);
    CHECK(count(l, R"(ip saddr 10.77.0.0/24 ip daddr 10.77.0.0/24 oifname "fwt-br1" ct status dnat masquerade)") == 1);
    CHECK(
        count(l, R"(iifname "fwt-br1" oifname @bridges oifname != "fwt-br1" ct status ! dnat drop comment "net:n1")") ==
        1);
    CHECK(count(l, R"(iifname "fwt-br1" oifname != "fwt-br1" accept comment "net:n1")") == 1);
    CHECK(count(l, R"(oifname "fwt-br1" ct state established,related accept comment "net:n1")") == 1);
    CHECK(count(l, R"(comment "net:n1")") == 9);
    CHECK(network_owners(fw) == Names{"n1"});
    CHECK(container_owners(fw).empty());

    // The Firewall was opened in `ns` and used from this thread, which is in
    // the host's namespace: the rules are in `ns` only.
    auto host = Firewall::open();
    REQUIRE(host);
    auto on_host = host->list();
    REQUIRE(on_host);
    CHECK(count(*on_host, "fwt-br1") == 0);
}

TEST_CASE("firewall: adding a network again replaces its rules", "[firewall][root]") {
    UniqueFd ns = new_netns();
    Firewall fw = firewall_in(ns.get());
    REQUIRE(fw.add_network(network("n1", "fwt-br1", "10.77.0.0/24")));
    size_t rules = count(listing(fw), R"(comment "net:n1")");
    REQUIRE(fw.add_network(network("n1", "fwt-br1", "10.77.0.0/24")));
    CHECK(count(listing(fw), R"(comment "net:n1")") == rules);

    REQUIRE(fw.add_network(network("n1", "fwt-br9", "10.79.0.0/24", "fd79::/64")));
    std::string l = listing(fw);
    CHECK(count(l, "fwt-br1") == 0);
    CHECK(count(l, "10.77.0.0/24") == 0);
    CHECK(count(l, R"(ip saddr 10.79.0.0/24 oifname != "fwt-br9" masquerade)") == 1);
    CHECK(count(l, R"(ip6 saddr fd79::/64 oifname != "fwt-br9" masquerade)") == 1);
    CHECK(count(l, R"(elements = { "fwt-br9" comment "net:n1" })") == 1);
    CHECK(network_owners(fw) == Names{"n1"});
}

TEST_CASE("firewall: remove_network removes that network's rules only", "[firewall][root]") {
    UniqueFd ns = new_netns();
    Firewall fw = firewall_in(ns.get());
    // Nothing to remove, no table: fine, and no table is made for it.
    REQUIRE(fw.remove_network("n1"));
    CHECK(listing(fw) == "");

    REQUIRE(fw.add_network(network("n1", "fwt-br1", "10.77.0.0/24")));
    REQUIRE(fw.add_network(network("n2", "fwt-br2", "10.78.0.0/24")));
    REQUIRE(fw.add_ports("c1", {PortMapping{{}, 8080, 80, "tcp"}}, ip("10.78.0.2"), {}));
    std::string before = listing(fw);
    CHECK(network_owners(fw) == Names{"n1", "n2"});

    REQUIRE(fw.remove_network("n1"));
    std::string after = listing(fw);
    CHECK(count(after, "net:n1") == 0);
    CHECK(count(after, "fwt-br1") == 0);
    CHECK(count(after, R"(comment "net:n2")") == count(before, R"(comment "net:n2")"));
    CHECK(count(after, R"(comment "ctr:c1")") == count(before, R"(comment "ctr:c1")"));
    CHECK(count(after, R"(elements = { "fwt-br2" comment "net:n2" })") == 1);
    CHECK(network_owners(fw) == Names{"n2"});
    CHECK(container_owners(fw) == Names{"c1"});

    REQUIRE(fw.remove_network("n1"));
    REQUIRE(fw.remove_network("n2"));
    CHECK(network_owners(fw).empty());
    CHECK(count(listing(fw), "set bridges") == 1);  // table, set and chains stay
}

TEST_CASE("firewall: an internal network is cut off from every other interface", "[firewall][root]") {
    UniqueFd ns = new_netns();
    Firewall fw = firewall_in(ns.get());
    REQUIRE(fw.add_network(network("n1", "fwt-br1", "10.77.0.0/24")));
    REQUIRE(fw.add_network(network("n3", "fwt-br3", "10.73.0.0/24", "fd73::/64", true)));
    std::string l = listing(fw);
    CHECK(count(l, R"(iifname "fwt-br3" oifname != "fwt-br3" drop comment "net:n3")") == 1);
    CHECK(count(l, R"(oifname "fwt-br3" iifname != "fwt-br3" drop comment "net:n3")") == 1);
    CHECK(count(l, R"(comment "net:n3")") == 3);  // the two drops and its bridge in the set
    CHECK(count(l, "10.73.0.0/24") == 0);         // no masquerade
    CHECK(count(l, "fd73::/64") == 0);
    // Drops come before every accept, whichever network was added first.
    CHECK(l.find(R"(oifname "fwt-br3" iifname != "fwt-br3" drop)") < l.find(R"(oifname != "fwt-br1" accept)"));
    CHECK(l.find(R"(ct status ! dnat drop comment "net:n1")") < l.find(R"(oifname != "fwt-br1" accept)"));
}

TEST_CASE("firewall: add_ports DNATs in prerouting and output, remove_container removes them", "[firewall][root]") {
    UniqueFd ns = new_netns();
    Firewall fw = firewall_in(ns.get());
    REQUIRE(fw.add_ports("c0", {}, ip("10.77.0.2"), {}));  // nothing to do: no table made
    CHECK(listing(fw) == "");

    std::vector<PortMapping> ports = {
        {{}, 8080, 80, "tcp"},              // every address: both families
        {ip("10.0.0.5"), 5353, 53, "udp"},  // an IPv4 address: IPv4 only
        {ip("fd00::5"), 8443, 443, "tcp"},  // an IPv6 address: IPv6 only
    };
    REQUIRE(fw.add_ports("c1", ports, ip("10.77.0.2"), ip("fd77::2")));
    std::string l = listing(fw);
    CHECK(
        count(l, R"(meta nfproto ipv4 fib daddr type local tcp dport 8080 dnat ip to 10.77.0.2:80 comment "ctr:c1")") ==
        2);
    CHECK(count(l,
                R"(meta nfproto ipv6 fib daddr type local tcp dport 8080 dnat ip6 to [fd77::2]:80 comment "ctr:c1")") ==
          2);
    CHECK(
        count(l, R"(ip daddr 10.0.0.5 fib daddr type local udp dport 5353 dnat ip to 10.77.0.2:53 comment "ctr:c1")") ==
        2);
    CHECK(
        count(l,
              R"(ip6 daddr fd00::5 fib daddr type local tcp dport 8443 dnat ip6 to [fd77::2]:443 comment "ctr:c1")") ==
        2);
    CHECK(count(l, R"(comment "ctr:c1")") == 8);
    // One of each in prerouting and in output.
    auto prerouting = l.substr(l.find("chain prerouting"), l.find("chain output") - l.find("chain prerouting"));
    CHECK(count(prerouting, R"(comment "ctr:c1")") == 4);

    // Adds: a second call for the same container adds to the first.
    REQUIRE(fw.add_ports("c1", {{{}, 9090, 90, "udp"}}, ip("10.77.0.2"), {}));
    CHECK(count(listing(fw), R"(comment "ctr:c1")") == 10);
    REQUIRE(fw.add_ports("c2", {{{}, 8081, 80, "sctp"}}, ip("10.77.0.3"), {}));
    CHECK(container_owners(fw) == Names{"c1", "c2"});
    CHECK(network_owners(fw).empty());

    REQUIRE(fw.remove_container("c1"));
    l = listing(fw);
    CHECK(count(l, "ctr:c1") == 0);
    CHECK(count(l, R"(sctp dport 8081 dnat ip to 10.77.0.3:80 comment "ctr:c2")") == 2);
    CHECK(container_owners(fw) == Names{"c2"});
    REQUIRE(fw.remove_container("c1"));
    REQUIRE(fw.remove_container("c2"));
    CHECK(container_owners(fw).empty());
}

TEST_CASE("firewall: errors are one line naming the object", "[firewall][root]") {
    UniqueFd ns = new_netns();
    Firewall fw = firewall_in(ns.get());
    auto error = [](const Result<void>& r) { return r ? std::string("(no error)") : r.error().what(); };

    CHECK(error(fw.add_ports("c1", {{{}, 8080, 80, "icmp"}}, ip("10.77.0.2"), {})) ==
          "nftables: add ports of container c1: port 8080:80/icmp: protocol icmp is not tcp, udp or sctp");
    CHECK(error(fw.add_ports("c1", {{ip("fd00::5"), 8443, 443, "tcp"}}, ip("10.77.0.2"), {})) ==
          "nftables: add ports of container c1: port [fd00::5]:8443:443/tcp: the container has no IPv6 address");
    CHECK(error(fw.add_ports("c1", {{{}, 8080, 80, "tcp"}}, {}, {})) ==
          "nftables: add ports of container c1: port 8080:80/tcp: the container has no address");
    CHECK(error(fw.add_ports("c1", {{{}, 0, 80, "tcp"}}, ip("10.77.0.2"), {})) ==
          "nftables: add ports of container c1: port 0:80/tcp: port 0");
    CHECK(error(fw.add_ports("c 1", {{{}, 8080, 80, "tcp"}}, ip("10.77.0.2"), {})) ==
          "nftables: add ports of container c 1: not an id nft can take");
    CHECK(error(fw.add_network(network("n1", "a\"b", "10.77.0.0/24"))) ==
          "nftables: add rules for network n1: bridge name \"a\"b\" is not a link name");
    CHECK(error(fw.add_network(network("n1", "fwt-a-name-too-long", "10.77.0.0/24"))) ==
          "nftables: add rules for network n1: bridge name \"fwt-a-name-too-long\" is not a link name");
    CHECK(error(fw.remove_network("n1;flush ruleset")) ==
          "nftables: remove rules of network n1;flush ruleset: not a name nft can take");
    CHECK(listing(fw) == "");  // nothing of the above reached the kernel

    // nft's own message, first line: a chain `forward` made by someone else
    // with another hook cannot be redefined.
    auto made = in_netns(ns.get(), [] {
        return std::system(
            "nft 'add table inet berth; add chain inet berth forward { type filter hook input priority 0; }'");
    });
    REQUIRE(made == 0);
    CHECK(error(fw.add_network(network("n1", "fwt-br1", "10.77.0.0/24"))) ==
          "nftables: add rules for network n1: Could not process rule: Operation not supported");
    CHECK(network_owners(fw).empty());  // the batch failed whole
}

TEST_CASE("firewall: two processes changing the table at once both succeed, and leave no duplicate",
          "[firewall][root]") {
    UniqueFd ns = new_netns();
    // Both make the table, replace and remove one shared network and their
    // own ports, over and over: rules the other deleted between a listing
    // and a commit make a batch fail, and it is retried.
    auto worker = [&](const std::string& id) {
        pid_t pid = fork();
        if (pid != 0) return pid;
        auto fail = [](const Error& e) {
            std::fprintf(stderr, "%s\n", e.what().c_str());
            _exit(1);
        };
        if (setns(ns.get(), CLONE_NEWNET) < 0) _exit(2);
        auto fw = Firewall::open();
        if (!fw) fail(fw.error());
        for (int i = 0; i < 30; ++i) {
            if (auto r = fw->add_network(network("shared", "fwt-br1", "10.77.0.0/24")); !r) fail(r.error());
            if (auto r = fw->add_ports(id, {{{}, 8080, 80, "tcp"}}, ip("10.77.0.2"), {}); !r) fail(r.error());
            if (auto r = fw->remove_container(id); !r) fail(r.error());
            if (i % 3 == 2)
                if (auto r = fw->remove_network("shared"); !r) fail(r.error());
        }
        if (auto r = fw->add_network(network("shared", "fwt-br1", "10.77.0.0/24")); !r) fail(r.error());
        _exit(0);
    };
    pid_t a = worker("ca"), b = worker("cb");
    REQUIRE(a > 0);
    REQUIRE(b > 0);
    int status_a = -1, status_b = -1;
    REQUIRE(waitpid(a, &status_a, 0) == a);
    REQUIRE(waitpid(b, &status_b, 0) == b);
    CHECK(status_a == 0);
    CHECK(status_b == 0);

    Firewall fw = firewall_in(ns.get());
    std::string l = listing(fw);
    CHECK(count(l, "table inet berth {") == 1);
    CHECK(count(l, "chain forward {") == 1);
    CHECK(count(l, R"(comment "net:shared")") == 7);  // its 6 rules and its bridge in the set, once
    CHECK(container_owners(fw).empty());
    CHECK(network_owners(fw) == Names{"shared"});
}

namespace {

// A socket address from "10.77.0.2" or "fd77::2" and a port.
std::pair<sockaddr_storage, socklen_t> socket_address(const IpAddress& a, uint16_t port) {
    sockaddr_storage ss{};
    if (a.is_v4()) {
        auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
        sa->sin_family = AF_INET;
        sa->sin_port = htons(port);
        std::memcpy(&sa->sin_addr, a.bytes.data(), 4);
        return {ss, sizeof(sockaddr_in)};
    }
    auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons(port);
    std::memcpy(&sa->sin6_addr, a.bytes.data(), 16);
    return {ss, sizeof(sockaddr_in6)};
}

std::string address_of(const sockaddr_storage& ss) {
    IpAddress a;
    a.family = ss.ss_family;
    if (ss.ss_family == AF_INET)
        std::memcpy(a.bytes.data(), &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, 4);
    else
        std::memcpy(a.bytes.data(), &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, 16);
    return a.str();
}

// A TCP listener on every address (both families), port `port`, in `netns`.
UniqueFd listener_in(int netns, uint16_t port) {
    auto fd = in_netns(netns, [port] {
        UniqueFd s(socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        int zero = 0;
        setsockopt(s.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        auto [sa, len] = socket_address(ip("::"), port);
        if (bind(s.get(), reinterpret_cast<sockaddr*>(&sa), len) < 0 || listen(s.get(), 8) < 0) s.reset();
        return s;
    });
    REQUIRE(fd.has_value());
    REQUIRE(*fd);
    return std::move(*fd);
}

// Connects from `netns` to `to`:port within `timeout_ms`; errno's name on failure.
Result<UniqueFd> connect_from(int netns, const char* to, uint16_t port, int timeout_ms = 3000) {
    IpAddress a = ip(to);
    auto fd =
        in_netns(netns, [&] { return UniqueFd(socket(a.family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)); });
    REQUIRE(fd.has_value());
    REQUIRE(*fd);
    auto [sa, len] = socket_address(a, port);
    if (connect(fd->get(), reinterpret_cast<sockaddr*>(&sa), len) < 0 && errno != EINPROGRESS)
        return ErrnoErr("connect to ", to);
    pollfd p{fd->get(), POLLOUT, 0};
    if (poll(&p, 1, timeout_ms) != 1) return CodeErr(ETIMEDOUT, "connect to ", to);
    int err = 0;
    socklen_t size = sizeof err;
    getsockopt(fd->get(), SOL_SOCKET, SO_ERROR, &err, &size);
    if (err) return CodeErr(err, "connect to ", to);
    return std::move(*fd);
}

// Accepts one connection; the address it came from as the listener sees it.
std::string accept_peer(int listener) {
    pollfd p{listener, POLLIN, 0};
    REQUIRE(poll(&p, 1, 3000) == 1);
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    UniqueFd c(accept4(listener, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_CLOEXEC));
    REQUIRE(c);
    // IPv4 clients reach the dual-stack listener as ::ffff:a.b.c.d.
    std::string peer = address_of(ss);
    if (peer.starts_with("::ffff:")) peer = peer.substr(7);
    return peer;
}

Result<int> index_of(netlink::Socket& nl, const std::string& name) {
    auto l = TRY(nl.link(name));
    if (!l) return Err("no link ", name);
    return l->index;
}

// Runs `steps` (netlink calls, sysctls) in `netns`.
void setup_in(int netns, const std::function<Result<void>()>& steps) {
    auto r = in_netns(netns, steps);
    REQUIRE(r.has_value());
    if (!*r) FAIL(r->error().what());
}

// A "container" namespace wired to the bridge `bridge` of `host` through a
// veth: `v4`/`v6` on its eth0, default routes via the bridge's addresses.
UniqueFd container_on(int host, const std::string& bridge, const std::string& veth, const char* v4, const char* gw4,
                      const char* v6 = nullptr, const char* gw6 = nullptr) {
    UniqueFd ctr = new_netns();
    int ctr_fd = ctr.get();
    setup_in(host, [&]() -> Result<void> {
        auto nl = TRY(netlink::Socket::open());
        TRY(nl.create_veth(veth, "eth0", ctr_fd));
        int out = TRY(index_of(nl, veth));
        TRY(nl.set_master(out, TRY(index_of(nl, bridge))));
        return nl.set_up(out);
    });
    setup_in(ctr_fd, [&]() -> Result<void> {
        auto nl = TRY(netlink::Socket::open());
        int eth = TRY(index_of(nl, "eth0"));
        TRY(nl.set_up(TRY(index_of(nl, "lo"))));
        TRY(nl.set_up(eth));
        TRY(nl.add_address(eth, ip(v4), 24));
        TRY(nl.add_route(subnet("0.0.0.0/0"), ip(gw4), eth));
        if (v6) {
            TRY(nl.add_address(eth, ip(v6), 64));
            TRY(nl.add_route(subnet("::/0"), ip(gw6), eth));
        }
        return {};
    });
    // The host learns the container's IPv6 neighbour entry from its first
    // packet: the kernel takes a second or two over the first DNAT'ed IPv6
    // connection to a neighbour it has not resolved yet (nft's rules aside).
    if (v6) CHECK(connect_from(ctr.get(), gw6, 9).error().code == ECONNREFUSED);
    return ctr;
}

}  // namespace

TEST_CASE(
    "firewall: published ports are reached through DNAT from the host, 127.0.0.1 and outside; networks are isolated",
    "[firewall][root]") {
    // host: lo, bridges fwt-br1 (10.77.0.1, fd77::1) and fwt-br2 (10.78.0.1),
    // fwt-out (10.66.0.1, fd66::1) to a namespace standing for another
    // machine; a container on each bridge.
    UniqueFd host = new_netns();
    UniqueFd outside = new_netns();
    int outside_fd = outside.get();
    setup_in(host.get(), [&]() -> Result<void> {
        auto nl = TRY(netlink::Socket::open());
        TRY(nl.set_up(TRY(index_of(nl, "lo"))));
        for (auto [name, v4, v6] : {std::tuple{"fwt-br1", "10.77.0.1", "fd77::1"}, {"fwt-br2", "10.78.0.1", nullptr}}) {
            TRY(nl.create_bridge(name));
            int br = TRY(index_of(nl, name));
            TRY(nl.add_address(br, ip(v4), 24));
            if (v6) TRY(nl.add_address(br, ip(v6), 64));
            TRY(nl.set_up(br));
        }
        TRY(nl.create_veth("fwt-out", "eth0", outside_fd));
        int out = TRY(index_of(nl, "fwt-out"));
        TRY(nl.add_address(out, ip("10.66.0.1"), 24));
        TRY(nl.add_address(out, ip("fd66::1"), 64));
        TRY(nl.set_up(out));
        // What the manager sets before it adds a network's rules.
        TRY(netlink::set_sysctl("net/ipv4/ip_forward", "1"));
        TRY(netlink::set_sysctl("net/ipv6/conf/all/forwarding", "1"));
        return netlink::set_sysctl("net/ipv4/conf/fwt-br1/route_localnet", "1");
    });
    setup_in(outside_fd, [&]() -> Result<void> {
        auto nl = TRY(netlink::Socket::open());
        int eth = TRY(index_of(nl, "eth0"));
        TRY(nl.add_address(eth, ip("10.66.0.2"), 24));
        TRY(nl.add_address(eth, ip("fd66::2"), 64));
        return nl.set_up(eth);
    });
    UniqueFd c1 = container_on(host.get(), "fwt-br1", "fwt-v1", "10.77.0.2", "10.77.0.1", "fd77::2", "fd77::1");
    UniqueFd c2 = container_on(host.get(), "fwt-br2", "fwt-v2", "10.78.0.2", "10.78.0.1");

    Firewall fw = firewall_in(host.get());
    REQUIRE(fw.add_network(network("n1", "fwt-br1", "10.77.0.0/24", "fd77::/64")));
    REQUIRE(fw.add_network(network("n2", "fwt-br2", "10.78.0.0/24")));
    REQUIRE(fw.add_ports("c1", {{{}, 8080, 80, "tcp"}}, ip("10.77.0.2"), ip("fd77::2")));
    UniqueFd web = listener_in(c1.get(), 80);

    SECTION("from the host to 127.0.0.1: DNAT in output, the loopback source masqueraded to the bridge's address") {
        auto c = connect_from(host.get(), "127.0.0.1", 8080);
        REQUIRE(c);
        CHECK(accept_peer(web.get()) == "10.77.0.1");
    }
    SECTION("from the host to one of its addresses, both families") {
        REQUIRE(connect_from(host.get(), "10.66.0.1", 8080));
        CHECK(accept_peer(web.get()) == "10.66.0.1");
        REQUIRE(connect_from(host.get(), "fd66::1", 8080));
        CHECK(accept_peer(web.get()) == "fd66::1");
    }
    SECTION("from another machine: DNAT in prerouting, forwarded with its own source, both families") {
        REQUIRE(connect_from(outside_fd, "10.66.0.1", 8080));
        CHECK(accept_peer(web.get()) == "10.66.0.2");
        REQUIRE(connect_from(outside_fd, "fd66::1", 8080));
        CHECK(accept_peer(web.get()) == "fd66::2");
    }
    SECTION("from a container of the same network through a host address (hairpin)") {
        UniqueFd c3 = container_on(host.get(), "fwt-br1", "fwt-v3", "10.77.0.3", "10.77.0.1");
        REQUIRE(connect_from(c3.get(), "10.66.0.1", 8080));
        CHECK(accept_peer(web.get()) == "10.77.0.1");
    }
    SECTION("another network reaches the published port, but not the container's own address") {
        REQUIRE(connect_from(c2.get(), "10.78.0.1", 8080));
        // Leaving n2's subnet through another device than n2's bridge, it is
        // masqueraded like any outgoing connection of n2 (as docker does).
        CHECK(accept_peer(web.get()) == "10.77.0.1");
        auto direct = connect_from(c2.get(), "10.77.0.2", 80, 500);
        REQUIRE_FALSE(direct);
        CHECK(direct.error().code == ETIMEDOUT);  // dropped
        // Without the rules, the same connection goes through.
        REQUIRE(fw.remove_network("n2"));
        REQUIRE(fw.remove_network("n1"));
        REQUIRE(connect_from(c2.get(), "10.77.0.2", 80));
        CHECK(accept_peer(web.get()) == "10.78.0.2");
    }
    SECTION("an internal network reaches nothing beyond its bridge") {
        REQUIRE(fw.add_network(network("n2", "fwt-br2", "10.78.0.0/24", nullptr, true)));
        auto out = connect_from(c2.get(), "10.77.0.2", 80, 500);
        REQUIRE_FALSE(out);
        CHECK(out.error().code == ETIMEDOUT);
        // The host itself still reaches it.
        UniqueFd local = listener_in(c2.get(), 81);
        REQUIRE(connect_from(host.get(), "10.78.0.2", 81));
        CHECK(accept_peer(local.get()) == "10.78.0.1");
    }
    SECTION("after remove_container nothing answers on the port") {
        REQUIRE(fw.remove_container("c1"));
        auto c = connect_from(host.get(), "127.0.0.1", 8080);
        REQUIRE_FALSE(c);
        CHECK(c.error().code == ECONNREFUSED);
    }
}
