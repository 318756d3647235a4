#include <catch2/catch.hpp>

#include "manager/network/text.hpp"

using namespace berth::manager;

TEST_CASE("hosts: localhost, --add-host, own entries, peers, in that order", "[network]") {
    auto text = make_hosts({{"10.88.0.2", {"abc123", "web"}}}, {{"db.local", {"db.local"}}},
                           {{"10.89.0.3", {"peer", "alias", "0123456789ab"}}});
    CHECK(text ==
          "127.0.0.1\tlocalhost\n"
          "::1\tlocalhost ip6-localhost ip6-loopback\n"
          "fe00::0\tip6-localnet\n"
          "ff00::0\tip6-mcastprefix\n"
          "ff02::1\tip6-allnodes\n"
          "ff02::2\tip6-allrouters\n"
          "db.local\tdb.local\n"
          "10.88.0.2\tabc123 web\n"
          "10.89.0.3\tpeer alias 0123456789ab\n");
}

TEST_CASE("resolv.conf: loopback nameservers dropped, the rest kept", "[network]") {
    std::string host =
        "# generated\n"
        "nameserver 127.0.0.53\n"
        "nameserver 192.0.2.1\n"
        "nameserver ::1\n"
        "nameserver 2001:db8::1\n"
        "search example.com corp.example\n"
        "options edns0 trust-ad\n";
    CHECK(make_resolv_conf(host, {}, {}, {}) ==
          "search example.com corp.example\n"
          "nameserver 192.0.2.1\n"
          "nameserver 2001:db8::1\n"
          "options edns0 trust-ad\n");
    CHECK_FALSE(only_loopback_nameservers(host));
    CHECK(only_loopback_nameservers("nameserver 127.0.0.53\noptions edns0\n"));
    CHECK(only_loopback_nameservers(""));
}

TEST_CASE("resolv.conf: --dns, --dns-search and --dns-option replace the host's", "[network]") {
    std::string host = "nameserver 192.0.2.1\nsearch a.example\noptions ndots:2\n";
    CHECK(make_resolv_conf(host, {"192.0.2.53"}, {"b.example", "c.example"}, {"ndots:5", "timeout:1"}) ==
          "search b.example c.example\nnameserver 192.0.2.53\noptions ndots:5 timeout:1\n");
    CHECK(make_resolv_conf(host, {}, {"."}, {}) == "nameserver 192.0.2.1\noptions ndots:2\n");
}

TEST_CASE("resolv.conf: a host with only loopback nameservers gets systemd-resolved's upstream servers", "[network]") {
    std::string host = "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n";
    std::string resolved = "nameserver 192.0.2.1\nnameserver 2001:db8::1\nsearch corp.example\n";
    auto conf = container_resolv_conf(host, resolved, {}, {}, {});
    CHECK(conf.text == "search corp.example\nnameserver 192.0.2.1\nnameserver 2001:db8::1\n");
    CHECK(conf.warning.empty());
    // A host whose own servers are reachable: the resolved file is not used.
    conf = container_resolv_conf("nameserver 198.51.100.1\n", resolved, {}, {}, {});
    CHECK(conf.text == "nameserver 198.51.100.1\n");
    CHECK(conf.warning.empty());
}

TEST_CASE("resolv.conf: no nameserver left gives none and a one-line warning suggesting --dns", "[network]") {
    std::string host = "nameserver 127.0.0.53\nnameserver ::1\nsearch lan\n";
    auto conf = container_resolv_conf(host, std::nullopt, {}, {}, {});
    CHECK(conf.text == "search lan\n");
    CHECK(conf.warning ==
          "/etc/resolv.conf has no nameserver but loopback ones, which a container cannot reach, and there is no "
          "/run/systemd/resolve/resolv.conf: the container gets no nameserver; give one with --dns");
    // A resolved file that names only its stub (or nothing) is no help either.
    conf = container_resolv_conf(host, std::string("nameserver 127.0.0.53\n"), {}, {}, {});
    CHECK(conf.text.find("nameserver") == std::string::npos);
    CHECK(conf.warning ==
          "/etc/resolv.conf has no nameserver but loopback ones, which a container cannot reach, and "
          "/run/systemd/resolve/resolv.conf has none either: the container gets no nameserver; give one with --dns");
    // No host file at all (read as empty).
    CHECK_FALSE(container_resolv_conf("", std::nullopt, {}, {}, {}).warning.empty());
    CHECK(conf.warning.find('\n') == std::string::npos);
}

