#include <catch2/catch.hpp>

#include <cstdlib>

#include "libutil/json.hpp"
#include "libutil/oci/spec.hpp"
#include "libutil/strings.hpp"

using namespace berth;
using namespace berth::oci;

namespace {

// A minimal valid config.json with `extra` spliced into the top level.
std::string config(std::string_view extra = "") {
    std::string out = R"({"ociVersion": "1.0.2", "root": {"path": "rootfs"}})";
    if (!extra.empty()) {
        out.pop_back();
        out += ", ";
        out += extra;
        out += "}";
    }
    return out;
}

std::string parse_error(std::string_view text) {
    auto r = parse_spec(text);
    REQUIRE_FALSE(r);
    return r.error().what();
}

}  // namespace

TEST_CASE("spec: the default spec round-trips through the parser") {
    auto spec = parse_spec(json::write(default_spec(false, 1000, 1000), true));
    REQUIRE(spec);
    CHECK(spec->oci_version == kSpecVersion);
    CHECK(spec->hostname == "berth");
    REQUIRE(spec->has_root);
    CHECK(spec->root.path == "rootfs");
    CHECK(spec->root.readonly);

    REQUIRE(spec->process);
    const Process& p = *spec->process;
    CHECK(p.terminal);
    CHECK(p.user.uid == 0);
    CHECK(p.user.gid == 0);
    CHECK(p.args == std::vector<std::string>{"sh"});
    CHECK(p.env.size() == 2);
    CHECK(p.env[1] == "TERM=xterm");
    CHECK(p.cwd == "/");
    REQUIRE(p.capabilities);
    CHECK(p.capabilities->bounding ==
          std::vector<std::string>{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"});
    CHECK(p.capabilities->effective == p.capabilities->bounding);
    CHECK(p.capabilities->permitted == p.capabilities->bounding);
    CHECK(p.capabilities->inheritable.empty());
    REQUIRE(p.rlimits.size() == 1);
    CHECK(p.rlimits[0].type == "RLIMIT_NOFILE");
    CHECK(p.rlimits[0].hard == 1024);
    CHECK(p.rlimits[0].soft == 1024);
    CHECK(p.no_new_privileges);

    REQUIRE(spec->mounts.size() == 7);
    CHECK(spec->mounts[0].destination == "/proc");
    CHECK(spec->mounts[0].options.empty());
    CHECK(spec->mounts[2].destination == "/dev/pts");
    CHECK(spec->mounts[2].options.back() == "gid=5");
    CHECK(spec->mounts[5].type == "sysfs");

    REQUIRE(spec->linux);
    const Linux& l = *spec->linux;
    REQUIRE(l.resources);
    REQUIRE(l.resources->devices.size() == 1);
    CHECK_FALSE(l.resources->devices[0].allow);
    CHECK(l.resources->devices[0].access == "rwm");
    CHECK(l.namespaces.size() == 6);
    CHECK(spec->find_namespace("network"));
    CHECK(spec->find_namespace("cgroup"));
    CHECK_FALSE(spec->find_namespace("user"));
    CHECK(l.masked_paths.size() == 10);
    CHECK(l.readonly_paths.back() == "/proc/sysrq-trigger");
    CHECK(l.uid_mappings.empty());
}

TEST_CASE("spec: the default spec is written in runc's key order") {
    std::string text = json::write(default_spec(false, 0, 0), true);
    CHECK(text.starts_with(
        "{\n  \"ociVersion\": \"1.2.0\",\n  \"process\": {\n    \"terminal\": true,\n"
        "    \"user\": {\n      \"uid\": 0,\n      \"gid\": 0\n    },\n"));
    CHECK(text.find("\"root\"") < text.find("\"hostname\""));
    CHECK(text.find("\"mounts\"") < text.find("\"linux\""));
    CHECK(text.find("\"resources\"") < text.find("\"namespaces\""));
}

TEST_CASE("spec: the rootless default maps the caller and drops what needs privilege") {
    auto spec = parse_spec(json::write(default_spec(true, 1000, 1001)));
    REQUIRE(spec);
    const Linux& l = *spec->linux;
    CHECK(spec->find_namespace("user"));
    CHECK_FALSE(spec->find_namespace("network"));
    CHECK(l.namespaces.back().type == "user");
    REQUIRE(l.uid_mappings.size() == 1);
    CHECK(l.uid_mappings[0].container_id == 0);
    CHECK(l.uid_mappings[0].host_id == 1000);
    CHECK(l.uid_mappings[0].size == 1);
    REQUIRE(l.gid_mappings.size() == 1);
    CHECK(l.gid_mappings[0].host_id == 1001);
    CHECK_FALSE(l.resources);

    const Mount* sys = nullptr;
    for (const auto& m : spec->mounts) {
        if (m.destination == "/sys") sys = &m;
        for (const auto& o : m.options) CHECK_FALSE(o.starts_with("gid="));
    }
    REQUIRE(sys);
    CHECK(sys->type == "none");
    CHECK(sys->source == "/sys");
    CHECK(sys->options == std::vector<std::string>{"rbind", "nosuid", "noexec", "nodev", "ro"});
    CHECK(spec->mounts.size() == 7);  // mqueue stays
}

TEST_CASE("spec: every section of a full config.json is read") {
    auto spec = parse_spec(R"({
      "ociVersion": "1.2.0",
      "process": {
        "terminal": false,
        "consoleSize": {"height": 24, "width": 80},
        "user": {"uid": 1000, "gid": 100, "umask": 18, "additionalGids": [5, 6], "username": "u"},
        "args": ["/bin/app", "-v"],
        "env": ["A=1"],
        "cwd": "/work",
        "capabilities": {"ambient": ["CAP_CHOWN"], "inheritable": []},
        "rlimits": [{"type": "RLIMIT_CORE", "hard": 18446744073709551615, "soft": 0}],
        "noNewPrivileges": true,
        "apparmorProfile": "aa",
        "oomScoreAdj": -500,
        "selinuxLabel": "system_u",
        "scheduler": {"policy": "SCHED_DEADLINE", "nice": -5, "priority": 1, "flags": ["SCHED_FLAG_RESET_ON_FORK"],
                      "runtime": 10, "deadline": 20, "period": 30},
        "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 4}
      },
      "root": {"path": "/rootfs", "readonly": false},
      "hostname": "h", "domainname": "d.example",
      "mounts": [{"destination": "/data", "type": "bind", "source": "/srv", "options": ["rbind"],
                  "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
                  "gidMappings": [{"containerID": 1, "hostID": 2, "size": 3}]}],
      "hooks": {
        "prestart": [{"path": "/bin/pre"}],
        "createRuntime": [{"path": "/bin/cr", "args": ["cr", "x"], "env": ["E=1"], "timeout": 5}],
        "createContainer": [{"path": "/bin/cc"}],
        "startContainer": [{"path": "/bin/sc"}],
        "poststart": [{"path": "/bin/ps"}],
        "poststop": [{"path": "/bin/pst"}, {"path": "/bin/pst2"}]
      },
      "annotations": {"org.example/key": "value"},
      "unknownTopLevel": {"ignored": [1, 2, 3]},
      "linux": {
        "namespaces": [{"type": "pid"}, {"type": "network", "path": "/proc/1/ns/net"}, {"type": "time"}],
        "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
        "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
        "timeOffsets": {"monotonic": {"secs": -10, "nanosecs": 500}, "boottime": {"secs": 7}},
        "devices": [{"type": "c", "path": "/dev/fuse", "major": 10, "minor": 229, "fileMode": 438,
                     "uid": 0, "gid": 0}],
        "cgroupsPath": "/berth/c1",
        "resources": {
          "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 10,
                       "minor": 229, "access": "rw"}],
          "memory": {"limit": 536870912, "reservation": 1, "swap": -1, "kernel": 2, "kernelTCP": 3,
                     "swappiness": 60, "disableOOMKiller": true, "useHierarchy": false,
                     "checkBeforeUpdate": true},
          "cpu": {"shares": 1024, "quota": 50000, "burst": 10, "period": 100000,
                  "realtimeRuntime": 950000, "realtimePeriod": 1000000, "cpus": "0-1", "mems": "0",
                  "idle": 1},
          "pids": {"limit": 100},
          "blockIO": {"weight": 500, "leafWeight": 300,
                      "weightDevice": [{"major": 8, "minor": 0, "weight": 600, "leafWeight": 100}],
                      "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                      "throttleWriteBpsDevice": [{"major": 8, "minor": 1, "rate": 2}],
                      "throttleReadIOPSDevice": [{"major": 8, "minor": 2, "rate": 3}],
                      "throttleWriteIOPSDevice": [{"major": 8, "minor": 3, "rate": 4}]},
          "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200}],
          "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 500}]},
          "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}},
          "unified": {"io.weight": "default 100"}
        },
        "rootfsPropagation": "rslave",
        "maskedPaths": ["/proc/kcore"],
        "readonlyPaths": ["/proc/sys"],
        "mountLabel": "label",
        "sysctl": {"net.ipv4.ip_forward": "1"},
        "seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]},
        "personality": {"domain": "LINUX32", "flags": []},
        "intelRdt": {"closID": "guaranteed_group"}
      }
    })");
    REQUIRE(spec);

    const Process& p = *spec->process;
    CHECK_FALSE(p.terminal);
    CHECK(p.console_size->height == 24);
    CHECK(p.console_size->width == 80);
    CHECK(p.user.uid == 1000);
    CHECK(p.user.gid == 100);
    CHECK(p.user.umask == 18u);
    CHECK(p.user.additional_gids == std::vector<uint32_t>{5, 6});
    CHECK(p.user.username == "u");
    CHECK(p.args[1] == "-v");
    CHECK(p.cwd == "/work");
    CHECK(p.capabilities->ambient == std::vector<std::string>{"CAP_CHOWN"});
    CHECK(p.capabilities->bounding.empty());
    CHECK(p.rlimits[0].hard == UINT64_MAX);
    CHECK(p.apparmor_profile == "aa");
    CHECK(p.oom_score_adj == -500);
    CHECK(p.selinux_label == "system_u");
    CHECK(p.scheduler->policy == "SCHED_DEADLINE");
    CHECK(p.scheduler->nice == -5);
    CHECK(p.scheduler->flags.size() == 1);
    CHECK(p.scheduler->runtime == 10);
    CHECK(p.scheduler->deadline == 20);
    CHECK(p.scheduler->period == 30);
    CHECK(p.io_priority->io_class == "IOPRIO_CLASS_BE");
    CHECK(p.io_priority->priority == 4);

    CHECK(spec->root.path == "/rootfs");
    CHECK_FALSE(spec->root.readonly);
    CHECK(spec->domainname == "d.example");
    const Mount& m = spec->mounts.at(0);
    CHECK(m.source == "/srv");
    CHECK(m.uid_mappings.at(0).host_id == 100000);
    CHECK(m.uid_mappings.at(0).size == 65536);
    CHECK(m.gid_mappings.at(0).container_id == 1);

    CHECK(spec->hooks.prestart.at(0).path == "/bin/pre");
    CHECK(spec->hooks.create_runtime.at(0).args == std::vector<std::string>{"cr", "x"});
    CHECK(spec->hooks.create_runtime.at(0).timeout == 5);
    CHECK_FALSE(spec->hooks.prestart.at(0).timeout);
    CHECK(spec->hooks.create_container.size() == 1);
    CHECK(spec->hooks.start_container.size() == 1);
    CHECK(spec->hooks.poststart.size() == 1);
    CHECK(spec->hooks.poststop.size() == 2);
    CHECK(spec->annotations.at("org.example/key") == "value");

    const Linux& l = *spec->linux;
    CHECK(spec->find_namespace("network")->path == "/proc/1/ns/net");
    CHECK(spec->find_namespace("time"));
    CHECK(l.uid_mappings.at(0).host_id == 1000);
    CHECK(l.time_offsets.at("monotonic") == std::pair<int64_t, uint32_t>{-10, 500});
    CHECK(l.time_offsets.at("boottime") == std::pair<int64_t, uint32_t>{7, 0});
    CHECK(l.devices.at(0).path == "/dev/fuse");
    CHECK(l.devices.at(0).major == 10);
    CHECK(l.devices.at(0).minor == 229);
    CHECK(l.devices.at(0).file_mode == 0666u);
    CHECK(l.devices.at(0).uid == 0u);
    CHECK(l.cgroups_path == "/berth/c1");

    const Resources& r = *l.resources;
    CHECK(r.devices.size() == 2);
    CHECK_FALSE(r.devices[0].major);
    CHECK(r.devices[1].major == 10);
    CHECK(r.devices[1].type == "c");
    CHECK(r.memory->limit == 536870912);
    CHECK(r.memory->swap == -1);
    CHECK(r.memory->kernel_tcp == 3);
    CHECK(r.memory->swappiness == 60u);
    CHECK(r.memory->disable_oom_killer == true);
    CHECK(r.memory->use_hierarchy == false);
    CHECK(r.memory->check_before_update == true);
    CHECK(r.cpu->shares == 1024u);
    CHECK(r.cpu->quota == 50000);
    CHECK(r.cpu->burst == 10u);
    CHECK(r.cpu->period == 100000u);
    CHECK(r.cpu->realtime_runtime == 950000);
    CHECK(r.cpu->realtime_period == 1000000u);
    CHECK(r.cpu->cpus == "0-1");
    CHECK(r.cpu->mems == "0");
    CHECK(r.cpu->idle == 1);
    CHECK(r.pids->limit == 100);
    CHECK(r.block_io->weight == 500);
    CHECK(r.block_io->leaf_weight == 300);
    CHECK(r.block_io->weight_device.at(0).weight == 600);
    CHECK(r.block_io->weight_device.at(0).leaf_weight == 100);
    CHECK(r.block_io->throttle_read_bps_device.at(0).rate == 1048576);
    CHECK(r.block_io->throttle_write_bps_device.at(0).minor == 1);
    CHECK(r.block_io->throttle_read_iops_device.at(0).rate == 3);
    CHECK(r.block_io->throttle_write_iops_device.at(0).rate == 4);
    CHECK(r.hugepage_limits.at(0).page_size == "2MB");
    CHECK(r.hugepage_limits.at(0).limit == 209715200);
    CHECK(r.network->class_id == 1048577u);
    CHECK(r.network->priorities.at(0) == std::pair<std::string, uint32_t>{"eth0", 500});
    CHECK(r.rdma.at("mlx5_1").hca_handles == 3u);
    CHECK(r.rdma.at("mlx5_1").hca_objects == 10000u);
    CHECK(r.unified.at("io.weight") == "default 100");

    CHECK(l.rootfs_propagation == "rslave");
    CHECK(l.masked_paths.at(0) == "/proc/kcore");
    CHECK(l.readonly_paths.at(0) == "/proc/sys");
    CHECK(l.mount_label == "label");
    CHECK(l.sysctl.at("net.ipv4.ip_forward") == "1");
    REQUIRE(l.seccomp);
    CHECK(l.seccomp->raw.find("defaultAction")->as_string() == "SCMP_ACT_ERRNO");
    CHECK(l.personality_domain == "LINUX32");
    CHECK(l.has_intel_rdt);
    CHECK(l.intel_rdt_clos_id == "guaranteed_group");
}

