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