TEST_CASE("resolv.conf: --dns overrides, with no warning, whatever the host has", "[network]") {
    auto conf = container_resolv_conf("nameserver 127.0.0.53\n", std::nullopt, {"192.0.2.53"}, {}, {});
    CHECK(conf.text == "nameserver 192.0.2.53\n");
    CHECK(conf.warning.empty());
    conf = container_resolv_conf("nameserver 127.0.0.53\n", std::string("nameserver 192.0.2.1\n"), {"192.0.2.53"},
                                 {}, {});
    CHECK(conf.text == "nameserver 192.0.2.53\n");
    conf = container_resolv_conf("nameserver 198.51.100.1\n", std::nullopt, {"192.0.2.53", "192.0.2.54"}, {}, {});
    CHECK(conf.text == "nameserver 192.0.2.53\nnameserver 192.0.2.54\n");
    // A loopback --dns is the user's choice (a resolver in the container).
    conf = container_resolv_conf("nameserver 127.0.0.53\n", std::nullopt, {"127.0.0.1"}, {}, {});
    CHECK(conf.text == "nameserver 127.0.0.1\n");
    CHECK(conf.warning.empty());
}

TEST_CASE("port lines: docker's format, filtered by port and protocol", "[network]") {
    std::vector<PortBinding> ports = {{"", 8080, 80, "tcp"}, {"127.0.0.1", 5353, 53, "udp"}, {"::1", 8443, 443, "tcp"}};
    CHECK(port_lines(ports, "") == std::vector<std::string>{"80/tcp -> 0.0.0.0:8080", "53/udp -> 127.0.0.1:5353",
                                                             "443/tcp -> [::1]:8443"});
    CHECK(port_lines(ports, "80") == std::vector<std::string>{"80/tcp -> 0.0.0.0:8080"});
    CHECK(port_lines(ports, "53") == std::vector<std::string>{});
    CHECK(port_lines(ports, "53/udp") == std::vector<std::string>{"53/udp -> 127.0.0.1:5353"});
}

TEST_CASE("MAC addresses: 02:42 and the address's bytes, the same for the same address", "[network]") {
    CHECK(mac_text(mac_for_address(*berth::parse_ip("10.88.0.2"))) == "02:42:0a:58:00:02");
    CHECK(mac_text(mac_for_address(*berth::parse_ip("172.17.255.254"))) == "02:42:ac:11:ff:fe");
    CHECK(mac_text(mac_for_address(*berth::parse_ip("fd00:4254:1::a:b0c"))) == "02:42:00:0a:0b:0c");
    CHECK(mac_for_address(*berth::parse_ip("10.88.0.2")) != mac_for_address(*berth::parse_ip("10.88.0.3")));
    // Locally administered (bit 1) and unicast (bit 0 clear).
    CHECK((mac_for_address(*berth::parse_ip("255.255.255.255"))[0] & 0x03) == 0x02);
}

TEST_CASE("interface MAC: the IPv4 address's when there is one, else the first's", "[network]") {
    auto v4 = *berth::parse_ip("10.89.1.7"), v6 = *berth::parse_ip("fd00:4254:1::7");
    CHECK(interface_mac({v6, v4}) == mac_for_address(v4));
    CHECK(interface_mac({v6}) == mac_for_address(v6));
    CHECK_FALSE(interface_mac({}));
}