TEST_CASE("spec: optional sections may be absent or null") {
    auto spec =
        parse_spec(config(R"("process": null, "linux": {"resources": null, "seccomp": null})"));
    REQUIRE(spec);
    CHECK_FALSE(spec->process);
    REQUIRE(spec->linux);
    CHECK_FALSE(spec->linux->resources);
    CHECK_FALSE(spec->linux->seccomp);
    CHECK_FALSE(spec->linux->has_intel_rdt);
    CHECK_FALSE(spec->find_namespace("pid"));

    auto no_root = parse_spec(R"({"ociVersion": "1.0.0"})");
    REQUIRE(no_root);
    CHECK_FALSE(no_root->has_root);
    CHECK_FALSE(no_root->linux);
    CHECK(no_root->find_namespace("pid") == nullptr);
}

TEST_CASE("spec: a wrong type names the field path with indices") {
    CHECK(parse_error(config(R"("process": {"args": ["sh", 1], "cwd": "/"})")) ==
          "config.json: process.args[1]: expected string, got number");
    CHECK(parse_error(config(R"("linux": {"resources": {"memory": {"limit": "1G"}}})")) ==
          "config.json: linux.resources.memory.limit: expected integer, got string");
    CHECK(parse_error(config(R"("mounts": [{}, {"options": "ro"}])")) ==
          "config.json: mounts[1].options: expected array, got string");
    CHECK(parse_error(config(R"("linux": {"namespaces": [{"type": "pid"}, 3]})")) ==
          "config.json: linux.namespaces[1]: expected object, got number");
    CHECK(parse_error(config(R"("process": {"args": ["sh"], "cwd": "/", "terminal": "yes"})")) ==
          "config.json: process.terminal: expected boolean, got string");
    CHECK(parse_error(config(R"("annotations": {"a": 1})")) ==
          "config.json: annotations[\"a\"]: expected string, got number");
    CHECK(
        parse_error(config(R"("linux": {"resources": {"rdma": {"mlx": {"hcaHandles": true}}}})")) ==
        "config.json: linux.resources.rdma[\"mlx\"].hcaHandles: expected integer, got boolean");
    CHECK(parse_error(config(R"("hooks": {"poststop": [{"path": "/x", "timeout": 1.5}]})")) ==
          "config.json: hooks.poststop[0].timeout: expected integer, got 1.5");
}

