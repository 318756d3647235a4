// nftables through libnftables against the real kernel (root needed: run
// without them with `unit-tests '~[root]'`). Each test works in network
// namespaces of its own, entered by a thread; the host's nftables are never
// touched.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <functional>
#include <string>
#include <thread>

#include "libutil/fd.hpp"
#include "manager/network/firewall.hpp"
#include "manager/network/netlink.hpp"

using namespace berth;
using namespace berth::manager;

namespace {

UniqueFd new_netns() {
    UniqueFd fd;
    std::thread([&] {
        if (unshare(CLONE_NEWNET) == 0) fd.reset(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    }).join();
    REQUIRE(fd);
    return fd;
}

// Runs fn on a thread inside `netns` and returns what it returns; "" with a
// reason when the thread cannot enter it. Checks happen on the test's thread.
std::string in_netns(int netns, const std::function<std::string()>& fn) {
    std::string r = "setns failed";
    std::thread([&] {
        if (setns(netns, CLONE_NEWNET) == 0) r = fn();
    }).join();
    return r;
}

Subnet subnet(const char* s) { return *parse_subnet(s); }
IpAddress ip(const char* s) { return *parse_ip(s); }

std::string table(Firewall& fw) {
    auto l = fw.list();
    return l ? *l : "list: " + l.error().what();
}

size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("firewall: a network's rules are added once, replaced, and removed alone", "[root][firewall]") {
    auto ns = new_netns();
    std::string out = in_netns(ns.get(), [] {
        auto fw = Firewall::open();
        if (!fw) return "open: " + fw.error().what();
        NetworkRules a{"a", "berth1", subnet("10.77.0.0/24"), subnet("fd77::/64"), false};
        NetworkRules b{"b", "berth2", subnet("10.78.0.0/24"), std::nullopt, true};
        if (!fw->add_network(a) || !fw->add_network(a) || !fw->add_network(b)) return std::string("add failed");
        std::string both = table(*fw);
        auto owners = fw->network_owners();
        if (!fw->remove_network("a") || !fw->remove_network("a")) return std::string("remove failed");
        std::string only_b = table(*fw);
        return both + "\n=====\n" + only_b + "\n=====\nowners " + (owners ? std::to_string(owners->size()) : "error");
    });
    auto cut = out.find("\n=====\n");
    REQUIRE(cut != std::string::npos);
    std::string both = out.substr(0, cut), rest = out.substr(cut + 7);
    std::string only_b = rest.substr(0, rest.find("\n=====\n"));
    // Added twice, there once.
    CHECK(count(both, "ip saddr 10.77.0.0/24 oifname != \"berth1\" masquerade comment \"net:a\"") == 1);
    CHECK(count(both, "ip6 saddr fd77::/64 oifname != \"berth1\" masquerade comment \"net:a\"") == 1);
    CHECK(count(both, "oifname \"berth1\" ip saddr 127.0.0.0/8 masquerade comment \"net:a\"") == 1);
    CHECK(count(both, "fib daddr type local jump ports") == 2);  // prerouting and output, once each
    // Internal: no masquerade, drops both ways.
    CHECK(count(both, "comment \"net:b\"") == 3);
    CHECK(count(both, "iifname \"berth2\" oifname != \"berth2\" drop") == 1);
    CHECK(count(both, "oifname \"berth2\" iifname != \"berth2\" drop") == 1);
    CHECK(count(both, "masquerade comment \"net:b\"") == 0);
    CHECK(rest.ends_with("owners 2"));
    CHECK(count(only_b, "net:a") == 0);
    CHECK(count(only_b, "comment \"net:b\"") == 3);
}

TEST_CASE("firewall: ports are published and withdrawn per container", "[root][firewall]") {
    auto ns = new_netns();
    std::string out = in_netns(ns.get(), [] {
        auto fw = Firewall::open();
        if (!fw) return "open: " + fw.error().what();
        std::vector<PortMapping> p1 = {{IpAddress{}, 8080, 80, "tcp"}, {ip("127.0.0.1"), 5353, 53, "udp"}};
        std::vector<PortMapping> p2 = {{ip("::1"), 8443, 443, "tcp"}};
        if (!fw->add_ports("c1", p1, ip("10.88.0.2"), ip("fd00::2")) || !fw->add_ports("c2", p2, ip("10.88.0.3"), ip("fd00::3")))
            return std::string("add failed");
        std::string both = table(*fw);
        auto owners = fw->container_owners();
        if (!fw->remove_container("c1") || !fw->remove_container("c1")) return std::string("remove failed");
        return both + "\n=====\n" + table(*fw) + "\n=====\n" + (owners ? std::to_string(owners->size()) : "error");
    });
    auto cut = out.find("\n=====\n");
    REQUIRE(cut != std::string::npos);
    std::string both = out.substr(0, cut), rest = out.substr(cut + 7);
    CHECK(count(both, "meta nfproto ipv4 tcp dport 8080 dnat ip to 10.88.0.2:80 comment \"ctr:c1\"") == 1);
    CHECK(count(both, "meta nfproto ipv6 tcp dport 8080 dnat ip6 to [fd00::2]:80 comment \"ctr:c1\"") == 1);
    CHECK(count(both, "ip daddr 127.0.0.1 udp dport 5353 dnat ip to 10.88.0.2:53 comment \"ctr:c1\"") == 1);
    CHECK(count(both, "ip6 daddr ::1 tcp dport 8443 dnat ip6 to [fd00::3]:443 comment \"ctr:c2\"") == 1);
    CHECK(rest.ends_with("\n=====\n2"));
    CHECK(count(rest, "ctr:c1") == 0);
    CHECK(count(rest, "ctr:c2") == 1);
}

TEST_CASE("firewall: 127.0.0.1:PORT reaches a listener in another namespace, from the bridge's address",
          "[root][firewall]") {
    auto host = new_netns();
    auto ctr = new_netns();
    // host: vb0 10.77.0.1/24 (stands in for a bridge); ctr: eth0 10.77.0.2/24.
    std::string setup = in_netns(host.get(), [&]() -> std::string {
        auto h = netlink::Socket::open();
        auto c = netlink::Socket::open_in(ctr.get());
        if (!h || !c) return "netlink";
        if (!h->create_veth("vb0", "eth0", ctr.get())) return "veth";
        auto lo = h->link("lo");
        auto vb = h->link("vb0");
        auto eth = c->link("eth0");
        auto clo = c->link("lo");
        if (!lo || !*lo || !vb || !*vb || !eth || !*eth || !clo || !*clo) return "links";
        if (!h->set_up((*lo)->index) || !h->set_up((*vb)->index) || !c->set_up((*eth)->index) || !c->set_up((*clo)->index))
            return "up";
        if (!h->add_address((*vb)->index, ip("10.77.0.1"), 24) || !c->add_address((*eth)->index, ip("10.77.0.2"), 24))
            return "address";
        if (!netlink::set_sysctl("net/ipv4/conf/vb0/route_localnet", "1")) return "sysctl";
        auto fw = Firewall::open();
        if (!fw) return fw.error().what();
        if (auto r = fw->add_network({"n", "vb0", subnet("10.77.0.0/24"), std::nullopt, false}); !r) return r.error().what();
        if (auto r = fw->add_ports("c", {{IpAddress{}, 8080, 80, "tcp"}}, ip("10.77.0.2"), IpAddress{}); !r)
            return r.error().what();
        return "ok";
    });
    REQUIRE(setup == "ok");
    // The listener in ctr, bound before the host connects.
    UniqueFd listener;
    in_netns(ctr.get(), [&] {
        listener.reset(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(80);
        if (bind(listener.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) listen(listener.get(), 1);
        return std::string();
    });
    REQUIRE(listener);
    std::string connected = in_netns(host.get(), [] {
        UniqueFd s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(8080);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return std::string("connect: ") + strerror(errno);
        return std::string(write(s.get(), "hi", 2) == 2 ? "sent" : "write failed");
    });
    CHECK(connected == "sent");
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    UniqueFd conn(accept4(listener.get(), reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC | SOCK_NONBLOCK));
    REQUIRE(conn);
    char from[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &peer.sin_addr, from, sizeof from);
    // Masqueraded: the container sees the bridge's address, not 127.0.0.1.
    CHECK(std::string(from) == "10.77.0.1");
}
