#include <catch2/catch.hpp>

#include "libutil/ip.hpp"

using namespace berth;

TEST_CASE("ip: parses and prints IPv4 and IPv6 addresses") {
    CHECK(parse_ip("10.88.0.2")->str() == "10.88.0.2");
    CHECK(parse_ip("10.88.0.2")->is_v4());
    CHECK(parse_ip("fd00:0:0::2")->str() == "fd00::2");
    CHECK(parse_ip("[fd00::2]")->is_v6());
    auto bad = parse_ip("10.88.0.256");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message == "\"10.88.0.256\" is not an IP address");
}

TEST_CASE("ip: address arithmetic carries across bytes") {
    CHECK(parse_ip("10.88.0.255")->plus(1).str() == "10.88.1.0");
    CHECK(parse_ip("10.88.255.255")->plus(2).str() == "10.89.0.1");
    CHECK(parse_ip("fd00::ffff")->plus(1).str() == "fd00::1:0");
}

TEST_CASE("ip: subnets") {
    auto n = parse_subnet("10.88.0.0/16");
    REQUIRE(n);
    CHECK(n->str() == "10.88.0.0/16");
    CHECK(n->contains(*parse_ip("10.88.200.3")));
    CHECK_FALSE(n->contains(*parse_ip("10.89.0.1")));
    CHECK_FALSE(n->contains(*parse_ip("fd00::1")));
    CHECK(n->size() == 65536);
    CHECK(n->at(1)->str() == "10.88.0.1");
    CHECK_FALSE(n->at(65536));
    CHECK(n->offset(*parse_ip("10.88.1.2")) == 258);
    CHECK(n->last().str() == "10.88.255.255");
    CHECK(parse_subnet("10.88.0.0/12", true)->str() == "10.80.0.0/12");
    CHECK(n->overlaps(*parse_subnet("10.88.5.0/24")));
    CHECK_FALSE(n->overlaps(*parse_subnet("10.89.0.0/24")));

    auto v6 = parse_subnet("fd00:1::/64");
    REQUIRE(v6);
    CHECK(v6->at(2)->str() == "fd00:1::2");
    CHECK(v6->size() == uint64_t{1} << 63);
    CHECK(v6->last().str() == "fd00:1::ffff:ffff:ffff:ffff");
}

TEST_CASE("ip: subnet errors name the text") {
    CHECK(parse_subnet("10.88.0.1/16").error().message == "\"10.88.0.1/16\": host bits are set (did you mean 10.88.0.0/16?)");
    CHECK(parse_subnet("10.88.0.0/33").error().message == "\"10.88.0.0/33\": the prefix length must be 0 to 32");
    CHECK(parse_subnet("10.88.0.0").error().message == "\"10.88.0.0\" is not a subnet (ADDRESS/PREFIX)");
    CHECK(parse_subnet("x/8").error().message == "\"x/8\" is not a subnet: \"x\" is not an IP address");
}
