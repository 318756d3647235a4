#include "manager/images/commit.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace berth;
using namespace berth::manager;

namespace {
const char* kBase =
    R"({"architecture":"amd64","os":"linux","created":"2020-01-01T00:00:00Z",)"
    R"("config":{"Env":["PATH=/bin"],"Cmd":["sh"]},)"
    R"("rootfs":{"type":"layers","diff_ids":["sha256:aa"]},)"
    R"("history":[{"created":"2020-01-01T00:00:00Z","created_by":"ADD rootfs"}]})";

std::string committed(const CommitOptions& opts, const char* base = kBase) {
    auto b = json::parse(base);
    REQUIRE(b);
    auto c = commit_config(*b, "sha256:bb", opts);
    if (!c) return "error: " + c.error().what();
    return json::write(*c);
}
}  // namespace

TEST_CASE("commit: the config gets the diff id, a history entry, the time and the changes") {
    CommitOptions o;
    o.created = "2026-01-02T03:04:05Z";
    o.changes = {"CMD=/bin/app", "ENV=A=1"};
    o.message = "added app";
    o.author = "me";
    CHECK(committed(o) ==
          R"({"architecture":"amd64","os":"linux","created":"2026-01-02T03:04:05Z",)"
          R"("config":{"Env":["PATH=/bin","A=1"],"Cmd":["/bin/sh","-c","/bin/app"]},)"
          R"("rootfs":{"type":"layers","diff_ids":["sha256:aa","sha256:bb"]},)"
          R"("history":[{"created":"2020-01-01T00:00:00Z","created_by":"ADD rootfs"},)"
          R"({"created":"2026-01-02T03:04:05Z","created_by":"berth commit","author":"me","comment":"added app"}],)"
          R"("author":"me"})");
}

TEST_CASE("commit: a base without config, rootfs or history; no message, no author") {
    CommitOptions o;
    o.created = "2026-01-02T03:04:05Z";
    CHECK(committed(o, R"({"os":"linux"})") ==
          R"({"os":"linux","created":"2026-01-02T03:04:05Z","config":{},)"
          R"("rootfs":{"type":"layers","diff_ids":["sha256:bb"]},)"
          R"("history":[{"created":"2026-01-02T03:04:05Z","created_by":"berth commit"}]})");
}

TEST_CASE("commit: a base with fewer history entries than layers gets one per missing layer") {
    CommitOptions o;
    o.created = "2026-01-02T03:04:05Z";
    auto b = json::parse(
        R"({"created":"2020-01-01T00:00:00Z","rootfs":{"diff_ids":["sha256:a1","sha256:a2"]},)"
        R"("history":[{"created_by":"CMD","empty_layer":true},{"created_by":"ADD"}]})");
    REQUIRE(b);
    auto c = commit_config(*b, "sha256:bb", o);
    REQUIRE(c);
    CHECK(json::write(*c->find("history")) ==
          R"([{"created_by":"CMD","empty_layer":true},{"created_by":"ADD"},{"created":"2020-01-01T00:00:00Z"},)"
          R"({"created":"2026-01-02T03:04:05Z","created_by":"berth commit"}])");
}

TEST_CASE("commit: a bad --change is named; a config that is not an object is an error") {
    CommitOptions o;
    o.changes = {"CMD=ok", "FROM=x"};
    CHECK(committed(o).starts_with("error: --change \"FROM=x\": unknown instruction FROM"));
    CHECK(committed({}, "[]") == "error: image config: not a JSON object");
}
