#include <catch2/catch.hpp>

#include "runtime/cli/args.hpp"
#include "runtime/linux/cgroups.hpp"
#include "runtime/linux/mounts.hpp"

using namespace berth;
using namespace berth::runtime;

namespace {
Result<Args> parse(std::vector<std::string> v, const std::vector<FlagSpec>& specs) {
    static std::vector<std::string> keep;
    keep = std::move(v);
    static std::vector<char*> argv;
    argv.clear();
    for (auto& s : keep) argv.push_back(s.data());
    return parse_args(static_cast<int>(argv.size()), argv.data(), 0, specs);
}
const std::vector<FlagSpec> kFlags = {{"bundle", "b", true}, {"detach", "d", false}, {"pid-file", nullptr, true}};
}  // namespace

TEST_CASE("args: flags may come before or after the id, with one or two dashes") {
    auto a = parse({"-b", "/x", "c1", "--pid-file=/p", "-detach"}, kFlags);
    REQUIRE(a);
    CHECK(a->positional == std::vector<std::string>{"c1"});
    CHECK(a->get("bundle") == "/x");
    CHECK(a->get("pid-file") == "/p");
    CHECK(a->has("detach"));
}

TEST_CASE("args: -- ends the flags") {
    auto a = parse({"c1", "--", "-d"}, kFlags);
    REQUIRE(a);
    CHECK(a->positional == std::vector<std::string>{"c1", "-d"});
    CHECK_FALSE(a->has("detach"));
}

TEST_CASE("args: unknown flags and missing values are errors in runc's words") {
    auto a = parse({"--nope", "c1"}, kFlags);
    REQUIRE_FALSE(a);
    CHECK(a.error().message == "flag provided but not defined: -nope");
    auto b = parse({"c1", "--bundle"}, kFlags);
    REQUIRE_FALSE(b);
    CHECK(b.error().message == "flag needs an argument: -bundle");
}

TEST_CASE("args: a boolean flag takes =false") {
    auto a = parse({"-d=false", "c1"}, kFlags);
    REQUIRE(a);
    CHECK_FALSE(a->has("detach"));
}

TEST_CASE("mount options: flags, clears, propagation, recursive attributes and data") {
    auto mo = parse_mount_options({"rbind", "ro", "nosuid", "rprivate", "rnoexec", "mode=755", "size=1k", "rw"});
    CHECK((mo.flags & MS_BIND));
    CHECK((mo.flags & MS_REC));
    CHECK((mo.flags & MS_NOSUID));
    CHECK_FALSE((mo.flags & MS_RDONLY));  // "rw" after "ro" clears it
    REQUIRE(mo.propagation.size() == 1);
    CHECK(mo.propagation[0] == (MS_PRIVATE | MS_REC));
    CHECK(mo.attr_set != 0);
    CHECK(mo.data == "mode=755,size=1k");
}

TEST_CASE("mount options: propagation names") {
    CHECK(parse_propagation("rslave") == (MS_SLAVE | MS_REC));
    CHECK(parse_propagation("shared") == MS_SHARED);
    CHECK(parse_propagation("bogus") == 0);
}

TEST_CASE("cgroups: a combined v1 hierarchy answers to each of its controllers") {
    CgroupDir d{"cpu,cpuacct", "cpu,cpuacct", false, "/sys/fs/cgroup/cpu,cpuacct/x", false, ""};
    CHECK(d.has("cpu"));
    CHECK(d.has("cpuacct"));
    CHECK_FALSE(d.has("cpuset"));
    CgroupDir v2{"", "", true, "/sys/fs/cgroup/x", false, ""};
    CHECK_FALSE(v2.has("cpu"));
}

TEST_CASE("cgroups: state round-trips through JSON") {
    auto c = Cgroup::from_json(*json::parse(
        R"({"layout": "hybrid", "default_parent": "/berth-runtime",
            "dirs": [{"hierarchy": "memory", "v2": false, "path": "/sys/fs/cgroup/memory/berth-runtime/a", "created": true}]})"));
    CHECK(c.layout() == CgroupLayout::Hybrid);
    REQUIRE(c.dirs().size() == 1);
    CHECK(c.dirs()[0].path == "/sys/fs/cgroup/memory/berth-runtime/a");
    auto again = Cgroup::from_json(c.to_json());
    CHECK(again.dirs()[0].created);
}

TEST_CASE("args: with stop_at_positional, what follows the id is left alone") {
    static std::vector<std::string> keep = {"--format", "json", "c1", "-o", "pid"};
    std::vector<char*> argv;
    for (auto& s : keep) argv.push_back(s.data());
    auto a = parse_args(static_cast<int>(argv.size()), argv.data(), 0, {{"format", "f", true}}, true);
    REQUIRE(a);
    CHECK(a->get("format") == "json");
    CHECK(a->positional == std::vector<std::string>{"c1", "-o", "pid"});
}

#include "runtime/linux/device_filter.hpp"

TEST_CASE("device filter: one block per rule, last rule first, default deny at the end") {
    oci::DeviceCgroupRule deny_all;
    deny_all.allow = false;
    deny_all.access = "rwm";
    auto p = device_filter_program({deny_all});
    REQUIRE(p);
    // 6 loads + 12 default rules + the deny-all rule + final deny.
    CHECK(p->size() > 20);
    CHECK(p->back().code == (BPF_JMP | BPF_EXIT));
    oci::DeviceCgroupRule bad;
    bad.type = "x";
    auto e = device_filter_program({bad});
    REQUIRE_FALSE(e);
    CHECK(e.error().message.find("unknown type \"x\"") != std::string::npos);
}
