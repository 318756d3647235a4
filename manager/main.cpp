// berth: the manager (images, containers, volumes, networks).
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "libutil/log.hpp"
#include "libutil/strings.hpp"
#include "manager/cli/commands.hpp"
#include "manager/containers/events.hpp"
#include "manager/images/blob_store.hpp"
#include <unistd.h>

using namespace berth;
using namespace berth::manager;

namespace {

constexpr const char* kUsage = R"(Usage: berth [global options] COMMAND [options] [arguments]

Commands:
  attach          attach to a running container's stdio
  checkpoint      dump running containers to disk with CRIU (-R: leave running, -e: export)
  container       container commands (ls, inspect, prune, ... as below)
  cp              copy files out of or into a container (CONTAINER:PATH, tar with -)
  create          create a container (not started)
  diff            list the files a container added (A), changed (C) or deleted (D)
  exec            run a command in a running container
  kill            send a signal to a container
  logs            show a container's output
  migrate         move a container to another berth root, here or over ssh (checkpoint, restore there, rm)
  pause, unpause  freeze and thaw a container
  rename          rename a container
  port            list a container's published ports
  ps              list containers (-a: all)
  restart         stop and start a container
  restore         restore a container from its checkpoint (-n: as a new one, -i: from an archive)
  rm              remove containers (-f: running ones too, -v: their anonymous volumes)
  run             create and start a container
  start           start created or stopped containers
  stats           CPU, memory and pids of running containers (--no-stream: once)
  stop            stop containers (stop signal, then SIGKILL after a timeout)
  top             a container's processes (ps options may follow)
  wait            wait for containers to exit, print their exit codes
  commit          make an image from a container's changes (a new layer on its image)
  history         show the history of an image
  images          list images
  inspect         show containers' or images' details as JSON
  import          make a one-layer image from a rootfs tarball
  image inspect   show an image's details as JSON
  image mount     mount images read-only (no IMAGE: list the mounted ones)
  image unmount   unmount images (-a: all, -f: whatever the mount count)
  load            load an image from an OCI layout or docker-archive tar
  login           log in to a registry (stores the credentials)
  logout          remove a registry's stored credentials
  pull            pull an image from a registry
  push            push an image to a registry
  rmi             remove an image name (and the image when no name is left)
  save            write images to a docker-archive, oci-archive or OCI layout dir
  tag, untag      add or remove names of an image
  version         print the version
  volume          create, list, inspect, remove and prune volumes
  network         create, list, inspect, remove, prune, connect and disconnect networks
  events          what happened to containers, images, volumes and networks (replayed, followed)
  serve           serve the Docker Engine API on a socket (docker CLI and SDKs drive berth)

Global options:
  --root DIR      where images and metadata are stored (default: /var/lib/berth)
  --runroot DIR   runtime state: shim sockets, exit files, locks (default: /run/berth,
                  or /run/berth-HASH for another --root)
  --registries-conf FILE  registries configuration (default: /etc/berth/registries.conf)
  --debug         log debug messages to stderr
  --help, -h      show this help
)";

struct Verb {
    const char* name;
    int (*fn)(const GlobalOptions&, int, char**, int);
};
constexpr Verb kVerbs[] = {
    {"version", cmd_version}, {"load", cmd_load}, {"images", cmd_images}, {"rmi", cmd_rmi}, {"image", cmd_image},
    {"tag", cmd_tag},         {"untag", cmd_untag}, {"save", cmd_save},
    {"import", cmd_import},   {"history", cmd_history}, {"commit", cmd_commit},
    {"pull", cmd_pull},       {"login", cmd_login}, {"logout", cmd_logout}, {"push", cmd_push},
    {"run", cmd_run},         {"create", cmd_create}, {"start", cmd_start}, {"stop", cmd_stop},
    {"restart", cmd_restart}, {"kill", cmd_kill},     {"pause", cmd_pause}, {"unpause", cmd_unpause},
    {"rm", cmd_rm},           {"wait", cmd_wait},     {"logs", cmd_logs},   {"attach", cmd_attach},
    {"exec", cmd_exec},       {"ps", cmd_ps},         {"container", cmd_container}, {"inspect", cmd_inspect},
    {"top", cmd_top},         {"cp", cmd_cp},         {"stats", cmd_stats},   {"rename", cmd_rename}, {"diff", cmd_diff},
    {"port", cmd_port},
    {"checkpoint", cmd_checkpoint}, {"restore", cmd_restore}, {"migrate", cmd_migrate},
    {"volume", cmd_volume},
    {"network", cmd_network},
    {"serve", cmd_serve},     {"events", cmd_events},
    {"rootfs", cmd_rootfs},  // internal, for scripts and tests: see berth(1)
};

