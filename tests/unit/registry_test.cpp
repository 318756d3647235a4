#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "libutil/strings.hpp"
#include "manager/images/pull.hpp"
#include "manager/registry/auth.hpp"
#include "manager/registry/config.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace berth;
using namespace berth::manager;
using namespace berth::manager::registry;

TEST_CASE("registries.conf: default registry and [[registry]] tables") {
    auto c = parse_registries_conf(R"(# local registries
default-registry = "127.0.0.1:5000"   # short names go here

[[registry]]
location = "127.0.0.1:5000"
insecure = true
[[registry]]
location = "127.0.0.1:6000/team"
)",
                                   "r.conf");
    REQUIRE(c);
    CHECK(c->default_registry == "127.0.0.1:5000");
    REQUIRE(c->registries.size() == 2);
    CHECK(c->registries[0].insecure);
    CHECK_FALSE(c->registries[1].insecure);
    CHECK(c->find("127.0.0.1:5000/busybox") == &c->registries[0]);
    CHECK(c->find("127.0.0.1:5000") == &c->registries[0]);
    CHECK(c->find("127.0.0.1:6000/team/app") == &c->registries[1]);
    CHECK(c->find("127.0.0.1:6000/other") == nullptr);
    CHECK(c->find("127.0.0.1:50000/x") == nullptr);
}

TEST_CASE("registries.conf: an empty file is an empty configuration") {
    auto c = parse_registries_conf("\n# nothing\n", "r.conf");
    REQUIRE(c);
    CHECK(c->default_registry.empty());
    CHECK(c->registries.empty());
}

TEST_CASE("registries.conf: errors name the file, the line and the key") {
    auto err = [](const char* text) {
        auto c = parse_registries_conf(text, "/etc/r.conf");
        REQUIRE_FALSE(c);
        return c.error().message;
    };
    CHECK(err("\nunknown = 1\n") == "/etc/r.conf:2: unknown: unknown key");
    CHECK(err("[[registry]]\ninsecure = yes\nlocation = \"a\"\n") ==
          "/etc/r.conf:2: insecure: expected true or false, got \"yes\"");
    CHECK(err("default-registry = 127.0.0.1\n") == "/etc/r.conf:1: default-registry: expected a quoted string");
    CHECK(err("default-registry = \"a\n") == "/etc/r.conf:1: default-registry: unterminated string");
    CHECK(err("[registries]\n") == "/etc/r.conf:1: [registries]: unknown table (only [[registry]])");
    CHECK(err("[[registry]]\ninsecure = true\n") == "/etc/r.conf: the last [[registry]] has no location");
    CHECK(err("[[registry]]\nlocation = \"https://x\"\n") ==
          "/etc/r.conf:2: location: a location has no scheme: \"https://x\"");
    CHECK(err("location = \"x\"\n") == "/etc/r.conf:1: location: unknown key");
    CHECK(err("just text\n") == "/etc/r.conf:1: just text: expected KEY = VALUE");
}

TEST_CASE("registries.conf: a missing default file is fine, a missing given file is not") {
    TempDir t;
    auto ok = load_registries_conf(t.path + "/none.conf", true);
    REQUIRE(ok);
    auto bad = load_registries_conf(t.path + "/none.conf", false);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().what().find("none.conf") != std::string::npos);
}

