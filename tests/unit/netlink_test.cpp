// rtnetlink against the real kernel (root needed: run without them with
// `unit-tests '~[root]'`). Every test works in network namespaces it makes
// itself; the host's namespace is only read, to check nothing reached it.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <optional>
#include <thread>

#include "libutil/fd.hpp"
#include "manager/network/netlink.hpp"

using namespace berth;
using namespace berth::netlink;

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

Socket socket_in(int netns) {
    auto s = Socket::open_in(netns);
    REQUIRE(s);
    return std::move(*s);
}

Link must_link(Socket& s, const std::string& name) {
    auto l = s.link(name);
    REQUIRE(l);
    REQUIRE(l->has_value());
    return **l;
}

ino_t netns_inode() {
    struct stat st {};
    REQUIRE(stat("/proc/thread-self/ns/net", &st) == 0);
    return st.st_ino;
}

IpAddress ip(const char* s) { return *parse_ip(s); }

bool has_address(Socket& s, int index, const char* a, int prefix) {
    auto all = s.addresses(index);
    REQUIRE(all);
    return std::find(all->begin(), all->end(), std::pair{ip(a), prefix}) != all->end();
}

bool has_route(Socket& s, int family, const char* dst, const char* gateway, int index) {
    auto all = s.routes(family);
    REQUIRE(all);
    Subnet want = *parse_subnet(dst);
    IpAddress via = gateway ? ip(gateway) : IpAddress{};
    return std::any_of(all->begin(), all->end(), [&](const Route& r) {
        return r.dst.network == want.network && r.dst.prefix == want.prefix && r.gateway == via && r.index == index;
    });
}

}  // namespace

