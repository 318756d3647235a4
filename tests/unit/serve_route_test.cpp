#include <catch2/catch.hpp>
#include <optional>

#include "manager/serve/route.hpp"

using namespace berth::manager::serve;

namespace {

// The parameters of PATH under PATTERN, or nullopt when it does not match.
std::optional<std::vector<std::string>> params(const char* pattern, const char* path) {
    std::vector<std::string> args;
    if (!match(segments(pattern), 0, segments(path), 0, args)) return std::nullopt;
    return args;
}

}  // namespace

TEST_CASE("serve route: segments drop empty ones", "[serve_route]") {
    CHECK(segments("/a//b/") == std::vector<std::string>{"a", "b"});
    CHECK(segments("/").empty());
    CHECK(segments("").empty());
}

TEST_CASE("serve route: one-segment and many-segment parameters", "[serve_route]") {
    CHECK(params("/containers/{id}/json", "/containers/abc/json") == std::vector<std::string>{"abc"});
    CHECK_FALSE(params("/containers/{id}/json", "/containers/json"));
    CHECK_FALSE(params("/containers/{id}/json", "/containers/a/b/json"));
    CHECK_FALSE(params("/containers/json", "/containers/json/x"));
    CHECK(params("/containers/json", "/containers/json") == std::vector<std::string>{});
    // Image names with a registry and a path.
    CHECK(params("/images/{name*}/json", "/images/127.0.0.1:5000/team/app:1/json") ==
          std::vector<std::string>{"127.0.0.1:5000/team/app:1"});
    CHECK(params("/images/{name*}", "/images/busybox") == std::vector<std::string>{"busybox"});
    CHECK(params("/images/{name*}", "/images/a/b/c") == std::vector<std::string>{"a/b/c"});
    // "json" as the last segment belongs to the fixed part when it can.
    CHECK(params("/images/{name*}/json", "/images/json/json") == std::vector<std::string>{"json"});
    CHECK_FALSE(params("/images/{name*}/json", "/images/json"));
    CHECK(params("/images/{name*}/tag", "/images/x/y/tag") == std::vector<std::string>{"x/y"});
}

TEST_CASE("serve route: API versions in the path", "[serve_route]") {
    CHECK(version_number("1.41") == 141);
    CHECK(version_number("1.24") == 124);
    CHECK(version_number("2.0") == 200);
    CHECK(version_number("1.") == 0);
    CHECK(version_number(".4") == 0);
    CHECK(version_number("1.4x") == 0);
    CHECK(version_number("141") == 0);
    CHECK(*strip_version("/v1.41/containers/json") == "/containers/json");
    CHECK(*strip_version("/v1.24/_ping") == "/_ping");
    CHECK(*strip_version("/v1.30") == "/");
    CHECK(*strip_version("/containers/json") == "/containers/json");
    CHECK(*strip_version("/volumes") == "/volumes");  // a 'v' path, no version
    auto high = strip_version("/v1.50/version");
    REQUIRE_FALSE(high);
    CHECK(high.error().status == 400);
    CHECK(high.error().message == "client version 1.50 is too new. Maximum supported API version is 1.41");
    auto low = strip_version("/v1.12/version");
    REQUIRE_FALSE(low);
    CHECK(low.error().message.starts_with("client version 1.12 is too old. Minimum supported API version is 1.24"));
}
