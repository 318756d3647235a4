#include <catch2/catch.hpp>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <string>
#include <vector>

#include "libutil/json.hpp"
#include "libutil/oci/spec.hpp"
#include "manager/containers/run_options.hpp"
#include "manager/containers/spec.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace berth;
using namespace berth::manager;
using json::Value;

namespace {

const std::string kId(64, 'a');

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// A rootfs with /etc/passwd and /etc/group.
struct Rootfs {
    TempDir dir;
    std::string path = dir.path + "/rootfs";
    Rootfs() {
        ::mkdir(path.c_str(), 0755);
        ::mkdir((path + "/etc").c_str(), 0755);
        write(path + "/etc/passwd",
              "root:x:0:0:root:/root:/bin/sh\n"
              "app:x:1000:1000:App:/home/app:/bin/sh\n"
              "# comment\n"
              "svc:x:999:998::/var/svc:/sbin/nologin\n");
        write(path + "/etc/group",
              "root:x:0:\n"
              "app:x:1000:\n"
              "staff:x:50:app,svc\n"
              "audio:x:29:app\n"
              "svcgrp:x:998:\n");
    }
};

Value image(std::string config_json) {
    return *json::parse(R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":)" +
                        config_json + "}");
}

RunOptions opts(std::vector<std::string> words) {
    std::vector<char*> argv{const_cast<char*>("run")};
    for (auto& w : words) argv.push_back(w.data());
    std::vector<std::string> notes;
    auto r = parse_run_options(static_cast<int>(argv.size()), argv.data(), 1, &notes);
    if (!r) FAIL(r.error().what());
    return *r;
}

std::vector<std::string> strings(const Value* v) {
    std::vector<std::string> out;
    REQUIRE(v);
    for (const auto& i : v->items()) out.push_back(i.as_string());
    return out;
}

// make_spec, then the runtime's own parser over the result.
oci::Spec generate(const RunOptions& o, const Value& img, const std::string& rootfs,
                   std::vector<ResolvedMount> mounts = {}, std::string init = "", std::string netns = "") {
    SpecInputs in{o,    img, kId, rootfs, "/var/lib/berth/containers/" + kId, std::move(mounts), std::move(init),
                  std::move(netns)};
    auto spec = make_spec(in);
    if (!spec) FAIL(spec.error().what());
    auto parsed = oci::parse_spec(json::write(*spec));
    if (!parsed) FAIL(parsed.error().what());
    return *parsed;
}

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

const oci::Mount* find_mount(const oci::Spec& s, const std::string& dst) {
    for (const auto& m : s.mounts)
        if (m.destination == dst) return &m;
    return nullptr;
}

}  // namespace

TEST_CASE("spec gen: entrypoint and cmd by docker's rules") {
    auto img = image(R"({"Entrypoint":["/entry"],"Cmd":["serve","--port","80"]})");
    CHECK(*container_args(opts({"img"}), img) == std::vector<std::string>{"/entry", "serve", "--port", "80"});
    CHECK(*container_args(opts({"img", "run", "-x"}), img) == std::vector<std::string>{"/entry", "run", "-x"});
    // --entrypoint drops the image's Cmd unless a command is given.
    CHECK(*container_args(opts({"--entrypoint", "/bin/sh", "img"}), img) == std::vector<std::string>{"/bin/sh"});
    CHECK(*container_args(opts({"--entrypoint", "/bin/sh", "img", "-c", "id"}), img) ==
          std::vector<std::string>{"/bin/sh", "-c", "id"});
    CHECK(*container_args(opts({"--entrypoint", "", "img", "ls"}), img) == std::vector<std::string>{"ls"});
    auto cmd_only = image(R"({"Cmd":["sh"]})");
    CHECK(*container_args(opts({"img"}), cmd_only) == std::vector<std::string>{"sh"});
    CHECK(*container_args(opts({"img", "ls", "/"}), cmd_only) == std::vector<std::string>{"ls", "/"});
    auto r = container_args(opts({"--entrypoint", "", "img"}), img);
    REQUIRE_FALSE(r);
    CHECK(r.error().what() == "no command given and the image has neither Entrypoint nor Cmd");
    CHECK_FALSE(container_args(opts({"img"}), image("{}")));
}