int usage_error(const std::string& msg) {
    return fail(Error{0, msg});
}

// registries.conf: the flag, else $BERTH_REGISTRIES_CONF, else the default
// path (which may be missing).
Result<void> load_registries(GlobalOptions& g, std::string file) {
    bool missing_ok = false;
    if (file.empty())
        if (const char* env = std::getenv("BERTH_REGISTRIES_CONF"); env && *env) file = env;
    if (file.empty()) {
        file = registry::kDefaultRegistriesConf;
        missing_ok = true;
    }
    g.registries = TRY(registry::load_registries_conf(file, missing_ok));
    if (!g.registries.default_registry.empty()) g.refs.registry = g.registries.default_registry;
    return {};
}

// /run/berth for the default root; another root gets a run root of its own,
// named after it and short: unix socket paths under it (the runtime's
// console socket) must fit in 108 bytes.
std::string default_runroot(const std::string& root) {
    if (root == "/var/lib/berth") return "/run/berth";
    std::string digest = sha256_digest(root);  // "sha256:<hex>"
    return "/run/berth-" + digest.substr(7, 12);
}


}  // namespace

int main(int argc, char** argv) {
    ::signal(SIGPIPE, SIG_IGN);
    GlobalOptions g;
    // A caller that ignored SIGCHLD (SIG_IGN survives execve) would have our
    // children reaped by the kernel and their exit statuses lost.
    ::signal(SIGCHLD, SIG_DFL);
    std::string registries_conf;
    log::Config lc;
    lc.program = "berth";
    // Global flags come before the verb, as with podman.
    int i = 1;
    for (; i < argc; ++i) {
        std::string a = argv[i];
        if (a.size() < 2 || a[0] != '-') break;
        if (a == "--root" || a.starts_with("--root=")) {
            if (a.size() > 6) {
                g.root = a.substr(7);
            } else {
                if (i + 1 >= argc) return usage_error("flag needs an argument: --root");
                g.root = argv[++i];
            }
            if (g.root.empty()) return usage_error("--root: must not be empty");
        } else if (a == "--runroot" || a.starts_with("--runroot=")) {
            if (a.size() > 9) {
                g.runroot = a.substr(10);
            } else {
                if (i + 1 >= argc) return usage_error("flag needs an argument: --runroot");
                g.runroot = argv[++i];
            }
            if (g.runroot.empty()) return usage_error("--runroot: must not be empty");
        } else if (a == "--registries-conf" || a.starts_with("--registries-conf=")) {
            if (a.size() > 17) {
                registries_conf = a.substr(18);
            } else {
                if (i + 1 >= argc) return usage_error("flag needs an argument: --registries-conf");
                registries_conf = argv[++i];
            }
            if (registries_conf.empty()) return usage_error("--registries-conf: must not be empty");
        } else if (a == "--debug") {
            g.debug = true;
        } else if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        } else if (a == "--version" || a == "-v") {
            std::printf("berth version %s\n", PACKAGE_VERSION);
            return 0;
        } else {
            return usage_error("unknown flag: " + a);
        }
    }
    // Absolute: the bundle's root.path and the shim's paths are used from
    // other directories.
    g.root = absolute_path(g.root);
    g.runroot = g.runroot.empty() ? default_runroot(g.root) : absolute_path(g.runroot);
    lc.debug = g.debug;
    log::configure(lc);
    set_event_runroot(g.runroot);
    if (auto r = load_registries(g, registries_conf); !r) return fail(r.error());
    if (i >= argc) {
        std::fputs(kUsage, stdout);
        return 0;
    }
    std::string verb = argv[i];
    if (verb == "help") {
        std::fputs(kUsage, stdout);
        return 0;
    }
    for (const auto& v : kVerbs)
        if (verb == v.name) return v.fn(g, argc, argv, i + 1);
    return usage_error("unknown command: " + verb);
}
