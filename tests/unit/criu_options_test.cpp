#include "runtime/container/criu_options.hpp"

#include <sched.h>

#include <catch2/catch.hpp>

using namespace berth;
using namespace berth::runtime;

namespace {
Result<CriuOptions> opts(std::vector<std::string> v, bool restore = false) {
    std::vector<char*> argv;
    for (auto& s : v)
        argv.push_back(s.data());
    auto a = parse_args(static_cast<int>(argv.size()), argv.data(), 0, criu_flags(restore));
    if (!a) return std::unexpected(a.error());
    return criu_options(*a);
}
}  // namespace

TEST_CASE("criu options: runc's defaults and flags") {
    auto o = opts({"c1"});
    REQUIRE(o);
    CHECK(o->image_path == "checkpoint");
    CHECK(o->work_path.empty());
    CHECK(o->cgroups_mode == CgroupsMode::Default);
    CHECK_FALSE(o->leave_running);
    CHECK(o->empty_ns == CLONE_NEWNET);  // always, as runc
    o = opts({"--image-path", "/i", "--work-path=/w", "--leave-running", "--tcp-established", "--shell-job",
              "--manage-cgroups-mode", "ignore", "--empty-ns", "network", "--page-server", "127.0.0.1:2000", "c1"});
    REQUIRE(o);
    CHECK(o->image_path == "/i");
    CHECK(o->work_path == "/w");
    CHECK(o->leave_running);
    CHECK(o->tcp_established);
    CHECK(o->shell_job);
    CHECK(o->cgroups_mode == CgroupsMode::Ignore);
    CHECK(o->empty_ns == CLONE_NEWNET);
    CHECK(o->page_server_address == "127.0.0.1");
    CHECK(o->page_server_port == 2000);
    o = opts({"--page-server", "[::1]:7", "c1"});
    REQUIRE(o);
    CHECK(o->page_server_address == "::1");
}

TEST_CASE("criu options: bad values name the flag and the value") {
    auto o = opts({"--manage-cgroups-mode", "hard", "c1"});
    REQUIRE_FALSE(o);
    CHECK(o.error().what() == std::string("--manage-cgroups-mode \"hard\": invalid (soft, full, strict or ignore)"));
    o = opts({"--empty-ns", "pid", "c1"});
    REQUIRE_FALSE(o);
    CHECK(o.error().what().find("--empty-ns \"pid\"") == 0);
    for (const char* ps : {"host", ":1", "h:0", "h:70000", "h:x"}) {
        o = opts({"--page-server", ps, "c1"});
        REQUIRE_FALSE(o);
        CHECK(o.error().what().find("--page-server") == 0);
    }
    o = opts({"--status-fd", "-1", "c1"});
    REQUIRE_FALSE(o);
    // As runc: without --lazy-pages it is accepted and means nothing.
    o = opts({"--status-fd", "3", "c1"});
    REQUIRE(o);
    CHECK(o->status_fd == 3);
    CHECK(opts({"--pre-dump", "--leave-running", "c1"}));
}

TEST_CASE("criu options: --lazy-pages needs --page-server and does not go with --pre-dump") {
    auto o = opts({"--lazy-pages", "c1"});
    REQUIRE(o);
    auto bad = check_checkpoint_options(*o);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().what().find("--lazy-pages needs --page-server ADDRESS:PORT") == 0);
    o = opts({"--lazy-pages", "--page-server", "127.0.0.1:27277", "--status-fd", "5", "c1"});
    REQUIRE(o);
    CHECK(o->lazy_pages);
    CHECK(o->status_fd == 5);
    CHECK(check_checkpoint_options(*o));
    o = opts({"--lazy-pages", "--pre-dump", "--page-server", "127.0.0.1:27277", "c1"});
    REQUIRE(o);
    bad = check_checkpoint_options(*o);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().what().find("--lazy-pages with --pre-dump") == 0);
    // Without --lazy-pages a page server is a plain (non-lazy) one.
    o = opts({"--page-server", "127.0.0.1:27277", "c1"});
    REQUIRE(o);
    CHECK(check_checkpoint_options(*o));
    // restore --lazy-pages takes no page server: the lazy-pages daemon has it.
    o = opts({"--lazy-pages", "c1"}, true);
    REQUIRE(o);
    CHECK(o->lazy_pages);
    CHECK_FALSE(opts({"--page-server", "127.0.0.1:1", "c1"}, true));
}

TEST_CASE("criu options: restore takes runc's restore flags, not checkpoint-only ones") {
    auto o = opts({"--bundle", "/b", "--detach", "--console-socket", "/s", "c1"}, true);
    REQUIRE(o);
    CHECK_FALSE(opts({"--leave-running", "c1"}, true));
    CHECK_FALSE(opts({"--bundle", "/b", "c1"}, false));
}

TEST_CASE("criu options: external mounts at dump and at restore") {
    oci::Spec spec;
    spec.mounts.push_back({"/proc", "proc", "proc", {}, {}, {}});
    spec.mounts.push_back({"/shared/", "bind", "/host/shared", {"rbind"}, {}, {}});
    spec.mounts.push_back({"/data", "none", "rel", {"bind"}, {}, {}});
    spec.mounts.push_back({"/sys/fs/cgroup", "cgroup", "cgroup", {}, {}, {}});
    std::vector<std::pair<std::string, std::string>> cg = {{"memory", "/sys/fs/cgroup/memory/x"}};
    auto dump = external_mounts(spec, "/bundle", cg, {"/proc/kcore"}, false);
    REQUIRE(dump.size() == 4);
    CHECK(dump[0].key == "/shared");
    CHECK(dump[0].value == "/shared");
    CHECK(dump[1].key == "/data");
    CHECK(dump[2].key == "/sys/fs/cgroup/memory");
    CHECK(dump[3].key == "/proc/kcore");
    CHECK(dump[3].value == "/dev/null");
    auto rst = external_mounts(spec, "/bundle", cg, {"/dev/null"}, true);
    REQUIRE(rst.size() == 4);
    CHECK(rst[0].value == "/host/shared");
    CHECK(rst[1].value == "/bundle/rel");
    CHECK(rst[2].value == "/sys/fs/cgroup/memory/x");
    CHECK(rst[3].key == "/dev/null");
}

TEST_CASE("criu options: descriptors.json round trip and bad files") {
    std::vector<std::string> fds = {"pipe:[12]", "/dev/null", "/dev/pts/0"};
    auto back = parse_descriptors(descriptors_json(fds), "d.json");
    REQUIRE(back);
    CHECK(*back == fds);
    auto bad = parse_descriptors("{}", "/img/descriptors.json");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().what() == std::string("/img/descriptors.json: expected a JSON array of strings"));
    CHECK_FALSE(parse_descriptors("[1]", "d"));
    CHECK_FALSE(parse_descriptors("[", "d"));
}

TEST_CASE("criu options: the last errors of a CRIU log in one line") {
    std::string log =
        "(00.001) Version: 4.1.1\n"
        "(00.010) Error (criu/files.c:10): Can't open image\n"
        "(00.011)      1: Error (criu/mount.c:20): No mapping for /shared mountpoint\n"
        "(00.012) Error (criu/cr-restore.c:30): Restoring FAILED.\n";
    CHECK(criu_log_error(log) ==
          "Error (criu/files.c:10): Can't open image; Error (criu/mount.c:20): No mapping for /shared mountpoint");
    CHECK(criu_log_error("(00.1) Warn: x\n").empty());
}