TEST_CASE("spec gen: env merges the image's, the defaults and -e by name") {
    auto img = image(R"({"Env":["PATH=/custom/bin","LANG=C","KEEP=1"]})");
    auto env = container_env(opts({"-t", "-e", "LANG=en_US.UTF-8", "-e", "NEW=x", "img"}), img, "box");
    CHECK(env == std::vector<std::string>{"HOSTNAME=box", "TERM=xterm", "PATH=/custom/bin", "LANG=en_US.UTF-8", "KEEP=1",
                                          "NEW=x"});
    env = container_env(opts({"-e", "HOSTNAME=mine", "img"}), image("{}"), "box");
    CHECK(env == std::vector<std::string>{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                          "HOSTNAME=mine"});
}

TEST_CASE("spec gen: users through the rootfs's passwd and group files") {
    Rootfs fs;
    auto u = resolve_user(fs.path, "app");
    REQUIRE(u);
    CHECK(u->uid == 1000);
    CHECK(u->gid == 1000);
    CHECK(u->home == "/home/app");
    CHECK(u->additional_gids == std::vector<uint32_t>{50, 29});
    u = resolve_user(fs.path, "999");
    REQUIRE(u);
    CHECK(u->uid == 999);
    CHECK(u->gid == 998);
    CHECK(u->home == "/var/svc");
    CHECK(u->additional_gids == std::vector<uint32_t>{50});
    u = resolve_user(fs.path, "app:staff");
    REQUIRE(u);
    CHECK(u->gid == 50);
    CHECK(u->additional_gids == std::vector<uint32_t>{29});  // not the primary again
    u = resolve_user(fs.path, "4242:77");
    REQUIRE(u);
    CHECK(u->uid == 4242);
    CHECK(u->gid == 77);
    CHECK(u->home == "/");
    CHECK(u->additional_gids.empty());
    u = resolve_user(fs.path, "");
    REQUIRE(u);
    CHECK(u->uid == 0);
    CHECK(u->home == "/root");
    CHECK(resolve_user(fs.path, "nobody").error().what() ==
          "unable to find user nobody: no matching entries in passwd file");
    CHECK(resolve_user(fs.path, "app:wheel").error().what() ==
          "unable to find group wheel: no matching entries in group file");
    // No passwd file: numbers still work, names do not.
    ::unlink((fs.path + "/etc/passwd").c_str());
    CHECK(resolve_user(fs.path, "5:6")->uid == 5);
    CHECK_FALSE(resolve_user(fs.path, "app"));
}

TEST_CASE("spec gen: a passwd symlink pointing out of the rootfs stays inside it") {
    Rootfs fs;
    // A file outside the rootfs that a naive open would follow the link to.
    std::string outside = fs.dir.path + "/host-passwd";
    write(outside, "intruder:x:4242:4242::/:/bin/sh\n");
    ::unlink((fs.path + "/etc/passwd").c_str());
    std::string target = "/etc/../../../../../../../../.." + outside;
    REQUIRE(::symlink(target.c_str(), (fs.path + "/etc/passwd").c_str()) == 0);
    REQUIRE(std::ifstream(fs.path + "/etc/passwd").good());  // the host would follow it
    auto u = resolve_user(fs.path, "intruder");
    REQUIRE_FALSE(u);
    CHECK(u.error().what() == "unable to find user intruder: no matching entries in passwd file");
    // An absolute link to the host's /etc/passwd reads the rootfs's own (absent) file.
    ::unlink((fs.path + "/etc/passwd").c_str());
    REQUIRE(::symlink("/etc/passwd", (fs.path + "/etc/passwd").c_str()) == 0);
    // A loop inside the rootfs: an error, never the host's root.
    CHECK(resolve_user(fs.path, "root").error().what() ==
          "open /etc/passwd in the container rootfs: Too many levels of symbolic links");
}

