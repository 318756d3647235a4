#include "manager/network/network_store.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "libutil/strings.hpp"
#include "manager/images/sqlite.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace berth;
using namespace berth::manager;

namespace {

const std::string kImage = "sha256:" + std::string(64, 'a');

// REQUIRE(ok(r)) shows the error when r failed.
template <class T>
bool ok(const Result<T>& r) {
    if (!r) UNSCOPED_INFO(r.error().what());
    return r.has_value();
}

template <class T>
std::string error_of(const Result<T>& r) {
    REQUIRE_FALSE(r);
    return r.error().message;
}

IpAddress ip(const std::string& s) {
    return parse_ip(s).value();
}

void add_image(ImageStore& db) {
    ImageRecord img;
    img.id = kImage;
    img.manifest_digest = "sha256:" + std::string(64, 'b');
    img.config = "{}";
    REQUIRE(db.add(img, {}));
}

// A container row as create inserts it (leases reference it).
Result<void> insert_container(ImageStore& db, const std::string& id, const std::string& name) {
    Query q(db.handle(),
            "INSERT INTO containers (id, name, image_id, image_name, created, state, options) "
            "VALUES (?1, ?2, ?3, 'busybox', '2024-01-01T00:00:00Z', 'created', '{}')");
    q.bind(id).bind(name).bind(kImage);
    return q.run("insert container");
}

// A store with one image, for container rows to point at.
struct Fixture {
    TempDir t;
    ImageStore db = std::move(ImageStore::open(t.path).value());
    NetworkStore s{db};
    Fixture() { add_image(db); }
    // Container ID named "name-ID".
    void add_container(const std::string& id) { REQUIRE(ok(insert_container(db, id, "name-" + id))); }
    void delete_container(const std::string& id) {
        Query q(db.handle(), "DELETE FROM containers WHERE id = ?1");
        q.bind(id);
        REQUIRE(q.run("delete container"));
    }
    std::vector<std::string> names() {
        std::vector<std::string> out;
        auto all = s.list().value();
        for (const auto& n : all)
            out.push_back(n.name);
        return out;
    }
};

NetworkCreateOptions opts(const std::string& name, std::vector<std::string> subnets = {},
                          std::vector<std::string> gateways = {}) {
    NetworkCreateOptions o;
    o.name = name;
    o.subnets = std::move(subnets);
    o.gateways = std::move(gateways);
    return o;
}

// BERTH_DEFAULT_SUBNET set for one scope.
struct DefaultSubnet {
    explicit DefaultSubnet(const char* v) { ::setenv("BERTH_DEFAULT_SUBNET", v, 1); }
    ~DefaultSubnet() { ::unsetenv("BERTH_DEFAULT_SUBNET"); }
};

}  // namespace

TEST_CASE("networks: names follow docker's rule; bridge, none, host and default are reserved", "[network_store]") {
    for (const std::string& good : std::vector<std::string>{"a", "net1", "my_net-1.2", "A9", std::string(64, 'a')})
        CHECK(ok(validate_network_name(good)));
    for (const std::string& bad :
         std::vector<std::string>{"", "-a", ".a", "_a", "a b", "a/b", "container:x", "ä", std::string(65, 'a')})
        CHECK(error_of(validate_network_name(bad)) ==
              cat("invalid network name \"", bad, "\": names are [a-zA-Z0-9][a-zA-Z0-9_.-]* (64 at most)"));
    for (const char* r : {"bridge", "none", "host", "default"})
        CHECK(error_of(validate_network_name(r)) == cat("network name \"", r, "\" is reserved"));
    CHECK(error_of(check_removable("bridge")) == "network bridge is the default network and cannot be removed");
    CHECK(error_of(check_removable("none")) == "network none is reserved and cannot be removed");
    CHECK(error_of(check_removable("host")) == "network host is reserved and cannot be removed");
    CHECK(ok(check_removable("net1")));
}

