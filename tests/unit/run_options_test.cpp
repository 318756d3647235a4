#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "libutil/json.hpp"
#include "manager/containers/run_options.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace berth;
using namespace berth::manager;

namespace {

Result<RunOptions> parse(std::vector<std::string> words, std::vector<std::string>* notes = nullptr) {
    std::vector<char*> argv{const_cast<char*>("run")};
    for (auto& w : words) argv.push_back(w.data());
    return parse_run_options(static_cast<int>(argv.size()), argv.data(), 1, notes);
}

RunOptions ok(std::vector<std::string> words) {
    auto r = parse(std::move(words));
    if (!r) FAIL(r.error().what());
    return *r;
}

std::string error(std::vector<std::string> words) {
    auto r = parse(std::move(words));
    REQUIRE_FALSE(r);
    return r.error().what();
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

TEST_CASE("run options: flags before IMAGE, the command after it keeps its own flags") {
    auto o = ok({"-it", "--rm", "--name", "web", "busybox", "ls", "-l", "--color", "/"});
    CHECK(o.interactive);
    CHECK(o.tty);
    CHECK(o.remove);
    CHECK_FALSE(o.detach);
    CHECK(o.name == "web");
    CHECK(o.image == "busybox");
    CHECK(o.command == std::vector<std::string>{"ls", "-l", "--color", "/"});
    CHECK(o.network == "bridge");
    CHECK(o.networks == std::vector<std::string>{"bridge"});
    CHECK(ok({"-d", "img"}).detach);
    CHECK(ok({"img"}).command.empty());
}

TEST_CASE("run options: no image, unknown flags") {
    CHECK(error({"-d"}) == "an image is needed: [OPTIONS] IMAGE [COMMAND] [ARG...]");
    CHECK(error({"--nosuch", "img"}) == "unknown flag: --nosuch");
    CHECK(ok({"img", "--name"}).command == std::vector<std::string>{"--name"});
}

TEST_CASE("run options: --name, --hostname, --workdir, --user, --entrypoint") {
    auto o = ok({"--name=a.b_c-1", "-h", "box", "-w", "/srv//app/", "-u", "app:staff", "--entrypoint", "/bin/sh", "img"});
    CHECK(o.name == "a.b_c-1");
    CHECK(o.hostname == "box");
    CHECK(o.workdir == "/srv/app");
    CHECK(o.user == "app:staff");
    CHECK(o.entrypoint == std::vector<std::string>{"/bin/sh"});
    CHECK(ok({"--entrypoint", "", "img"}).entrypoint == std::vector<std::string>{});
    CHECK_FALSE(ok({"img"}).entrypoint);
    CHECK(error({"--name", "a b", "img"}) == R"(invalid value "a b" for --name: names are [a-zA-Z0-9][a-zA-Z0-9_.-]+)");
    CHECK(error({"--name", "x", "img"}) == R"(invalid value "x" for --name: names are [a-zA-Z0-9][a-zA-Z0-9_.-]+)");
    CHECK(error({"-h", "a/b", "img"}) == R"(invalid value "a/b" for --hostname: a hostname is 1 to 64 of [a-zA-Z0-9._-])");
    CHECK(error({"-w", "rel", "img"}) == R"(invalid value "rel" for --workdir: not an absolute path)");
    CHECK(error({"-u", "a:b:c", "img"}) == R"(invalid value "a:b:c" for --user: not USER[:GROUP] (a name or a number each))");
    CHECK(error({"-u", ":5", "img"}).starts_with(R"(invalid value ":5" for --user)"));
}

TEST_CASE("run options: -e and --env-file, the host's value for a bare name") {
    TempDir dir;
    ::setenv("BERTH_TEST_HOST_VAR", "from host", 1);
    ::unsetenv("BERTH_TEST_UNSET_VAR");
    std::string file = dir.path + "/env";
    write(file, "# comment\n\nA=1\n  B=two words \nBERTH_TEST_HOST_VAR\nBERTH_TEST_UNSET_VAR\nC=\r\n");
    auto o = ok({"--env-file", file, "-e", "D=4", "-e", "BERTH_TEST_HOST_VAR", "--env", "BERTH_TEST_UNSET_VAR", "img"});
    CHECK(o.env == std::vector<std::string>{"A=1", "B=two words ", "BERTH_TEST_HOST_VAR=from host", "C=", "D=4",
                                            "BERTH_TEST_HOST_VAR=from host"});
    CHECK(error({"-e", "=x", "img"}) == R"(invalid value "=x" for --env: the variable name is empty)");
    write(file, "A=1\nB C=2\n");
    CHECK(error({"--env-file", file, "img"}) ==
          "--env-file " + file + R"(: line 2: invalid value "B C=2" for --env-file: the variable name contains whitespace)");
    CHECK(error({"--env-file", dir.path + "/none", "img"}) ==
          "--env-file " + dir.path + "/none: open " + dir.path + "/none: No such file or directory");
}

TEST_CASE("run options: labels and --label-file") {
    TempDir dir;
    write(dir.path + "/labels", "# c\nteam=db\nflag\n");
    auto o = ok({"--label-file", dir.path + "/labels", "-l", "a=b=c", "--label", "team=web", "img"});
    CHECK(o.labels == std::map<std::string, std::string>{{"a", "b=c"}, {"flag", ""}, {"team", "web"}});
    CHECK(error({"-l", "=v", "img"}) == R"(invalid value "=v" for --label: the label name is empty)");
}

TEST_CASE("run options: -v binds, named and anonymous volumes") {
    std::vector<std::string> notes;
    auto o = parse({"-v", "/srv/data:/data:ro,rslave", "-v", "cache:/var/cache:nocopy", "-v", "/anon",
                    "-v", "/h:/c:Z", "img"},
                   &notes);
    REQUIRE(o);
    REQUIRE(o->mounts.size() == 4);
    auto& b = o->mounts[0];
    CHECK(b.type == MountRequest::Type::Bind);
    CHECK(b.source == "/srv/data");
    CHECK(b.destination == "/data");
    CHECK(b.read_only);
    CHECK(b.propagation == "rslave");
    CHECK(o->mounts[1].type == MountRequest::Type::Volume);
    CHECK(o->mounts[1].source == "cache");
    CHECK(o->mounts[1].nocopy);
    CHECK(o->mounts[2].type == MountRequest::Type::Volume);
    CHECK(o->mounts[2].source.empty());
    CHECK(o->mounts[2].destination == "/anon");
    CHECK(notes == std::vector<std::string>{"volume option Z ignored (no SELinux labels)"});

    CHECK(error({"-v", "/a:rel", "img"}) == R"(invalid value "/a:rel" for --volume: "rel" is not an absolute path)");
    CHECK(error({"-v", "a/b:/d", "img"}) ==
          R"(invalid value "a/b:/d" for --volume: "a/b" is neither an absolute path nor a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+))");
    CHECK(error({"-v", "/a:/d:rx", "img"}) == R"(invalid value "/a:/d:rx" for --volume: unknown option "rx")");
    CHECK(error({"-v", "/a:/d:ro,rw", "img"}) == R"(invalid value "/a:/d:ro,rw" for --volume: ro and rw given more than once)");
    CHECK(error({"-v", "vol:/d:shared", "img"}) ==
          R"(invalid value "vol:/d:shared" for --volume: propagation shared applies to bind mounts only)");
    CHECK(error({"-v", "/a:/d:nocopy", "img"}) == R"(invalid value "/a:/d:nocopy" for --volume: nocopy applies to volumes only)");
    CHECK(error({"-v", "/a:/", "img"}) == R"(invalid value "/a:/" for --volume: the destination must not be /)");
    CHECK(error({"-v", "/a:/d:ro:x", "img"}) == R"(invalid value "/a:/d:ro:x" for --volume: not SRC:DST[:OPTS] or DST)");
    CHECK(error({"-v", "/a:/d", "-v", "/b:/d/", "img"}) == "duplicate mount point: /d");
}

TEST_CASE("run options: --mount") {
    auto o = ok({"--mount", "type=bind,src=/h,dst=/c,readonly,bind-propagation=shared", "--mount",
                 "type=volume,source=v1,target=/v,volume-nocopy=true", "--mount", "target=/anon", "--mount",
                 "type=tmpfs,destination=/t,tmpfs-size=64m,tmpfs-mode=700", "--mount", "type=bind,source=/x,target=/y,ro=false",
                 "img"});
    REQUIRE(o.mounts.size() == 5);
    CHECK(o.mounts[0].type == MountRequest::Type::Bind);
    CHECK(o.mounts[0].read_only);
    CHECK(o.mounts[0].propagation == "shared");
    CHECK(o.mounts[1].source == "v1");
    CHECK(o.mounts[1].nocopy);
    CHECK(o.mounts[2].type == MountRequest::Type::Volume);
    CHECK(o.mounts[2].source.empty());
    CHECK(o.mounts[3].type == MountRequest::Type::Tmpfs);
    CHECK(o.mounts[3].tmpfs_size == 64u << 20);
    CHECK(o.mounts[3].tmpfs_mode == 0700);
    CHECK_FALSE(o.mounts[4].read_only);

    CHECK(error({"--mount", "type=nfs,target=/d", "img"}) ==
          R"(invalid value "type=nfs,target=/d" for --mount: type "nfs" is not bind, volume or tmpfs)");
    CHECK(error({"--mount", "type=bind,source=/a", "img"}) == R"(invalid value "type=bind,source=/a" for --mount: target is missing)");
    CHECK(error({"--mount", "type=bind,source=rel,target=/d", "img"}) ==
          R"(invalid value "type=bind,source=rel,target=/d" for --mount: a bind mount needs an absolute source)");
    CHECK(error({"--mount", "type=bind,source=/a,target=/d,tmpfs-size=1m", "img"}) ==
          R"(invalid value "type=bind,source=/a,target=/d,tmpfs-size=1m" for --mount: options of another type given with type=bind)");
    CHECK(error({"--mount", "target=/d,foo=1", "img"}) == R"(invalid value "target=/d,foo=1" for --mount: unknown field "foo")");
    CHECK(error({"--mount", "type=tmpfs,target=/d,tmpfs-mode=999", "img"}) ==
          R"(invalid value "type=tmpfs,target=/d,tmpfs-mode=999" for --mount: tmpfs-mode "999" is not an octal mode)");
    CHECK(error({"--mount", "target=/d,ro=maybe", "img"}) == R"(invalid value "target=/d,ro=maybe" for --mount: ro takes true or false)");
}

TEST_CASE("run options: --tmpfs") {
    auto o = ok({"--tmpfs", "/run", "--tmpfs", "/tmp:size=64m,mode=1770,noexec,nosuid,uid=1000", "img"});
    REQUIRE(o.mounts.size() == 2);
    CHECK(o.mounts[0].type == MountRequest::Type::Tmpfs);
    CHECK(o.mounts[0].destination == "/run");
    CHECK(o.mounts[1].tmpfs_size == 64u << 20);
    CHECK(o.mounts[1].tmpfs_mode == 01770);
    CHECK(o.mounts[1].extra_options == std::vector<std::string>{"noexec", "nosuid", "uid=1000"});
    CHECK(error({"--tmpfs", "/t:size=big", "img"}) == R"(invalid value "/t:size=big" for --tmpfs: size "big" is not a size)");
    CHECK(error({"--tmpfs", "/t:bogus", "img"}) == R"(invalid value "/t:bogus" for --tmpfs: unknown option "bogus")");
    CHECK(error({"--tmpfs", "t", "img"}) == R"(invalid value "t" for --tmpfs: "t" is not an absolute path)");
}

TEST_CASE("run options: docker's sizes") {
    CHECK(parse_docker_size("512") == 512);
    CHECK(parse_docker_size("64m") == 64 << 20);
    CHECK(parse_docker_size("64MB") == 64 << 20);
    CHECK(parse_docker_size("1.5g") == (3LL << 30) / 2);
    CHECK(parse_docker_size("10MiB") == 10 << 20);
    CHECK(parse_docker_size("2 k") == 2048);
    CHECK(parse_docker_size("10m", false) == 10000000);
    for (const char* bad : {"", "12q", "m", ".5m", "1..2m", "-1", "1e3", "99999999999999999999", "9999999999p"})
        CHECK_FALSE(parse_docker_size(bad));
}

TEST_CASE("run options: resources") {
    auto o = ok({"-m", "512m", "--memory-swap", "1g", "--cpus", "1.5", "--pids-limit", "100", "img"});
    CHECK(o.memory == 512LL << 20);
    CHECK(o.memory_swap == 1LL << 30);
    CHECK(o.cpus == 1.5);
    CHECK(o.pids_limit == 100);
    CHECK(ok({"--memory=1g", "--memory-swap=-1", "img"}).memory_swap == -1);
    CHECK(ok({"--pids-limit", "0", "img"}).pids_limit == -1);
    CHECK(error({"--memory", "12q", "img"}) ==
          R"(invalid value "12q" for --memory: not a size (bytes, or a number with b, k, m or g))");
    CHECK(error({"-m", "1m", "img"}) == R"(invalid value "1m" for --memory: the minimum memory limit is 6m)");
    CHECK(error({"--memory-swap", "1g", "img"}) == R"(invalid value "1g" for --memory-swap: needs --memory as well)");
    CHECK(error({"-m", "1g", "--memory-swap", "512m", "img"}) ==
          R"(invalid value "512m" for --memory-swap: must not be less than --memory (it counts memory plus swap))");
    for (const char* bad : {"0", "-1", "x", "1.5x", "nan", "inf"})
        CHECK(error({"--cpus", bad, "img"}) == cat("invalid value \"", bad, "\" for --cpus: not a decimal number above 0"));
    CHECK(error({"--pids-limit", "many", "img"}) == R"(invalid value "many" for --pids-limit: not a number)");
}

TEST_CASE("run options: capabilities are normalised, unknown ones named") {
    auto o = ok({"--cap-add", "net_admin", "--cap-add=CAP_SYS_PTRACE", "--cap-add", "all", "--cap-drop", "Mknod", "img"});
    CHECK(o.cap_add == std::vector<std::string>{"CAP_NET_ADMIN", "CAP_SYS_PTRACE", "ALL"});
    CHECK(o.cap_drop == std::vector<std::string>{"CAP_MKNOD"});
    CHECK(error({"--cap-add", "frobnicate", "img"}) ==
          R"(invalid value "frobnicate" for --cap-add: unknown capability "frobnicate")");
    CHECK(error({"--cap-drop", "CAP_NOPE", "img"}) == R"(invalid value "CAP_NOPE" for --cap-drop: unknown capability "CAP_NOPE")");
    CHECK(all_capabilities().size() == 41);
}

TEST_CASE("run options: --privileged, --read-only, --init, --security-opt") {
    TempDir dir;
    auto o = ok({"--privileged", "--read-only", "--init", "--security-opt", "no-new-privileges", "img"});
    CHECK(o.privileged);
    CHECK(o.read_only);
    CHECK(o.init);
    CHECK(o.no_new_privileges);
    CHECK_FALSE(ok({"--security-opt", "no-new-privileges=false", "img"}).no_new_privileges);
    CHECK(ok({"--security-opt", "no-new-privileges:true", "img"}).no_new_privileges);
    CHECK(ok({"--security-opt", "seccomp=unconfined", "img"}).seccomp == "unconfined");
    write(dir.path + "/p.json", R"({"defaultAction": "SCMP_ACT_ALLOW"})");
    CHECK(ok({"--security-opt", "seccomp=" + dir.path + "/p.json", "img"}).seccomp == dir.path + "/p.json");
    CHECK(error({"--security-opt", "apparmor=x", "img"}) ==
          R"(invalid value "apparmor=x" for --security-opt: not supported (seccomp=unconfined|FILE, no-new-privileges[=true|false]))");
    CHECK(error({"--security-opt", "no-new-privileges=maybe", "img"}) ==
          R"(invalid value "no-new-privileges=maybe" for --security-opt: no-new-privileges takes true or false)");
    CHECK(error({"--security-opt", "seccomp=" + dir.path + "/none.json", "img"}) ==
          "--security-opt seccomp: seccomp profile: open " + dir.path + "/none.json: No such file or directory");
    write(dir.path + "/bad.json", R"({"defaultAction": 3})");
    CHECK(error({"--security-opt", "seccomp=" + dir.path + "/bad.json", "img"}) ==
          "--security-opt seccomp: seccomp profile " + dir.path + "/bad.json: defaultAction: expected an SCMP_ACT_ action");
}

TEST_CASE("run options: --restart, --stop-signal, --stop-timeout") {
    auto o = ok({"--restart", "on-failure:3", "--stop-signal", "int", "--stop-timeout", "30", "img"});
    CHECK(o.restart.kind == RestartPolicy::Kind::OnFailure);
    CHECK(o.restart.max_retries == 3);
    CHECK(o.stop_signal == "SIGINT");
    CHECK(o.stop_timeout == 30);
    CHECK(ok({"--restart", "always", "img"}).restart.kind == RestartPolicy::Kind::Always);
    CHECK(ok({"--restart", "unless-stopped", "img"}).restart.kind == RestartPolicy::Kind::UnlessStopped);
    CHECK(ok({"--restart", "no", "--rm", "img"}).restart.kind == RestartPolicy::Kind::No);
    CHECK(ok({"--stop-signal", "9", "img"}).stop_signal == "SIGKILL");
    CHECK(error({"--restart", "sometimes", "img"}) ==
          R"(invalid value "sometimes" for --restart: not no, on-failure[:N], always or unless-stopped)");
    CHECK(error({"--restart", "always:3", "img"}) == R"(invalid value "always:3" for --restart: only on-failure takes a retry count)");
    CHECK(error({"--restart", "on-failure:x", "img"}) ==
          R"(invalid value "on-failure:x" for --restart: the retry count is not a number)");
    CHECK(error({"--rm", "--restart", "always", "img"}) ==
          "--rm and --restart always conflict: a container removed at exit is not restarted");
    CHECK(error({"--stop-signal", "SIGNOPE", "img"}) == R"(invalid value "SIGNOPE" for --stop-signal: not a signal name or number)");
    CHECK(error({"--stop-timeout", "soon", "img"}) ==
          R"(invalid value "soon" for --stop-timeout: not a number of seconds (-1: no limit))");
}

TEST_CASE("run options: --runtime, --log-opt, --network, --publish") {
    auto o = ok({"--runtime", "/usr/bin/crun", "--log-opt", "max-size=10m", "--net", "host", "img"});
    CHECK(o.runtime == "/usr/bin/crun");
    CHECK(o.log_max_size == 10000000);
    CHECK(o.network == "host");
    CHECK(ok({"--network=none", "img"}).network == "none");
    CHECK(error({"--log-opt", "max-file=3", "img"}) == R"(invalid value "max-file=3" for --log-opt: only max-size=SIZE is supported)");
    CHECK(error({"--log-opt", "max-size=lots", "img"}) ==
          R"(invalid value "max-size=lots" for --log-opt: max-size is not a size (bytes, or a number with k, m or g))");
    CHECK(ok({"--network=none", "img"}).networks.empty());
    auto two = ok({"--network", "front", "--network", "back", "--ip", "10.1.0.9", "--network-alias", "web", "img"});
    CHECK(two.network == "front");
    CHECK(two.networks == std::vector<std::string>{"front", "back"});
    CHECK(two.ip == "10.1.0.9");
    CHECK(two.aliases == std::vector<std::string>{"web"});
    CHECK(ok({"--network", "container:db", "img"}).networks.empty());
    CHECK(error({"--network", "host", "--network", "front", "img"}) ==
          R"(invalid value "host" for --network: cannot be combined with other networks)");
    CHECK(error({"--network", "a b", "img"}) ==
          R"(invalid value "a b" for --network: not none, host, container:NAME or a network's name)");
    CHECK(error({"--network", "container:", "img"}) ==
          R"(invalid value "container:" for --network: container: needs a container's name or id)");
    CHECK(error({"--ip", "10.1.0.300", "img"}) == R"(invalid value "10.1.0.300" for --ip: not an IPv4 address)");
    CHECK(error({"--ip6", "10.1.0.3", "img"}) == R"(invalid value "10.1.0.3" for --ip6: not an IPv6 address)");
    CHECK(error({"--network", "none", "--ip", "10.1.0.3", "img"}) ==
          R"(invalid value "10.1.0.3" for --ip: needs a bridge or user network, not --network none)");
}

TEST_CASE("run options: -p and -P") {
    auto o = ok({"-p", "8080:80", "-p", "127.0.0.1:5353:53/udp", "-p", "9000", "-p", "[fd00::1]:8443:443",
                 "-p", "127.0.0.1::81", "-p", "7000-7001:70-71", "-P", "img"});
    CHECK(o.publish == std::vector<PublishRequest>{{"", 8080, 80, "tcp"},
                                                   {"127.0.0.1", 5353, 53, "udp"},
                                                   {"", 0, 9000, "tcp"},
                                                   {"fd00::1", 8443, 443, "tcp"},
                                                   {"127.0.0.1", 0, 81, "tcp"},
                                                   {"", 7000, 70, "tcp"},
                                                   {"", 7001, 71, "tcp"}});
    CHECK(o.publish_all);
    CHECK(error({"-p", "99999:80", "img"}) ==
          R"(invalid value "99999:80" for --publish: "99999" is not a port (1-65535) or a range of them)");
    CHECK(error({"-p", "abc", "img"}) ==
          R"(invalid value "abc" for --publish: "abc" is not a port (1-65535) or a range of them)");
    CHECK(error({"-p", "80/sctp", "img"}) ==
          R"(invalid value "80/sctp" for --publish: protocol "sctp" is not tcp or udp)");
    CHECK(error({"-p", "1.2.3:80:80", "img"}) ==
          R"(invalid value "1.2.3:80:80" for --publish: "1.2.3" is not an IP address)");
    CHECK(error({"-p", "[::1]:8443:443", "img"}) ==
          R"(invalid value "[::1]:8443:443" for --publish: ::1 cannot be published (the kernel routes no ::1 traffic into a container); use 127.0.0.1)");
    CHECK(error({"-p", "1-3:1-2", "img"}) ==
          R"(invalid value "1-3:1-2" for --publish: the host and container port ranges differ in length)");
    CHECK(error({"--network", "none", "-p", "80", "img"}) ==
          R"(invalid value "80" for --publish: ports cannot be published with --network none)");
    std::vector<std::string> notes;
    auto host = parse({"--network", "host", "-p", "80", "img"}, &notes);
    REQUIRE(host);
    CHECK(host->publish.empty());
    CHECK(notes == std::vector<std::string>{"-p 80: published ports are not needed with --network host (ignored)"});
}

TEST_CASE("run options: --dns, --dns-search, --dns-option, --add-host") {
    auto o = ok({"--dns", "192.0.2.53", "--dns-search", "example.com", "--dns-option", "ndots:2", "--add-host",
                 "db:10.0.0.5", "--add-host", "v6=[fd00::5]", "--add-host", "gw:host-gateway", "img"});
    CHECK(o.dns == std::vector<std::string>{"192.0.2.53"});
    CHECK(o.dns_search == std::vector<std::string>{"example.com"});
    CHECK(o.dns_options == std::vector<std::string>{"ndots:2"});
    CHECK(o.add_hosts == std::vector<std::string>{"db 10.0.0.5", "v6 fd00::5", "gw host-gateway"});
    CHECK(error({"--dns", "resolver", "img"}) == R"(invalid value "resolver" for --dns: not an IP address)");
    CHECK(error({"--add-host", "db", "img"}) == R"(invalid value "db" for --add-host: not NAME:IP)");
    CHECK(error({"--add-host", "db:nowhere", "img"}) ==
          R"(invalid value "db:nowhere" for --add-host: "nowhere" is not an IP address or host-gateway)");
}

TEST_CASE("run options: the JSON record round-trips exactly") {
    std::vector<std::string> notes;
    auto o = parse({"-dit", "--rm", "--name", "n1", "-e", "A=1", "-l", "k=v", "-w", "/w", "-u", "1:2", "--entrypoint", "",
                    "-h", "h", "-v", "/a:/b:ro,rshared", "-v", "vol:/v:nocopy", "--tmpfs", "/t:size=1m,mode=755,noexec",
                    "--read-only", "--privileged", "--init", "-m", "100m", "--memory-swap", "-1", "--cpus", "0.1",
                    "--pids-limit", "7", "--cap-add", "sys_admin", "--cap-drop", "ALL", "--security-opt",
                    "seccomp=unconfined", "--security-opt", "no-new-privileges", "--stop-signal", "HUP",
                    "--stop-timeout", "-1", "--runtime", "/r", "--log-opt", "max-size=1k", "--net", "front", "--ip", "10.1.0.2",
                    "--network-alias", "a", "--dns", "192.0.2.1", "--dns-search", "x.example", "--dns-option", "ndots:1",
                    "--add-host", "h:10.0.0.1", "-p", "127.0.0.1:80:8080/udp", "-P", "img",
                    "sh", "-c", "echo \"hi\""},
                   &notes);
    REQUIRE(o);
    auto text = json::write(to_json(*o));
    auto back = run_options_from_json(*json::parse(text));
    REQUIRE(back);
    CHECK(*back == *o);
    CHECK(json::write(to_json(*back)) == text);
    // on-failure keeps its count; the defaults round-trip too.
    auto o2 = ok({"--restart", "on-failure:5", "--cpus", "0.3", "img"});
    CHECK(*run_options_from_json(to_json(o2)) == o2);
    RunOptions empty;
    CHECK(*run_options_from_json(to_json(empty)) == empty);
    // A record from before networks ran without one.
    auto old = run_options_from_json(*json::parse(R"({"image": "img"})"));
    CHECK(old->network == "none");
    CHECK(old->networks.empty());
    CHECK_FALSE(run_options_from_json(to_json(empty)).value().entrypoint);

    auto bad = json::parse(R"({"image": 3})");
    CHECK(run_options_from_json(*bad).error().what() == "run options.image: expected string, got number");
    bad = json::parse(R"({"cpus": 1e999})");
    CHECK(run_options_from_json(*bad).error().what() == "run options.cpus: not a number above 0");
    bad = json::parse(R"({"mounts": [{"type": "nfs"}]})");
    CHECK(run_options_from_json(*bad).error().what() == R"(run options.mounts[0].type: unknown type "nfs")");
}

TEST_CASE("run options: arguments, env files and host values must be UTF-8") {
    CHECK(error({"--name", "ok", "img", "a\xff"}) == "argument 4 is not valid UTF-8");
    TempDir dir;
    write(dir.path + "/env", "A=\xc0\xaf\n");
    CHECK(error({"--env-file", dir.path + "/env", "img"}) ==
          "--env-file " + dir.path + R"(/env: line 1: invalid value "A" for --env-file: the value is not valid UTF-8)");
    ::setenv("BERTH_TEST_BAD_UTF8", "\xed\xa0\x80", 1);
    CHECK(error({"-e", "BERTH_TEST_BAD_UTF8", "img"}) ==
          R"(invalid value "BERTH_TEST_BAD_UTF8" for --env: the value is not valid UTF-8)");
    write(dir.path + "/labels", "a=\xff\n");
    CHECK(error({"--label-file", dir.path + "/labels", "img"}) == "--label-file " + dir.path + "/labels: line 1: not valid UTF-8");
    CHECK(ok({"-e", "A=caf\xc3\xa9", "img"}).env == std::vector<std::string>{"A=caf\xc3\xa9"});
}