TEST_CASE("spec gen: a whole spec the runtime's parser accepts") {
    Rootfs fs;
    auto img = image(R"({"Env":["A=1"],"Cmd":["sh"],"WorkingDir":"/work","User":"app"})");
    auto s = generate(opts({"-t", "img"}), img, fs.path);
    REQUIRE(s.process);
    CHECK(s.process->terminal);
    CHECK(s.process->args == std::vector<std::string>{"sh"});
    CHECK(s.process->cwd == "/work");
    CHECK(s.process->user.uid == 1000);
    CHECK(s.process->user.additional_gids == std::vector<uint32_t>{50, 29});
    CHECK(has(s.process->env, "HOME=/home/app"));
    CHECK(has(s.process->env, "HOSTNAME=" + kId.substr(0, 12)));
    CHECK(s.hostname == kId.substr(0, 12));
    CHECK(s.root.path == fs.path);
    CHECK_FALSE(s.root.readonly);
    CHECK_FALSE(s.process->no_new_privileges);
    REQUIRE(s.process->rlimits.size() == 1);
    CHECK(s.process->rlimits[0].type == "RLIMIT_NOFILE");
    struct rlimit own {};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &own) == 0);
    CHECK(s.process->rlimits[0].hard == std::min<uint64_t>(1048576, own.rlim_max));
    CHECK(s.process->rlimits[0].soft == s.process->rlimits[0].hard);
    REQUIRE(s.linux);
    CHECK(s.linux->cgroups_path == "/berth-" + kId);
    for (const char* ns : {"pid", "ipc", "uts", "mount", "network"}) CHECK(s.find_namespace(ns));
    CHECK(has(s.linux->masked_paths, "/proc/kcore"));
    CHECK(has(s.linux->readonly_paths, "/proc/sys"));
    for (const char* dst : {"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"})
        CHECK(find_mount(s, dst));
    CHECK(has(find_mount(s, "/dev/shm")->options, "size=67108864"));
    CHECK(has(find_mount(s, "/sys")->options, "ro"));
    auto hosts = find_mount(s, "/etc/hosts");
    REQUIRE(hosts);
    CHECK(hosts->type == "bind");
    CHECK(hosts->source == "/var/lib/berth/containers/" + kId + "/hosts");
    CHECK(find_mount(s, "/etc/resolv.conf"));
    CHECK(find_mount(s, "/etc/hostname"));
    REQUIRE(s.linux->seccomp);

    // -u, -w, -h, --read-only and no-new-privileges override the image.
    s = generate(opts({"-u", "svc", "-w", "/", "-h", "box", "--read-only", "--security-opt", "no-new-privileges", "img"}),
                 img, fs.path);
    CHECK(s.process->user.uid == 999);
    CHECK(s.process->cwd == "/");
    CHECK(s.hostname == "box");
    CHECK(s.root.readonly);
    CHECK(s.process->no_new_privileges);
    CHECK_FALSE(s.process->terminal);
    // An unknown image user is make_spec's error.
    SpecInputs in{opts({"img"}), image(R"({"Cmd":["sh"],"User":"ghost"})"), kId, fs.path, "", {}, "", ""};
    CHECK(make_spec(in).error().what() == "unable to find user ghost: no matching entries in passwd file");
}

