// What `berth create`/`run` were asked for, parsed from the command line
// (run_options.cpp), and the mounts they end up with once volumes are
// resolved (manager/volumes). The spec generator (spec.cpp) turns both, plus
// the image config, into the bundle's config.json.
//
// Kept in the container's record as JSON (to_json/from_json in
// run_options.cpp), so `start`, `restart` and `inspect` see what `create` saw.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "libutil/error.hpp"
#include "libutil/json.hpp"

namespace berth::manager {

// One -v, --mount or --tmpfs, as the user wrote it (validated).
struct MountRequest {
    enum class Type { Bind, Volume, Tmpfs };
    Type type = Type::Volume;
    std::string source;       // bind: absolute host path; volume: name, "" for an anonymous one; tmpfs: ""
    std::string destination;  // absolute path in the container
    bool read_only = false;
    // Bind: "rprivate"/"private"/"rshared"/"shared"/"rslave"/"slave" ("" = rprivate, as docker).
    std::string propagation;
    // Volume: nocopy (no copy-up from the image). Tmpfs: size (bytes, 0 = kernel default), mode (0 = 1777).
    bool nocopy = false;
    uint64_t tmpfs_size = 0;
    uint32_t tmpfs_mode = 0;
    std::vector<std::string> extra_options;  // other mount options (tmpfs: "noexec", ...)
    // Bind from -v: a missing source dir is created (docker); from --mount it is an error.
    bool create_host_dir = false;
};

// One -p/--publish (a range is expanded into one request per port).
struct PublishRequest {
    std::string host_ip;         // "" = every address of the host
    uint16_t host_port = 0;      // 0 = a free port, chosen at start
    uint16_t container_port = 0;
    std::string proto = "tcp";   // "tcp" or "udp"
    bool operator==(const PublishRequest&) const = default;
};

struct RestartPolicy {
    enum class Kind { No, OnFailure, Always, UnlessStopped };
    Kind kind = Kind::No;
    int max_retries = 0;  // on-failure:N; 0 = no limit
};

struct RunOptions {
    std::string image;                // as the user wrote it
    std::vector<std::string> command;  // after IMAGE; empty: the image's Cmd
    std::optional<std::vector<std::string>> entrypoint;  // --entrypoint; "" gives an empty one
    bool detach = false, interactive = false, tty = false, remove = false;
    std::string name;      // --name; "" = generated
    std::string hostname;  // -h; "" = the first 12 hex digits of the id
    std::string workdir;   // -w; "" = the image's WorkingDir, else "/"
    std::string user;      // -u: "uid", "name", "uid:gid", "name:group"; "" = the image's User
    std::vector<std::string> env;  // KEY=VALUE from -e and --env-file, in order ("-e KEY" takes the host's)
    std::map<std::string, std::string> labels;
    std::vector<MountRequest> mounts;  // -v, --mount, --tmpfs, in order
    bool read_only = false, privileged = false, no_new_privileges = false, init = false;
    std::optional<int64_t> memory;      // bytes
    std::optional<int64_t> memory_swap;  // bytes, -1 = unlimited (--memory-swap)
    std::optional<double> cpus;         // --cpus 1.5 (quota = cpus * 100000 per 100000 us)
    std::optional<int64_t> pids_limit;  // -1 = unlimited
    std::vector<std::string> cap_add, cap_drop;  // "CAP_NET_ADMIN" (normalised, upper case, CAP_ prefix) or "ALL"
    std::string seccomp;    // "" = the default profile, "unconfined", or a JSON profile file's path
    RestartPolicy restart;
    std::string stop_signal;          // "" = the image's StopSignal, else SIGTERM
    std::optional<int> stop_timeout;  // seconds; "" = 10
    std::string runtime;              // --runtime; "" = berth-runtime
    uint64_t log_max_size = 0;        // --log-opt max-size=...; 0 = no rotation
    // --network: "bridge" (the default network), "none", "host",
    // "container:NAME", or a user network's name. `networks` holds every
    // network the container joins at create (bridge and user networks only;
    // several --network flags give eth0, eth1, ...); `network` is the first.
    std::string network = "bridge";
    std::vector<std::string> networks = {"bridge"};
    std::string ip, ip6;                   // --ip, --ip6: on the first network
    std::vector<std::string> aliases;      // --network-alias, on every user network
    std::vector<std::string> dns, dns_search, dns_options;  // --dns, --dns-search, --dns-option
    std::vector<std::string> add_hosts;    // --add-host NAME:IP, as "NAME IP" ("host-gateway" kept)
    std::vector<PublishRequest> publish;   // -p
    bool publish_all = false;              // -P: the image's ExposedPorts, to free ports
    std::string pull = "missing";     // --pull missing|never (always: pull before every run)
    std::optional<bool> tls_verify;   // --tls-verify for that pull; default: registries.conf
};

// A mount ready for config.json: volumes resolved to their host dirs.
struct ResolvedMount {
    std::string destination;
    std::string type;    // "bind" or "tmpfs"
    std::string source;  // host path ("tmpfs" for tmpfs)
    std::vector<std::string> options;
};

}  // namespace berth::manager