TEST_CASE("networks: create checks driver, options, subnets and gateways; nothing is recorded on an error",
          "[network_store]") {
    Fixture f;
    CHECK(error_of(f.s.create(opts("n", {"10.90.0.0/33"}))) ==
          "--subnet 10.90.0.0/33: \"10.90.0.0/33\": the prefix length must be 0 to 32");
    CHECK(error_of(f.s.create(opts("n", {"bogus"}))).starts_with("--subnet bogus: "));
    CHECK(error_of(f.s.create(opts("n", {"10.90.0.1/24"}))) ==
          "--subnet 10.90.0.1/24: \"10.90.0.1/24\": host bits are set (did you mean 10.90.0.0/24?)");
    CHECK(error_of(f.s.create(opts("n", {"10.90.0.0/31"}))) ==
          "--subnet 10.90.0.0/31: subnet 10.90.0.0/31 is too small: a network needs 4 addresses at least (/30)");
    CHECK(error_of(f.s.create(opts("n", {"fd00:9::/127"}))) ==
          "--subnet fd00:9::/127: subnet fd00:9::/127 is too small: a network needs 4 addresses at least (/126)");
    CHECK(error_of(f.s.create(opts("n", {"10.90.0.0/24", "10.91.0.0/24"}))) ==
          "--subnet 10.91.0.0/24: one subnet per address family (10.90.0.0/24 given already)");
    CHECK(error_of(f.s.create(opts("n", {"10.90.0.0/24"}, {"10.91.0.1"}))) ==
          "--gateway 10.91.0.1: not in subnet 10.90.0.0/24");
    CHECK(error_of(f.s.create(opts("n", {"10.90.0.0/24"}, {"10.90.0.0"}))) ==
          "--gateway 10.90.0.0: the network or broadcast address of 10.90.0.0/24 cannot be a gateway");
    CHECK(error_of(f.s.create(opts("n", {"10.90.0.0/24"}, {"10.90.0.255"}))) ==
          "--gateway 10.90.0.255: the network or broadcast address of 10.90.0.0/24 cannot be a gateway");
    CHECK(error_of(f.s.create(opts("n", {"10.90.0.0/24"}, {"10.90.0.2", "10.90.0.3"}))) ==
          "--gateway 10.90.0.3: one gateway per address family");
    CHECK(error_of(f.s.create(opts("n", {}, {"10.90.0.1"}))) ==
          "--gateway 10.90.0.1: needs a --subnet of its address family");
    CHECK(error_of(f.s.create(opts("n", {"10.90.0.0/24"}, {"x"}))) == "--gateway x: \"x\" is not an IP address");
    CHECK(error_of(f.s.create(opts("n", {"10.88.5.0/24"}))) ==
          "subnet 10.88.5.0/24 overlaps network bridge (10.88.0.0/16)");
    CHECK(error_of(f.s.create(opts("n", {"10.0.0.0/8"}))) ==
          "subnet 10.0.0.0/8 overlaps network bridge (10.88.0.0/16)");
    auto d = opts("n");
    d.driver = "macvlan";
    CHECK(error_of(f.s.create(d)) == "network driver macvlan is not supported (bridge)");
    auto o = opts("n");
    o.options = {{"mtu", "1400"}};
    CHECK(error_of(f.s.create(o)) == "network option mtu is not supported");
    CHECK(error_of(f.s.create(opts("bridge"))) == "network name \"bridge\" is reserved");
    CHECK(error_of(f.s.create(opts("-x"))).starts_with("invalid network name \"-x\""));
    // Only the default network, made to check overlaps against it.
    CHECK(f.names() == std::vector<std::string>{"bridge"});

    auto a = f.s.create(opts("a", {"10.90.0.0/16"}, {"10.90.0.254"}));
    REQUIRE(ok(a));
    CHECK(a->gateway4.str() == "10.90.0.254");
    CHECK(error_of(f.s.create(opts("b", {"10.90.3.0/24"}))) == "subnet 10.90.3.0/24 overlaps network a (10.90.0.0/16)");
    CHECK(error_of(f.s.create(opts("b", {"10.0.0.0/8"}))) == "subnet 10.0.0.0/8 overlaps network a (10.90.0.0/16)");
    CHECK(error_of(f.s.create(opts("a"))) == "network a already exists");
    CHECK(f.names() == std::vector<std::string>{"a", "bridge"});
    // A /30 has room for one container.
    CHECK(ok(f.s.create(opts("tiny", {"10.91.0.0/30"}))));
}