TEST_CASE("spec gen: capabilities, added, dropped and privileged") {
    auto caps = container_capabilities(opts({"img"}));
    CHECK(caps.size() == 14);
    CHECK(has(caps, "CAP_NET_BIND_SERVICE"));
    CHECK_FALSE(has(caps, "CAP_SYS_ADMIN"));
    caps = container_capabilities(opts({"--cap-add", "sys_admin", "--cap-drop", "net_raw", "--cap-drop", "kill", "img"}));
    CHECK(caps.size() == 13);
    CHECK(has(caps, "CAP_SYS_ADMIN"));
    CHECK_FALSE(has(caps, "CAP_NET_RAW"));
    CHECK_FALSE(has(caps, "CAP_KILL"));
    CHECK(container_capabilities(opts({"--cap-drop", "all", "--cap-add", "chown", "img"})) ==
          std::vector<std::string>{"CAP_CHOWN"});
    const auto& host = host_capabilities();
    REQUIRE(has(host, "CAP_SYS_ADMIN"));
    CHECK(container_capabilities(opts({"--cap-add", "all", "--cap-drop", "sys_admin", "img"})).size() == host.size() - 1);
    CHECK(container_capabilities(opts({"--privileged", "--cap-drop", "all", "img"})) == host);

    Rootfs fs;
    auto img = image(R"({"Cmd":["sh"]})");
    auto s = generate(opts({"--cap-add", "NET_ADMIN", "img"}), img, fs.path);
    CHECK(has(s.process->capabilities->bounding, "CAP_NET_ADMIN"));
    CHECK(s.process->capabilities->effective == s.process->capabilities->bounding);
    CHECK(s.process->capabilities->permitted == s.process->capabilities->bounding);
    s = generate(opts({"--privileged", "img"}), img, fs.path);
    CHECK(s.process->capabilities->bounding == host);
    CHECK_FALSE(s.linux->seccomp);
    CHECK(s.linux->masked_paths.empty());
    CHECK(s.linux->readonly_paths.empty());
    CHECK(has(find_mount(s, "/sys")->options, "rw"));
    REQUIRE(s.linux->resources);
    REQUIRE(s.linux->resources->devices.size() == 1);
    CHECK(s.linux->resources->devices[0].allow);
}

TEST_CASE("spec gen: resources, network host, init, mounts passed through") {
    Rootfs fs;
    auto img = image(R"({"Entrypoint":["/app"]})");
    std::vector<ResolvedMount> mounts = {
        {"/data", "bind", "/var/lib/berth/volumes/v1/_data", {"rbind", "rprivate"}},
        {"/dev/shm", "tmpfs", "tmpfs", {"nosuid", "size=1048576"}},
    };
    auto s = generate(opts({"-m", "256m", "--memory-swap", "512m", "--cpus", "1.5", "--pids-limit", "64", "--net", "host",
                            "--init", "img", "x"}),
                      img, fs.path, mounts, "/usr/libexec/berth/init");
    const auto& r = *s.linux->resources;
    CHECK(r.memory->limit == 256LL << 20);
    CHECK(r.memory->swap == 512LL << 20);
    CHECK(r.cpu->quota == 150000);
    CHECK(r.cpu->period == 100000u);
    CHECK(r.pids->limit == 64);
    CHECK(r.devices.size() == 1);
    CHECK_FALSE(r.devices[0].allow);
    CHECK_FALSE(s.find_namespace("network"));
    CHECK(s.find_namespace("uts"));
    CHECK(s.process->args == std::vector<std::string>{kInitPath, "--", "/app", "x"});
    auto init = find_mount(s, kInitPath);
    REQUIRE(init);
    CHECK(init->source == "/usr/libexec/berth/init");
    CHECK(has(init->options, "ro"));
    auto data = find_mount(s, "/data");
    REQUIRE(data);
    CHECK(data->source == "/var/lib/berth/volumes/v1/_data");
    CHECK(data->options == std::vector<std::string>{"rbind", "rprivate"});
    // The user's /dev/shm replaces the default one, and comes after /dev.
    CHECK(std::count_if(s.mounts.begin(), s.mounts.end(), [](auto& m) { return m.destination == "/dev/shm"; }) == 1);
    CHECK(find_mount(s, "/dev/shm")->options == std::vector<std::string>{"nosuid", "size=1048576"});
    CHECK(s.mounts.back().destination == "/dev/shm");
    auto plain = generate(opts({"img"}), img, fs.path);
    REQUIRE(plain.find_namespace("network"));
    CHECK(plain.find_namespace("network")->path.empty());
    // Networks of its own: the namespace berth makes at start, by path.
    auto wired = generate(opts({"img"}), img, fs.path, {}, "", "/run/berth/netns/" + kId);
    REQUIRE(wired.find_namespace("network"));
    CHECK(wired.find_namespace("network")->path == "/run/berth/netns/" + kId);
    CHECK(wired.find_namespace("uts")->path.empty());
    CHECK_FALSE(plain.linux->resources->memory);
    CHECK_FALSE(plain.linux->resources->cpu);
    CHECK_FALSE(plain.linux->resources->pids);
}