TEST_CASE("netlink: a bridge is created once, brought up and given IPv4 and IPv6 addresses", "[root]") {
    ino_t host = netns_inode();
    UniqueFd ns = new_netns();
    Socket s = socket_in(ns.get());

    CHECK(s.create_bridge("nlt-br") == true);
    CHECK(s.create_bridge("nlt-br") == false);
    Link br = must_link(s, "nlt-br");
    CHECK(br.index > 0);
    CHECK(br.kind == "bridge");
    CHECK_FALSE(br.up);
    CHECK(br.master == 0);
    CHECK(br.mac.size() == 17);
    CHECK(s.link("nlt-none").value() == std::nullopt);

    REQUIRE(s.set_up(br.index));
    CHECK(must_link(s, "nlt-br").up);
    REQUIRE(s.add_address(br.index, ip("10.99.0.1"), 24));
    REQUIRE(s.add_address(br.index, ip("fd99::1"), 64));
    CHECK(has_address(s, br.index, "10.99.0.1", 24));
    CHECK(has_address(s, br.index, "fd99::1", 64));
    // The bridge has no port, so no carrier: an address under DAD would stay
    // tentative and refuse bind(); IFA_F_NODAD makes it usable at once.
    auto bound = in_netns(ns.get(), [] {
        UniqueFd u(socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        sockaddr_in6 sa{};
        sa.sin6_family = AF_INET6;
        inet_pton(AF_INET6, "fd99::1", &sa.sin6_addr);
        return bind(u.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    });
    CHECK(bound == true);

    auto all = s.links();
    REQUIRE(all);
    CHECK(all->size() == 2);  // lo and the bridge
    CHECK(std::any_of(all->begin(), all->end(), [&](const Link& l) { return l.name == "nlt-br" && l.index == br.index; }));

    // Nothing of it in the host's namespace, which this thread never left.
    CHECK(netns_inode() == host);
    auto on_host = Socket::open();
    REQUIRE(on_host);
    CHECK(on_host->link("nlt-br").value() == std::nullopt);

    REQUIRE(s.delete_link(br.index));
    CHECK(s.link("nlt-br").value() == std::nullopt);
}

TEST_CASE("netlink: a veth's peer is made in another namespace, renamed, enslaved and routed", "[root]") {
    UniqueFd host_ns = new_netns();  // stands for the host
    UniqueFd ctr_ns = new_netns();   // stands for the container
    Socket host = socket_in(host_ns.get());
    Socket ctr = socket_in(ctr_ns.get());

    REQUIRE(host.create_bridge("nlt-br").value());
    int br = must_link(host, "nlt-br").index;
    REQUIRE(host.create_veth("nlt-vh", "nlt-vp", ctr_ns.get()));
    Link vh = must_link(host, "nlt-vh");
    CHECK(vh.kind == "veth");
    CHECK(host.link("nlt-vp").value() == std::nullopt);
    Link vp = must_link(ctr, "nlt-vp");
    CHECK(vp.kind == "veth");
    CHECK(ctr.link("nlt-vh").value() == std::nullopt);

    REQUIRE(host.set_master(vh.index, br));
    CHECK(must_link(host, "nlt-vh").master == br);

    REQUIRE(ctr.set_name(vp.index, "eth0"));
    CHECK(must_link(ctr, "eth0").index == vp.index);
    CHECK(ctr.link("nlt-vp").value() == std::nullopt);

    REQUIRE(host.set_up(br));
    REQUIRE(host.set_up(vh.index));
    REQUIRE(ctr.set_up(vp.index));
    REQUIRE(host.add_address(br, ip("10.99.0.1"), 24));
    REQUIRE(host.add_address(br, ip("fd99::1"), 64));
    REQUIRE(ctr.add_address(vp.index, ip("10.99.0.2"), 24));
    REQUIRE(ctr.add_address(vp.index, ip("fd99::2"), 64));
    REQUIRE(ctr.add_route(*parse_subnet("0.0.0.0/0"), ip("10.99.0.1"), vp.index));
    REQUIRE(ctr.add_route(*parse_subnet("::/0"), ip("fd99::1"), vp.index));
    REQUIRE(ctr.add_route(*parse_subnet("10.98.0.0/16"), IpAddress{}, vp.index));
    CHECK(has_route(ctr, AF_INET, "0.0.0.0/0", "10.99.0.1", vp.index));
    CHECK(has_route(ctr, AF_INET6, "::/0", "fd99::1", vp.index));
    CHECK(has_route(ctr, AF_INET, "10.98.0.0/16", nullptr, vp.index));
    CHECK(has_route(ctr, AF_INET, "10.99.0.0/24", nullptr, vp.index));  // the kernel's, for the address
    CHECK_FALSE(has_route(host, AF_INET, "0.0.0.0/0", "10.99.0.1", vp.index));

    // Deleting one end deletes the pair.
    REQUIRE(host.delete_link(vh.index));
    CHECK(host.link("nlt-vh").value() == std::nullopt);
    CHECK(ctr.link("eth0").value() == std::nullopt);
}

TEST_CASE("netlink: errors name the operation and the object", "[root]") {
    UniqueFd ns = new_netns();
    Socket s = socket_in(ns.get());

    CHECK(s.set_up(999999).error().what() == "set link 999999 up: No such device");
    CHECK(s.delete_link(999999).error().what() == "delete link 999999: No such device");
    CHECK(s.set_master(1, 999999).error().what() == "set master of link 1 to link 999999: Invalid argument");
    auto missing = s.add_address(999999, ip("10.99.0.1"), 24);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == ENODEV);
    // The kernel's own words (extended ack), as Linux 6.18 gives them.
    CHECK(missing.error().what() == "add address 10.99.0.1/24 to link 999999: ipv4: Device not found: No such device");
    CHECK(s.add_route(*parse_subnet("0.0.0.0/0"), ip("10.99.0.1"), 999999).error().what() ==
          "add route to 0.0.0.0/0 via 10.99.0.1 on link 999999: Nexthop has invalid gateway: Network is unreachable");

    CHECK(s.create_bridge("nlt-a-name-too-long").error().what() ==
          "create bridge nlt-a-name-too-long: a link name is 1 to 15 bytes");
    CHECK(s.create_veth("nlt-v0", "", ns.get()).error().what() == "create veth nlt-v0 (peer ): a link name is 1 to 15 bytes");
    CHECK(s.set_name(1, "nlt-a-name-too-long").error().what() == "rename link 1 to nlt-a-name-too-long: a link name is 1 to 15 bytes");
    CHECK(s.create_bridge("lo").error().what() == "create bridge lo: lo exists and is not a bridge");
    REQUIRE(s.create_veth("nlt-v0", "nlt-v1", ns.get()));
    CHECK(s.create_bridge("nlt-v1").error().what() == "create bridge nlt-v1: nlt-v1 exists and is a veth, not a bridge");
    CHECK(s.create_veth("nlt-v0", "nlt-v2", ns.get()).error().what() == "create veth nlt-v0 (peer nlt-v2): File exists");
    int lo = must_link(s, "lo").index;
    REQUIRE(s.add_address(lo, ip("10.99.0.1"), 8));
    CHECK(s.add_address(lo, ip("10.99.0.1"), 8).error().what() ==
          "add address 10.99.0.1/8 to link " + std::to_string(lo) + ": ipv4: Address already assigned: File exists");
    CHECK(Socket::open_in(-1).error().what() == "enter network namespace (fd -1): Bad file descriptor");
}

TEST_CASE("netlink: set_sysctl writes in the calling thread's network namespace", "[root]") {
    UniqueFd ns = new_netns();
    auto r = in_netns(ns.get(), []() -> Result<std::string> {
        Socket s = TRY(Socket::open());
        TRY(s.create_bridge("nlt-br"));
        TRY(set_sysctl("net/ipv4/conf/nlt-br/route_localnet", "1"));
        std::ifstream in("/proc/sys/net/ipv4/conf/nlt-br/route_localnet");
        std::string v;
        in >> v;
        return v;
    });
    REQUIRE(r.has_value());
    REQUIRE(*r);
    CHECK(**r == "1");
    auto on_host = Socket::open();
    REQUIRE(on_host);
    CHECK(on_host->link("nlt-br").value() == std::nullopt);

    CHECK(set_sysctl("net/ipv4/conf/nlt-none/route_localnet", "1").error().what() ==
          "set sysctl net/ipv4/conf/nlt-none/route_localnet: No such file or directory");
    CHECK(set_sysctl("net/../../etc/passwd", "x").error().what() ==
          "set sysctl net/../../etc/passwd: not a key under /proc/sys");
}