TEST_CASE("networks: create records labels, --internal and the gateways; get by name, id, id prefix",
          "[network_store]") {
    Fixture f;
    auto o = opts("web", {"192.168.50.0/24", "fd00:99::/64"}, {"fd00:99::fe"});
    o.internal = true;
    o.labels = {{"app", "web"}, {"tier", ""}};
    auto n = f.s.create(o);
    REQUIRE(ok(n));
    auto got = f.s.get("web");
    REQUIRE(ok(got));
    REQUIRE(*got);
    const auto& g = **got;
    CHECK(g.name == "web");
    CHECK(g.driver == "bridge");
    CHECK(g.id == n->id);
    CHECK(g.id.size() == 64);
    CHECK(g.id.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(g.bridge == "berth1");
    CHECK(g.subnet4->str() == "192.168.50.0/24");
    CHECK(g.gateway4.str() == "192.168.50.1");
    CHECK(g.subnet6->str() == "fd00:99::/64");
    CHECK(g.gateway6.str() == "fd00:99::fe");
    CHECK(g.internal);
    CHECK(g.labels == std::map<std::string, std::string>{{"app", "web"}, {"tier", ""}});
    CHECK(g.options.empty());
    CHECK(g.created.starts_with("20"));
    CHECK(g.created.ends_with("Z"));

    for (const std::string& prefix : {n->id, n->id.substr(0, 12), n->id.substr(0, 3)}) {
        auto by_id = f.s.get(prefix);
        REQUIRE(ok(by_id));
        REQUIRE(*by_id);
        CHECK((*by_id)->name == "web");
    }
    // Two characters are too few for a prefix; a name is looked up first.
    CHECK_FALSE(f.s.get(n->id.substr(0, 2)).value());
    CHECK_FALSE(f.s.get("nope").value());
    CHECK_FALSE(f.s.get("none").value());
    CHECK_FALSE(f.s.get("host").value());
}

TEST_CASE("networks: picked subnets are distinct, bridges berth1, berth2, and freed ones are taken again",
          "[network_store]") {
    Fixture f;
    auto a = f.s.create(opts("a"));
    REQUIRE(ok(a));
    auto b = f.s.create(opts("b"));
    REQUIRE(ok(b));
    CHECK(a->subnet4->str() == "10.89.0.0/24");
    CHECK(a->gateway4.str() == "10.89.0.1");
    CHECK(b->subnet4->str() == "10.89.1.0/24");
    CHECK(a->bridge == "berth1");
    CHECK(b->bridge == "berth2");
    CHECK_FALSE(a->subnet6);
    CHECK(a->gateway6.empty());
    auto o = opts("c");
    o.ipv6 = true;
    auto c = f.s.create(o);
    REQUIRE(ok(c));
    CHECK(c->subnet4->str() == "10.89.2.0/24");
    REQUIRE(c->subnet6);
    CHECK(c->subnet6->str() == "fd00:4254::/64");
    CHECK(c->gateway6.str() == "fd00:4254::1");
    o.name = "d";
    auto d = f.s.create(o);
    REQUIRE(ok(d));
    CHECK(d->subnet4->str() == "10.89.3.0/24");
    CHECK(d->subnet6->str() == "fd00:4254:1::/64");
    // A given subnet is skipped by the picks.
    auto e = f.s.create(opts("e", {"10.89.5.0/24"}));
    REQUIRE(ok(e));
    auto g = f.s.create(opts("g"));
    REQUIRE(ok(g));
    CHECK(g->subnet4->str() == "10.89.4.0/24");
    auto h = f.s.create(opts("h"));
    REQUIRE(ok(h));
    CHECK(h->subnet4->str() == "10.89.6.0/24");
    // Only an IPv6 subnet given: no IPv4 one.
    auto v6 = f.s.create(opts("v6only", {"fd00:1::/64"}));
    REQUIRE(ok(v6));
    CHECK_FALSE(v6->subnet4);
    CHECK(v6->subnet6->str() == "fd00:1::/64");
    CHECK(v6->gateway6.str() == "fd00:1::1");
    // Removed: its subnet and bridge are free again.
    REQUIRE(ok(f.s.remove("a")));
    auto i = f.s.create(opts("i"));
    REQUIRE(ok(i));
    CHECK(i->subnet4->str() == "10.89.0.0/24");
    CHECK(i->bridge == "berth1");
}

TEST_CASE("networks: no free subnet left to pick is an error", "[network_store]") {
    Fixture f;
    REQUIRE(ok(f.s.create(opts("all", {"10.89.0.0/16"}))));
    CHECK(error_of(f.s.create(opts("n"))) == "no free IPv4 subnet left to pick: give one with --subnet");
    CHECK(f.names() == std::vector<std::string>{"all", "bridge"});
}

TEST_CASE("networks: the default network is made on first use, once, and cannot be removed", "[network_store]") {
    TempDir t;
    auto db1 = ImageStore::open(t.path);
    auto db2 = ImageStore::open(t.path);
    REQUIRE(ok(db1));
    REQUIRE(ok(db2));
    NetworkStore s1(*db1), s2(*db2);
    REQUIRE(s1.list().value().empty());
    auto a = s1.default_network();
    auto b = s2.default_network();
    REQUIRE(ok(a));
    REQUIRE(ok(b));
    CHECK(a->id == b->id);
    CHECK(a->name == "bridge");
    CHECK(a->bridge == "berth0");
    CHECK(a->subnet4->str() == "10.88.0.0/16");
    CHECK(a->gateway4.str() == "10.88.0.1");
    CHECK_FALSE(a->subnet6);
    CHECK_FALSE(a->internal);
    CHECK(s2.list().value().size() == 1);
    auto by_name = s2.get("bridge");
    REQUIRE(ok(by_name));
    CHECK((*by_name)->id == a->id);
    CHECK(error_of(s1.remove("bridge")) == "network bridge is the default network and cannot be removed");
    CHECK(error_of(s1.remove("none")) == "network none is reserved and cannot be removed");
    CHECK(s1.list().value().size() == 1);
}

TEST_CASE("networks: concurrent first uses of the default network agree on one row", "[network_store]") {
    for (int round = 0; round < 10; ++round) {
        TempDir t;
        REQUIRE(ok(ImageStore::open(t.path)));  // the schema, made once
        constexpr int kThreads = 4;
        std::vector<std::string> ids(kThreads), errors(kThreads);
        std::vector<std::thread> threads;
        for (int i = 0; i < kThreads; ++i)
            threads.emplace_back([&, i] {
                auto db = ImageStore::open(t.path);
                if (!db) {
                    errors[i] = db.error().what();
                    return;
                }
                auto n = NetworkStore(*db).default_network();
                if (n)
                    ids[i] = n->id;
                else
                    errors[i] = n.error().what();
            });
        for (auto& th : threads)
            th.join();
        for (int i = 0; i < kThreads; ++i) {
            INFO("round " << round << " thread " << i);
            CHECK(errors[i] == "");
            CHECK(ids[i] == ids[0]);
        }
        auto db = ImageStore::open(t.path);
        REQUIRE(ok(db));
        CHECK(NetworkStore(*db).list().value().size() == 1);
    }
}

TEST_CASE("networks: BERTH_DEFAULT_SUBNET gives the default network its subnet when it is made", "[network_store]") {
    {
        Fixture f;
        DefaultSubnet env("10.66.0.0/24");
        auto n = f.s.default_network();
        REQUIRE(ok(n));
        CHECK(n->subnet4->str() == "10.66.0.0/24");
        CHECK(n->gateway4.str() == "10.66.0.1");
    }
    {
        Fixture f;
        REQUIRE(ok(f.s.default_network()));
        DefaultSubnet env("10.66.0.0/24");  // too late: the row is there
        CHECK(f.s.default_network().value().subnet4->str() == "10.88.0.0/16");
    }
    for (const char* bad : {"10.66.0.1/24", "nonsense", "10.66.0.0/31"}) {
        Fixture f;
        DefaultSubnet env(bad);
        CHECK(error_of(f.s.default_network()).starts_with(cat("BERTH_DEFAULT_SUBNET ", bad, ": ")));
        CHECK(f.s.list().value().empty());
    }
}

TEST_CASE("networks: users, remove of a network in use, prune", "[network_store]") {
    Fixture f;
    auto used = f.s.create(opts("used"));
    REQUIRE(ok(used));
    REQUIRE(ok(f.s.create(opts("idle1"))));
    REQUIRE(ok(f.s.create(opts("idle2"))));
    f.add_container("c1");
    f.add_container("c2");
    REQUIRE(ok(f.s.allocate(*used, "c2", 4, std::nullopt, {}, "eth0")));
    REQUIRE(ok(f.s.allocate(*used, "c1", 4, std::nullopt, {}, "eth0")));
    CHECK(f.s.users("used").value() == std::vector<std::string>{"c1", "c2"});
    CHECK(f.s.users("idle1").value().empty());
    // The message names the container by its name.
    CHECK(error_of(f.s.remove("used")) == "network used is in use by container name-c1");
    // The database refuses it too (no cascade from networks to leases).
    {
        Query q(f.db.handle(), "DELETE FROM networks WHERE name = 'used'");
        CHECK_FALSE(q.run("delete"));
    }
    auto pruned = f.s.prune();
    REQUIRE(ok(pruned));
    REQUIRE(pruned->size() == 2);
    CHECK((*pruned)[0].name == "idle1");
    CHECK((*pruned)[1].name == "idle2");
    CHECK((*pruned)[0].bridge == "berth2");
    CHECK(f.names() == std::vector<std::string>{"bridge", "used"});
    CHECK(f.s.prune().value().empty());
    f.delete_container("c1");
    CHECK(error_of(f.s.remove("used")) == "network used is in use by container name-c2");
    f.delete_container("c2");
    REQUIRE(ok(f.s.remove("used")));
    CHECK(f.names() == std::vector<std::string>{"bridge"});
    // The default network is never pruned.
    CHECK(f.s.prune().value().empty());
}

TEST_CASE("IPAM: lowest free address, requested ones, taken, outside, reserved, release", "[network_store]") {
    Fixture f;
    auto net = f.s.default_network().value();
    f.add_container("c1");
    f.add_container("c2");
    f.add_container("c3");
    auto l1 = f.s.allocate(net, "c1", 4, std::nullopt, {"web"}, "eth0");
    REQUIRE(ok(l1));
    CHECK(l1->address.str() == "10.88.0.2");
    CHECK(l1->prefix == 16);
    CHECK(l1->network == "bridge");
    CHECK(l1->container_id == "c1");
    CHECK(error_of(f.s.allocate(net, "c1", 4, std::nullopt, {}, "eth1")) ==
          "container name-c1 already has IPv4 address 10.88.0.2 in network bridge");
    CHECK(error_of(f.s.allocate(net, "c2", 4, ip("10.88.0.2"), {}, "eth0")) ==
          "IP address 10.88.0.2 is already in use by container name-c1 in network bridge");
    CHECK(error_of(f.s.allocate(net, "c2", 4, ip("10.99.0.2"), {}, "eth0")) ==
          "IP address 10.99.0.2 is not in network bridge's subnet 10.88.0.0/16");
    for (const char* r : {"10.88.0.0", "10.88.0.1", "10.88.255.255"})
        CHECK(error_of(f.s.allocate(net, "c2", 4, ip(r), {}, "eth0")) ==
              cat("IP address ", r, " is reserved in network bridge (network, gateway or broadcast address)"));
    CHECK(error_of(f.s.allocate(net, "c2", 6, std::nullopt, {}, "eth0")) == "network bridge has no IPv6 subnet");
    auto l2 = f.s.allocate(net, "c2", 4, ip("10.88.7.7"), {}, "eth0");
    REQUIRE(ok(l2));
    CHECK(l2->address.str() == "10.88.7.7");
    auto l3 = f.s.allocate(net, "c3", 4, std::nullopt, {}, "eth0");
    REQUIRE(ok(l3));
    CHECK(l3->address.str() == "10.88.0.3");
    CHECK(f.s.users("bridge").value() == std::vector<std::string>{"c1", "c2", "c3"});
    auto leases = f.s.leases_of_container("c1").value();
    REQUIRE(leases.size() == 1);
    CHECK(leases[0].aliases == std::vector<std::string>{"web"});
    CHECK(leases[0].iface == "eth0");
    CHECK(leases[0].prefix == 16);
    REQUIRE(ok(f.s.release("c1")));
    CHECK(f.s.leases_of_container("c1").value().empty());
    // The lowest free address again.
    auto l4 = f.s.allocate(net, "c1", 4, std::nullopt, {}, "eth0");
    REQUIRE(ok(l4));
    CHECK(l4->address.str() == "10.88.0.2");
    // The database itself refuses one address twice.
    {
        Query q(f.db.handle(),
                "INSERT INTO network_leases (network, container_id, family, address, aliases, iface) "
                "VALUES ('bridge', 'c3', 6, '10.88.0.2', '[]', 'eth0')");
        CHECK_FALSE(q.run("insert lease"));
    }
}

TEST_CASE("IPAM: leases go with their container's row; release on one network or all", "[network_store]") {
    Fixture f;
    auto def = f.s.default_network().value();
    auto o = opts("dual");
    o.ipv6 = true;
    auto dual = f.s.create(o);
    REQUIRE(ok(dual));
    f.add_container("c1");
    f.add_container("c2");
    REQUIRE(ok(f.s.allocate(*dual, "c1", 6, std::nullopt, {"a"}, "eth1")));
    REQUIRE(ok(f.s.allocate(*dual, "c1", 4, std::nullopt, {"a"}, "eth1")));
    REQUIRE(ok(f.s.allocate(def, "c1", 4, std::nullopt, {}, "eth0")));
    REQUIRE(ok(f.s.allocate(def, "c2", 4, std::nullopt, {}, "eth0")));
    // By interface, then family.
    auto leases = f.s.leases_of_container("c1").value();
    REQUIRE(leases.size() == 3);
    CHECK(leases[0].network == "bridge");
    CHECK(leases[0].address.str() == "10.88.0.2");
    CHECK(leases[1].iface == "eth1");
    CHECK(leases[1].address.str() == "10.89.0.2");
    CHECK(leases[1].prefix == 24);
    CHECK(leases[2].address.str() == "fd00:4254::2");
    CHECK(leases[2].prefix == 64);
    CHECK(leases[2].aliases == std::vector<std::string>{"a"});
    CHECK(f.s.leases_of_network("dual").value().size() == 2);
    REQUIRE(ok(f.s.release("c1", std::string("dual"))));
    leases = f.s.leases_of_container("c1").value();
    REQUIRE(leases.size() == 1);
    CHECK(leases[0].network == "bridge");
    CHECK(f.s.leases_of_network("dual").value().empty());
    // ON DELETE CASCADE: the row of c2 takes its lease with it.
    f.delete_container("c2");
    CHECK(f.s.users("bridge").value() == std::vector<std::string>{"c1"});
    CHECK(f.s.leases_of_container("c2").value().empty());
    // A lease needs a container row.
    CHECK_FALSE(f.s.allocate(def, "nosuch", 4, std::nullopt, {}, "eth0"));
}

TEST_CASE("IPAM: a full subnet, a requested IPv6 address", "[network_store]") {
    Fixture f;
    auto small = f.s.create(opts("small", {"10.90.0.0/30"}));
    REQUIRE(ok(small));
    f.add_container("c1");
    f.add_container("c2");
    auto l1 = f.s.allocate(*small, "c1", 4, std::nullopt, {}, "eth0");
    REQUIRE(ok(l1));
    CHECK(l1->address.str() == "10.90.0.2");
    CHECK(error_of(f.s.allocate(*small, "c2", 4, std::nullopt, {}, "eth0")) ==
          "network small has no free IPv4 address");
    CHECK(error_of(f.s.allocate(*small, "c2", 4, ip("10.90.0.3"), {}, "eth0")) ==
          "IP address 10.90.0.3 is reserved in network small (network, gateway or broadcast address)");

    auto v6 = f.s.create(opts("v6", {"fd00:77::/64"}));
    REQUIRE(ok(v6));
    auto a = f.s.allocate(*v6, "c1", 6, ip("fd00:77::ffff:ffff:ffff:ffff"), {}, "eth1");
    REQUIRE(ok(a));  // IPv6 has no broadcast address
    auto b = f.s.allocate(*v6, "c2", 6, std::nullopt, {}, "eth0");
    REQUIRE(ok(b));
    CHECK(b->address.str() == "fd00:77::2");
    CHECK(error_of(f.s.allocate(*v6, "c2", 4, std::nullopt, {}, "eth0")) == "network v6 has no IPv4 subnet");
}

TEST_CASE("IPAM: concurrent allocations through separate connections never share an address", "[network_store]") {
    TempDir t;
    constexpr int kThreads = 8, kEach = 6;
    {
        auto db = ImageStore::open(t.path);
        REQUIRE(ok(db));
        add_image(*db);
        for (int i = 0; i < kThreads * kEach; ++i)
            REQUIRE(ok(insert_container(*db, cat("c", i), cat("c", i))));
        REQUIRE(ok(NetworkStore(*db).create(opts("n", {"10.90.0.0/24"}))));
    }
    std::vector<std::string> got(kThreads * kEach), errors(kThreads);
    std::vector<std::thread> threads;
    for (int t_i = 0; t_i < kThreads; ++t_i)
        threads.emplace_back([&, t_i] {
            auto db = ImageStore::open(t.path);
            if (!db) {
                errors[t_i] = db.error().what();
                return;
            }
            NetworkStore s(*db);
            auto net = s.get("n");
            if (!net || !*net) {
                errors[t_i] = "network n not found";
                return;
            }
            for (int k = 0; k < kEach; ++k) {
                int c = t_i * kEach + k;
                auto l = s.allocate(**net, cat("c", c), 4, std::nullopt, {}, "eth0");
                if (!l) {
                    errors[t_i] = l.error().what();
                    return;
                }
                got[c] = l->address.str();
            }
        });
    for (auto& th : threads)
        th.join();
    for (const auto& e : errors)
        CHECK(e == "");
    // Distinct, and together the lowest ones: .2 to .49.
    std::set<std::string> distinct(got.begin(), got.end()), want;
    for (int i = 0; i < kThreads * kEach; ++i)
        want.insert(cat("10.90.0.", i + 2));
    CHECK(distinct == want);
}

TEST_CASE("networks: a version 3 database gets the network tables, its containers kept", "[network_store]") {
    TempDir t;
    {
        auto db = ImageStore::open(t.path);
        REQUIRE(ok(db));
        add_image(*db);
        REQUIRE(ok(insert_container(*db, "c1", "old")));
        REQUIRE(sqlite3_exec(db->handle(),
                             "DROP TABLE network_leases; DROP TABLE networks; UPDATE schema_version SET version = 3",
                             nullptr, nullptr, nullptr) == SQLITE_OK);
    }
    auto db = ImageStore::open(t.path);
    REQUIRE(ok(db));
    Query v(db->handle(), "SELECT version FROM schema_version");
    REQUIRE(v.step() == SQLITE_ROW);
    CHECK(sqlite3_column_int(v.get(), 0) == 4);
    CHECK(ImageStore::kSchemaVersion == 4);
    NetworkStore s(*db);
    auto net = s.default_network();
    REQUIRE(ok(net));
    auto l = s.allocate(*net, "c1", 4, std::nullopt, {}, "eth0");
    REQUIRE(ok(l));
    CHECK(l->address.str() == "10.88.0.2");
}