TEST_CASE("spec gen: the default seccomp profile denies namespaces, keyrings, mounts") {
    auto p = default_seccomp_profile();
    CHECK(p.find("defaultAction")->as_string() == "SCMP_ACT_ERRNO");
    CHECK(p.find("defaultErrnoRet")->as_int64() == 1);
    std::vector<std::string> allowed;
    const Value* clone_rule = nullptr;
    for (const auto& rule : p.find("syscalls")->items()) {
        if (rule.find("action")->as_string() != "SCMP_ACT_ALLOW") continue;
        for (const auto& n : rule.find("names")->items()) {
            if (rule.find("args")) {
                if (n.as_string() == "clone") clone_rule = &rule;
                continue;
            }
            allowed.push_back(n.as_string());
        }
    }
    for (const char* denied : {"unshare", "setns", "keyctl", "add_key", "request_key", "mount", "umount2", "bpf",
                               "perf_event_open", "kexec_load", "init_module", "ptrace", "clone", "personality"})
        CHECK_FALSE(has(allowed, denied));
    for (const char* ok : {"read", "write", "execve", "openat", "exit_group", "futex", "epoll_wait", "socket"})
        CHECK(has(allowed, ok));
    REQUIRE(clone_rule);
    const auto& arg = clone_rule->find("args")->items().at(0);
    CHECK(arg.find("op")->as_string() == "SCMP_CMP_MASKED_EQ");
    CHECK(arg.find("value")->as_uint64() == 0x7E020000u);
    // The runtime's parser takes it as linux.seccomp.
    Rootfs fs;
    auto s = generate(opts({"img"}), image(R"({"Cmd":["sh"]})"), fs.path);
    REQUIRE(s.linux->seccomp);
    CHECK(json::write(s.linux->seccomp->raw) == json::write(p));
    CHECK_FALSE(generate(opts({"--security-opt", "seccomp=unconfined", "img"}), image(R"({"Cmd":["sh"]})"), fs.path)
                    .linux->seccomp);
}

TEST_CASE("spec gen: a docker seccomp profile file is converted") {
    TempDir dir;
    std::string path = dir.path + "/profile.json";
    write(path, R"({
      "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
      "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
                  {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
      "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
        {"name": "getpid", "action": "SCMP_ACT_ALLOW"},
        {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["reboot"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13, "args": [{"index": 1, "value": 9, "op": "SCMP_CMP_EQ"}]}
      ]})");
    auto p = load_seccomp_profile(path, {"CAP_CHOWN"});
    REQUIRE(p);
    auto archs = strings(p->find("architectures"));
    REQUIRE(archs.size() == 3);
    auto text = json::write(*p);
    CHECK(text.find("\"getpid\"") != std::string::npos);
    CHECK(text.find("\"mount\"") == std::string::npos);   // needs CAP_SYS_ADMIN
    CHECK(text.find("\"reboot\"") != std::string::npos);  // excluded only with CAP_SYS_ADMIN
    CHECK(text.find("\"errnoRet\":13") != std::string::npos);
    auto with_admin = json::write(*load_seccomp_profile(path, {"CAP_SYS_ADMIN"}));
    CHECK(with_admin.find("\"mount\"") != std::string::npos);
    CHECK(with_admin.find("\"reboot\"") == std::string::npos);
    // What the runtime parses as linux.seccomp.
    auto spec = oci::parse_spec(R"({"ociVersion":"1.2.0","root":{"path":"r"},"linux":{"seccomp":)" + text + "}}");
    CHECK(spec);

    write(path, R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "ALLOW"}]})");
    CHECK(load_seccomp_profile(path).error().what() ==
          "seccomp profile " + path + ": syscalls[0].action: expected an SCMP_ACT_ action");
    write(path, "{nope");
    CHECK(load_seccomp_profile(path).error().what().starts_with("seccomp profile " + path + ": invalid JSON"));
}

