#include <catch2/catch.hpp>
#include <vector>

#include "manager/cli/args.hpp"

using namespace berth;
using namespace berth::manager;

namespace {
Result<Args> parse(std::vector<const char*> v) {
    v.insert(v.begin(), "verb");
    return parse_args(static_cast<int>(v.size()), const_cast<char**>(v.data()), 1,
                      {{"format", 0, true}, {"quiet", 'q', false}, {"input", 'i', true}});
}
}  // namespace

TEST_CASE("manager args: long, short, = and positional") {
    auto a = parse({"--format", "json", "-q", "name", "-i", "f.tar", "--input=g.tar"});
    REQUIRE(a);
    CHECK(a->get("format") == "json");
    CHECK(a->has("quiet"));
    CHECK(a->get("input") == "g.tar");
    REQUIRE(a->positional.size() == 1);
    CHECK(a->positional[0] == "name");
}

TEST_CASE("manager args: -- ends the flags") {
    auto a = parse({"--", "-q"});
    REQUIRE(a);
    CHECK_FALSE(a->has("quiet"));
    CHECK(a->positional == std::vector<std::string>{"-q"});
}

TEST_CASE("manager args: errors name the flag") {
    auto a = parse({"--nosuch"});
    REQUIRE_FALSE(a);
    CHECK(a.error().message == "unknown flag: --nosuch");
    a = parse({"-x"});
    REQUIRE_FALSE(a);
    CHECK(a.error().message == "unknown flag: -x");
    a = parse({"--format"});
    REQUIRE_FALSE(a);
    CHECK(a.error().message == "flag needs an argument: --format");
    a = parse({"--quiet=1"});
    REQUIRE_FALSE(a);
    CHECK(a.error().message == "flag does not take a value: --quiet=1");
}

TEST_CASE("manager args: grouped short flags, the last may take a value") {
    auto a = parse({"-qi", "f.tar", "-qif2.tar"});
    REQUIRE(a);
    CHECK(a->has("quiet"));
    CHECK(a->get_all("input") == std::vector<std::string>{"f.tar", "f2.tar"});
    a = parse({"-qx"});
    REQUIRE_FALSE(a);
    CHECK(a.error().message == "unknown flag: -qx");
    a = parse({"-qi"});
    REQUIRE_FALSE(a);
    CHECK(a.error().message == "flag needs an argument: -i");
}

TEST_CASE("manager args: stop_at_positional leaves later flags to the command") {
    std::vector<const char*> v{"verb", "-q", "image", "-q", "--format", "x"};
    auto a = parse_args(static_cast<int>(v.size()), const_cast<char**>(v.data()), 1,
                        {{"format", 0, true}, {"quiet", 'q', false}}, true);
    REQUIRE(a);
    CHECK(a->get_all("quiet").size() == 1);
    CHECK_FALSE(a->has("format"));
    CHECK(a->positional == std::vector<std::string>{"image", "-q", "--format", "x"});
}