TEST_CASE("WWW-Authenticate: Bearer and Basic challenges") {
    auto c = parse_challenge(
        R"(Bearer realm="http://127.0.0.1:5001/token",service="registry",scope="repository:a/b:pull,push")");
    REQUIRE(c);
    CHECK(c->scheme == "bearer");
    CHECK(c->param("realm") == "http://127.0.0.1:5001/token");
    CHECK(c->param("service") == "registry");
    CHECK(c->param("scope") == "repository:a/b:pull,push");
    auto b = parse_challenge(R"(Basic realm="Registry Realm")");
    REQUIRE(b);
    CHECK(b->scheme == "basic");
    CHECK(b->param("realm") == "Registry Realm");
    auto u = parse_challenge(R"(Bearer Realm=http://x/t, service = "a\"b")");
    REQUIRE(u);
    CHECK(u->param("realm") == "http://x/t");
    CHECK(u->param("service") == "a\"b");
    CHECK_FALSE(parse_challenge(R"(Bearer realm="x)"));
    CHECK_FALSE(parse_challenge("Bearer realm"));
    CHECK_FALSE(parse_challenge(""));
}

TEST_CASE("base64 round trip") {
    for (const std::string& s :
         std::vector<std::string>{"", "a", "ab", "abc", "user:pa:ss", std::string("\0\xff", 2)}) {
        auto d = base64_decode(base64_encode(s));
        REQUIRE(d);
        CHECK(*d == s);
    }
    CHECK(base64_encode("user:pass") == "dXNlcjpwYXNz");
    CHECK_FALSE(base64_decode("abc"));
}

TEST_CASE("auth file: store, look up, keep other entries, remove; 0600") {
    TempDir t;
    std::string f = t.path + "/sub/auth.json";
    REQUIRE(write_file(t.path + "/x", ""));
    auto none = lookup_auth(f, "127.0.0.1:5000");
    REQUIRE(none);
    CHECK_FALSE(*none);
    REQUIRE(mkdir_all(t.path + "/sub", 0700));
    REQUIRE(write_file(f, R"({"auths":{"https://127.0.0.1:7000/v1/":{"auth":"YTpi"}},"credHelpers":{}})"));
    REQUIRE(store_auth(f, "127.0.0.1:5000", {"user", "p:w"}));
    struct stat st;
    REQUIRE(::stat(f.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    auto c = lookup_auth(f, "127.0.0.1:5000");
    REQUIRE(c);
    REQUIRE(*c);
    CHECK((*c)->username == "user");
    CHECK((*c)->password == "p:w");
    auto other = lookup_auth(f, "127.0.0.1:7000");
    REQUIRE(other);
    REQUIRE(*other);
    CHECK((*other)->username == "a");
    CHECK(read_file(f)->find("credHelpers") != std::string::npos);
    auto removed = remove_auth(f, "127.0.0.1:5000");
    REQUIRE(removed);
    CHECK(*removed);
    CHECK_FALSE(*lookup_auth(f, "127.0.0.1:5000"));
    CHECK(*lookup_auth(f, "127.0.0.1:7000"));
    CHECK_FALSE(*remove_auth(f, "127.0.0.1:5000"));
    CHECK(*remove_auth(f, ""));
    CHECK_FALSE(*lookup_auth(f, "127.0.0.1:7000"));
}

TEST_CASE("auth file: a malformed file is an error naming it") {
    TempDir t;
    std::string f = t.path + "/auth.json";
    REQUIRE(write_file(f, R"({"auths":{"h:1":{"auth":"!!!!"}}})"));
    auto c = lookup_auth(f, "h:1");
    REQUIRE_FALSE(c);
    CHECK(c.error().message == f + ": auths.h:1.auth: invalid base64");
    REQUIRE(write_file(f, "{"));
    auto d = store_auth(f, "h:1", {"u", "p"});
    REQUIRE_FALSE(d);
    CHECK(d.error().message.starts_with(f + ": "));
}

TEST_CASE("--creds USER[:PASS]") {
    auto c = parse_creds("u:p:q");
    REQUIRE(c);
    CHECK(c->username == "u");
    CHECK(c->password == "p:q");
    CHECK(parse_creds("u")->password.empty());
    CHECK_FALSE(parse_creds(":p"));
}

TEST_CASE("platforms: parsing, normalizing, matching as containerd does") {
    auto p = parse_platform("linux/x86_64");
    REQUIRE(p);
    CHECK(p->str() == "linux/amd64");
    CHECK(parse_platform("linux/aarch64/v8")->str() == "linux/arm64");
    CHECK(parse_platform("linux/arm")->str() == "linux/arm/v7");
    CHECK_FALSE(parse_platform("linux"));
    CHECK_FALSE(parse_platform("linux/"));
    CHECK_FALSE(parse_platform("a/b/c/d"));
    Platform amd{"linux", "amd64", ""}, arm7{"linux", "arm", "v7"};
    CHECK(platform_score(amd, {"linux", "amd64", ""}) == 0);
    CHECK(platform_score(amd, {"linux", "amd64", "v3"}) == 1);
    CHECK_FALSE(platform_score(amd, {"linux", "arm64", ""}));
    CHECK_FALSE(platform_score(amd, {"windows", "amd64", ""}));
    CHECK(platform_score(arm7, {"linux", "arm", "v7"}) == 0);
    CHECK(platform_score(arm7, {"linux", "arm", "v6"}) == 2);
    CHECK(platform_score(arm7, {"linux", "arm", "v5"}) == 3);
    CHECK_FALSE(platform_score({"linux", "arm", "v6"}, arm7));
    CHECK(host_platform().os == "linux");
}