TEST_CASE("spec gen: the stop signal from the flag, the image, or SIGTERM") {
    CHECK(stop_signal(opts({"img"}), image("{}")) == SIGTERM);
    CHECK(stop_signal(opts({"img"}), image(R"({"StopSignal":"SIGQUIT"})")) == SIGQUIT);
    CHECK(stop_signal(opts({"--stop-signal", "9", "img"}), image(R"({"StopSignal":"SIGQUIT"})")) == SIGKILL);
    CHECK(stop_signal(opts({"img"}), image(R"({"StopSignal":"SIGNOPE"})")).error().what() ==
          R"(the image's StopSignal "SIGNOPE" is not a signal)");
}

TEST_CASE("spec gen: bind, volume and tmpfs requests become mounts") {
    auto o = opts({"-v", "/srv:/data:ro,rslave", "-v", "vol:/v", "--tmpfs", "/t:exec,size=1m,mode=700,uid=5",
                   "--mount", "type=tmpfs,target=/u,ro", "img"});
    auto bind = resolve_mount(o.mounts[0]);
    CHECK(bind.destination == "/data");
    CHECK(bind.type == "bind");
    CHECK(bind.source == "/srv");
    CHECK(bind.options == std::vector<std::string>{"rbind", "rslave", "ro"});
    auto vol = resolve_mount(o.mounts[1], "/var/lib/berth/volumes/vol/_data");
    CHECK(vol.source == "/var/lib/berth/volumes/vol/_data");
    CHECK(vol.options == std::vector<std::string>{"rbind", "rprivate", "rw"});
    auto t = resolve_mount(o.mounts[3]);  // -v, then --mount, then --tmpfs
    CHECK(t.type == "tmpfs");
    CHECK(t.source == "tmpfs");
    CHECK(t.options == std::vector<std::string>{"nosuid", "nodev", "uid=5", "mode=700", "size=1048576"});
    CHECK(resolve_mount(o.mounts[2]).options == std::vector<std::string>{"nosuid", "nodev", "noexec", "ro"});
    // The runtime takes them.
    Rootfs fs;
    std::vector<ResolvedMount> mounts;
    for (const auto& m : o.mounts) mounts.push_back(resolve_mount(m, "/var/lib/berth/volumes/vol/_data"));
    auto s = generate(opts({"img", "sh"}), image("{}"), fs.path, mounts);
    CHECK(find_mount(s, "/t")->options == t.options);
    // A mount inside another comes after it, whatever the flags' order.
    mounts = {{"/a/b/c", "tmpfs", "tmpfs", {}}, {"/a", "tmpfs", "tmpfs", {}}, {"/z", "tmpfs", "tmpfs", {}},
              {"/a/b", "tmpfs", "tmpfs", {}}};
    s = generate(opts({"img", "sh"}), image("{}"), fs.path, mounts);
    std::vector<std::string> order;
    for (size_t i = s.mounts.size() - 4; i < s.mounts.size(); ++i) order.push_back(s.mounts[i].destination);
    CHECK(order == std::vector<std::string>{"/a", "/z", "/a/b", "/a/b/c"});
}

TEST_CASE("spec gen: a shared or slave bind makes the root propagate the same way, as docker") {
    Rootfs fs;
    auto img = image(R"({"Cmd":["sh"]})");
    auto with = [&](std::vector<std::string> options) {
        return generate(opts({"img"}), img, fs.path, {{"/data", "bind", "/srv", std::move(options)}});
    };
    CHECK(with({"rbind", "rprivate"}).linux->rootfs_propagation.empty());
    CHECK(with({"rbind", "rslave"}).linux->rootfs_propagation == "rslave");
    CHECK(with({"rbind", "rshared"}).linux->rootfs_propagation == "rshared");
    auto both = generate(opts({"img"}), img, fs.path,
                         {{"/a", "bind", "/srv/a", {"rbind", "rslave"}}, {"/b", "bind", "/srv/b", {"rbind", "shared"}}});
    CHECK(both.linux->rootfs_propagation == "rshared");
}