TEST_CASE("spec: an integer out of range for its field is an error naming the field") {
    CHECK(parse_error(
              config(R"("process": {"args": ["sh"], "cwd": "/", "user": {"uid": 4294967296}})")) ==
          "config.json: process.user.uid: value 4294967296 out of range");
    CHECK(parse_error(config(R"("process": {"args": ["sh"], "cwd": "/", "user": {"gid": -1}})")) ==
          "config.json: process.user.gid: value -1 out of range");
    CHECK(parse_error(config(R"("linux": {"resources": {"blockIO": {"weight": 65536}}})")) ==
          "config.json: linux.resources.blockIO.weight: value 65536 out of range");
    CHECK(parse_error(
              config(R"("linux": {"resources": {"memory": {"limit": 9223372036854775808}}})")) ==
          "config.json: linux.resources.memory.limit: value 9223372036854775808 out of range");
}

TEST_CASE("spec: ociVersion must be present with major version 1") {
    CHECK(parse_error(R"({"root": {"path": "rootfs"}})") == "config.json: ociVersion: missing");
    CHECK(parse_error(R"({"ociVersion": "2.0.0"})") ==
          "config.json: ociVersion \"2.0.0\": unsupported major version (this runtime implements "
          "1.x)");
    CHECK(parse_error(R"({"ociVersion": 1})") ==
          "config.json: ociVersion: expected string, got number");
    CHECK(parse_spec(R"({"ociVersion": "1.1.0-rc.1"})").has_value());
}

