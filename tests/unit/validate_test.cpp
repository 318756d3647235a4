#include <catch2/catch.hpp>
#include <unistd.h>

#include <filesystem>

#include "libutil/oci/spec.hpp"
#include "runtime/container/state.hpp"
#include "runtime/container/validate.hpp"

using namespace berth;
using namespace berth::runtime;

namespace {

// A bundle dir with an empty rootfs, removed at scope exit.
struct TempBundle {
    std::string dir;
    TempBundle() {
        char tmpl[] = "/tmp/berth-unit-XXXXXX";
        dir = ::mkdtemp(tmpl);
        std::filesystem::create_directory(dir + "/rootfs");
    }
    ~TempBundle() { std::filesystem::remove_all(dir); }
};

std::string base_config(const std::string& extra = "") {
    return R"({"ociVersion": "1.0.2", "root": {"path": "rootfs"},
      "process": {"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
      "linux": {"namespaces": [{"type": "mount"}, {"type": "pid"}]})" +
           extra + "}";
}

std::string validate_error(const std::string& text, const std::string& bundle) {
    auto spec = oci::parse_spec(text);
    REQUIRE(spec);
    auto r = validate_spec(*spec, bundle);
    REQUIRE_FALSE(r);
    return r.error().message;
}

}  // namespace

TEST_CASE("validate: a minimal spec resolves the rootfs relative to the bundle") {
    TempBundle b;
    auto spec = oci::parse_spec(base_config());
    REQUIRE(spec);
    auto r = validate_spec(*spec, b.dir);
    REQUIRE(r);
    CHECK(*r == b.dir + "/rootfs");
}

TEST_CASE("validate: a missing rootfs names root.path and the resolved path") {
    TempBundle b;
    std::filesystem::remove(b.dir + "/rootfs");
    auto msg = validate_error(base_config(), b.dir);
    CHECK(msg.find("root.path \"rootfs\"") != std::string::npos);
    CHECK(msg.find(b.dir + "/rootfs") != std::string::npos);
}

TEST_CASE("validate: a hostname needs a uts namespace") {
    TempBundle b;
    auto msg = validate_error(base_config(R"(, "hostname": "box")"), b.dir);
    CHECK(msg == "config.json: hostname \"box\": needs a uts namespace in linux.namespaces");
}

TEST_CASE("validate: without a mount namespace, a read-only root or a propagation is refused") {
    TempBundle b;
    auto text = R"({"ociVersion": "1.0.2", "root": {"path": "rootfs", "readonly": true},
      "process": {"args": ["sh"], "cwd": "/"}, "linux": {"namespaces": [{"type": "pid"}]}})";
    CHECK(validate_error(text, b.dir) == "config.json: root.readonly: needs a mount namespace in linux.namespaces");
    auto prop = R"({"ociVersion": "1.0.2", "root": {"path": "rootfs"},
      "process": {"args": ["sh"], "cwd": "/"}, "linux": {"rootfsPropagation": "shared", "namespaces": []}})";
    CHECK(validate_error(prop, b.dir).find("rootfsPropagation: needs a mount namespace") != std::string::npos);
    auto ok = R"({"ociVersion": "1.0.2", "root": {"path": "rootfs"},
      "process": {"args": ["sh"], "cwd": "/"}, "linux": {"namespaces": []}})";
    auto spec = oci::parse_spec(ok);
    REQUIRE(spec);
    CHECK(validate_spec(*spec, b.dir));
}

TEST_CASE("validate: a new user namespace needs id mappings") {
    TempBundle b;
    auto text = R"({"ociVersion": "1.0.2", "root": {"path": "rootfs"},
      "process": {"args": ["sh"], "cwd": "/"},
      "linux": {"namespaces": [{"type": "mount"}, {"type": "user"}]}})";
    CHECK(validate_error(text, b.dir).find("linux.uidMappings") != std::string::npos);
}

TEST_CASE("validate: relative mount destinations and hook paths are refused") {
    TempBundle b;
    auto m = validate_error(base_config(R"(, "mounts": [{"destination": "tmp", "type": "tmpfs"}])"), b.dir);
    CHECK(m == "config.json: mounts[0].destination \"tmp\": must be an absolute path");
    auto h = validate_error(base_config(R"(, "hooks": {"prestart": [{"path": "true"}]})"), b.dir);
    CHECK(h == "config.json: hooks.prestart[0].path \"true\": must be an absolute path");
}

TEST_CASE("validate: unknown rlimits and scheduler policies are named") {
    TempBundle b;
    auto text = R"({"ociVersion": "1.0.2", "root": {"path": "rootfs"},
      "process": {"args": ["sh"], "cwd": "/", "rlimits": [{"type": "RLIMIT_BOGUS", "hard": 1, "soft": 1}]},
      "linux": {"namespaces": [{"type": "mount"}]}})";
    CHECK(validate_error(text, b.dir) == "config.json: process.rlimits: unknown type \"RLIMIT_BOGUS\"");
    auto soft = R"({"ociVersion": "1.0.2", "root": {"path": "rootfs"},
      "process": {"args": ["sh"], "cwd": "/", "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1, "soft": 2}]},
      "linux": {"namespaces": [{"type": "mount"}]}})";
    CHECK(validate_error(soft, b.dir).find("soft limit 2 is above the hard limit 1") != std::string::npos);
}

TEST_CASE("validate: time offsets need a new time namespace") {
    TempBundle b;
    auto msg = validate_error(base_config(R"(, "x": 1)").replace(
                                  base_config().find("\"namespaces\""), 0,
                                  R"("timeOffsets": {"boottime": {"secs": 10}}, )"),
                              b.dir);
    CHECK(msg == "config.json: linux.timeOffsets: need a new time namespace");
}

TEST_CASE("container ids follow runc's rules") {
    CHECK(validate_id("abc-1_2.3+x"));
    CHECK_FALSE(validate_id(""));
    CHECK_FALSE(validate_id("."));
    CHECK_FALSE(validate_id(".."));
    CHECK_FALSE(validate_id("a/b"));
    CHECK_FALSE(validate_id("a b"));
    CHECK(validate_id("a/b").error().message == "invalid container id \"a/b\"");
}

TEST_CASE("now_rfc3339 is UTC with nanoseconds") {
    auto t = now_rfc3339();
    REQUIRE(t.size() == 30);
    CHECK(t[4] == '-');
    CHECK(t[10] == 'T');
    CHECK(t[19] == '.');
    CHECK(t.back() == 'Z');
}
