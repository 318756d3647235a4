#include "manager/images/reference.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace berth;
using namespace berth::manager;

namespace {
const ReferenceDefaults kLocal{"localhost", ""};
const ReferenceDefaults kHubLike{"registry.test", "library"};
const std::string kHex(64, 'a');
}  // namespace

TEST_CASE("reference: normalizes short names with the configured defaults") {
    struct {
        const char* in;
        const ReferenceDefaults* defaults;
        const char* out;
    } cases[] = {
        {"busybox", &kLocal, "localhost/busybox:latest"},
        {"busybox", &kHubLike, "registry.test/library/busybox:latest"},
        {"team/app", &kHubLike, "registry.test/team/app:latest"},
        {"busybox:1.36", &kLocal, "localhost/busybox:1.36"},
        {"localhost/busybox", &kHubLike, "localhost/busybox:latest"},
        {"localhost:5000/a/b/c:v1", &kLocal, "localhost:5000/a/b/c:v1"},
        {"my-reg.example:443/app", &kLocal, "my-reg.example:443/app:latest"},
        {"Reg.Test/app", &kLocal, "Reg.Test/app:latest"},
        {"a__b-c--d/e.f_g.h", &kLocal, "localhost/a__b-c--d/e.f_g.h:latest"},
        {"a.b/c", &kLocal, "a.b/c:latest"},
        {"app:_tag.With-Upper", &kLocal, "localhost/app:_tag.With-Upper"},
    };
    for (const auto& c : cases) {
        INFO(c.in);
        auto r = parse_reference(c.in, *c.defaults);
        REQUIRE(r);
        CHECK(r->str() == c.out);
    }
}

TEST_CASE("reference: parts") {
    auto r = parse_reference("localhost:5000/team/app:v2", kLocal);
    REQUIRE(r);
    CHECK(r->domain == "localhost:5000");
    CHECK(r->path == "team/app");
    CHECK(r->tag == "v2");
    CHECK(r->digest.empty());
    CHECK(r->repository() == "localhost:5000/team/app");
}

TEST_CASE("reference: digests, with and without a tag") {
    auto r = parse_reference("busybox@sha256:" + kHex, kLocal);
    REQUIRE(r);
    CHECK(r->tag.empty());  // no "latest" added to a pinned reference
    CHECK(r->digest == "sha256:" + kHex);
    CHECK(r->str() == "localhost/busybox@sha256:" + kHex);
    r = parse_reference("busybox:1.36@sha256:" + kHex, kLocal);
    REQUIRE(r);
    CHECK(r->tag == "1.36");
    CHECK(r->str() == "localhost/busybox:1.36@sha256:" + kHex);
    r = parse_reference("host:5000/busybox@sha256:" + kHex, kLocal);
    REQUIRE(r);
    CHECK(r->domain == "host:5000");
    CHECK(r->tag.empty());
}

TEST_CASE("reference: errors name the bad part") {
    struct {
        std::string in;
        std::string msg;
    } cases[] = {
        {"", "invalid reference \"\": empty"},
        {"Busybox", "invalid reference \"Busybox\": repository name \"Busybox\" must be lowercase"},
        {"reg.test/Team/app", "repository name \"Team/app\" must be lowercase"},
        {"busybox:bad!tag", "invalid tag \"bad!tag\""},
        {"busybox:.dot", "invalid tag \".dot\""},
        {"busybox:" + std::string(129, 'a'), "is longer than 128 characters"},
        {"busybox@sha256:abc", "invalid digest \"sha256:abc\""},
        {"busybox@md5:" + kHex, "invalid digest \"md5:"},
        {"busybox@sha256:" + std::string(64, 'A'), "invalid digest"},
        {"a//b", "invalid repository name component \"\""},
        {"a_-b", "invalid repository name component \"a_-b\""},
        {"-a", "invalid repository name component \"-a\""},
        {":tag", "missing repository name"},
        {"host:port/app", "invalid port \"port\" in domain \"host:port\""},
        {"bad_host.test/app", "invalid domain \"bad_host.test\""},
        {"reg.test/" + std::string(250, 'a'), "repository name is longer than 255 characters"},
    };
    for (const auto& c : cases) {
        INFO(c.in);
        auto r = parse_reference(c.in, kLocal);
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Catch::Contains(c.msg));
    }
}

TEST_CASE("reference: a short name needs a default registry") {
    auto r = parse_reference("busybox", ReferenceDefaults{});
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("no default registry"));
}

TEST_CASE("reference: digests and image ids") {
    CHECK(valid_digest("sha256:" + kHex));
    CHECK_FALSE(valid_digest("sha256:" + kHex + "a"));
    CHECK_FALSE(valid_digest(kHex));
    CHECK(looks_like_image_id("abc123"));
    CHECK(looks_like_image_id("sha256:" + kHex));
    CHECK_FALSE(looks_like_image_id("ab"));
    CHECK_FALSE(looks_like_image_id("busybox"));
}