TEST_CASE("spec: text that is not a JSON object is rejected with the file name") {
    CHECK(parse_error("{x").starts_with("config.json: invalid JSON at line 1, column 2: "));
    CHECK(parse_error("[]") == "config.json: expected an object at the top level");
    auto r = parse_spec("{", "bundle/config.json");
    REQUIRE_FALSE(r);
    CHECK(r.error().message.starts_with("bundle/config.json: invalid JSON at line 1"));
}

TEST_CASE("spec: process needs arguments and an absolute cwd") {
    CHECK(parse_error(config(R"("process": {"cwd": "/"})")) ==
          "config.json: process.args: must not be empty");
    CHECK(parse_error(config(R"("process": {"args": [], "cwd": "/"})")) ==
          "config.json: process.args: must not be empty");
    CHECK(parse_error(config(R"("process": {"args": ["sh"], "cwd": "x"})")) ==
          "config.json: process.cwd \"x\": must be an absolute path");
    CHECK(parse_error(config(R"("process": {"args": ["sh"]})")) ==
          "config.json: process.cwd \"\": must be an absolute path");
}

TEST_CASE("spec: namespace types must be known and appear once") {
    CHECK(parse_error(config(
              R"("linux": {"namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "foo"}]})")) ==
          "config.json: linux.namespaces[2].type \"foo\": unknown namespace type");
    CHECK(parse_error(config(R"("linux": {"namespaces": [{"type": "pid"}, {"type": "pid"}]})")) ==
          "config.json: linux.namespaces[1].type \"pid\": duplicate namespace type");
}

TEST_CASE("spec: load_spec reads BUNDLE/config.json") {
    char tmpl[] = "/tmp/berth-spec-test-XXXXXX";
    REQUIRE(mkdtemp(tmpl));
    std::string bundle = tmpl;

    auto missing = load_spec(bundle);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == ENOENT);
    CHECK(missing.error().what() == "open " + bundle + "/config.json: No such file or directory");

    REQUIRE(write_file(bundle + "/config.json", json::write(default_spec(false, 0, 0), true)));
    auto spec = load_spec(bundle);
    REQUIRE(spec);
    CHECK(spec->hostname == "berth");

    std::string cmd = "rm -rf '" + bundle + "'";
    CHECK(std::system(cmd.c_str()) == 0);
}
