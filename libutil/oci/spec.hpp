// The OCI runtime spec (1.2, Linux) as typed C++ values, parsed from a
// bundle's config.json. Parsing checks types and names the field of any error:
//   "config.json: process.args[1]: expected string, got number"
// Semantic checks that need the host (paths exist, ids...) live in runtime/.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "libutil/error.hpp"
#include "libutil/json.hpp"

namespace berth::oci {

struct User {
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::optional<uint32_t> umask;
    std::vector<uint32_t> additional_gids;
    std::string username;  // accepted, unused on Linux
};

struct Capabilities {
    // Names as in the spec ("CAP_SYS_ADMIN"); validated by the runtime.
    std::vector<std::string> bounding, effective, inheritable, permitted, ambient;
};

struct Rlimit {
    std::string type;  // "RLIMIT_NOFILE"
    uint64_t hard = 0;
    uint64_t soft = 0;
};

struct ConsoleSize {
    uint32_t height = 0;
    uint32_t width = 0;
};

struct Scheduler {
    std::string policy;  // SCHED_OTHER, SCHED_FIFO, ...
    int32_t nice = 0;
    int32_t priority = 0;
    std::vector<std::string> flags;
    uint64_t runtime = 0, deadline = 0, period = 0;
};

struct IoPriority {
    std::string io_class;  // IOPRIO_CLASS_RT|BE|IDLE
    int32_t priority = 0;
};

struct Process {
    bool terminal = false;
    std::optional<ConsoleSize> console_size;
    User user;
    std::vector<std::string> args;
    std::string command_line;  // Windows only; kept for completeness
    std::vector<std::string> env;
    std::string cwd;
    std::optional<Capabilities> capabilities;
    std::vector<Rlimit> rlimits;
    bool no_new_privileges = false;
    std::string apparmor_profile;
    std::optional<int> oom_score_adj;
    std::string selinux_label;
    std::optional<Scheduler> scheduler;
    std::optional<IoPriority> io_priority;
};

struct Root {
    std::string path;
    bool readonly = false;
};

struct Mount {
    std::string destination;
    std::string type;
    std::string source;
    std::vector<std::string> options;
    struct IdMap {
        uint32_t container_id = 0, host_id = 0, size = 0;
    };
    std::vector<IdMap> uid_mappings, gid_mappings;
};

struct Hook {
    std::string path;
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::optional<int> timeout;  // seconds, > 0
};

struct Hooks {
    std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart,
        poststop;
};

struct Namespace {
    std::string type;  // pid, network, mount, ipc, uts, user, cgroup, time
    std::string path;  // empty: create a new one
};

struct IdMapping {
    uint32_t container_id = 0, host_id = 0, size = 0;
};

struct Device {
    std::string type;  // c, b, u, p
    std::string path;
    int64_t major = 0, minor = 0;
    std::optional<uint32_t> file_mode;
    std::optional<uint32_t> uid, gid;
};

struct DeviceCgroupRule {
    bool allow = false;
    std::string type;  // a, c, b ("" = all)
    std::optional<int64_t> major, minor;
    std::string access;  // rwm
};

struct Resources {
    std::vector<DeviceCgroupRule> devices;
    struct Memory {
        std::optional<int64_t> limit, reservation, swap, kernel, kernel_tcp;
        std::optional<uint64_t> swappiness;
        std::optional<bool> disable_oom_killer, use_hierarchy, check_before_update;
    };
    std::optional<Memory> memory;
    struct Cpu {
        std::optional<uint64_t> shares;
        std::optional<int64_t> quota;
        std::optional<uint64_t> burst, period;
        std::optional<int64_t> realtime_runtime;
        std::optional<uint64_t> realtime_period;
        std::string cpus, mems;
        std::optional<int64_t> idle;
    };
    std::optional<Cpu> cpu;
    struct Pids {
        int64_t limit = 0;
    };
    std::optional<Pids> pids;
    struct BlockIoDevice {
        int64_t major = 0, minor = 0;
        std::optional<uint16_t> weight, leaf_weight;  // weightDevice
        uint64_t rate = 0;                            // throttle*Device
    };
    struct BlockIo {
        std::optional<uint16_t> weight, leaf_weight;
        std::vector<BlockIoDevice> weight_device, throttle_read_bps_device,
            throttle_write_bps_device, throttle_read_iops_device, throttle_write_iops_device;
    };
    std::optional<BlockIo> block_io;
    struct HugepageLimit {
        std::string page_size;
        uint64_t limit = 0;
    };
    std::vector<HugepageLimit> hugepage_limits;
    struct Network {
        std::optional<uint32_t> class_id;
        std::vector<std::pair<std::string, uint32_t>> priorities;
    };
    std::optional<Network> network;
    struct Rdma {
        std::optional<uint32_t> hca_handles, hca_objects;
    };
    std::map<std::string, Rdma> rdma;
    std::map<std::string, std::string> unified;
};

struct Seccomp {
    // Kept as parsed JSON: the seccomp module (its own issue) interprets it.
    json::Value raw;
};

struct Linux {
    std::vector<Namespace> namespaces;
    std::vector<IdMapping> uid_mappings, gid_mappings;
    std::map<std::string, std::pair<int64_t, uint32_t>> time_offsets;  // clock -> (secs, nanosecs)
    std::vector<Device> devices;
    std::string cgroups_path;
    std::optional<Resources> resources;
    std::string rootfs_propagation;
    std::vector<std::string> masked_paths, readonly_paths;
    std::string mount_label;
    std::map<std::string, std::string> sysctl;
    std::optional<Seccomp> seccomp;
    std::optional<std::string> personality_domain;  // LINUX, LINUX32
    std::vector<std::string> personality_flags;
    std::string intel_rdt_clos_id;
    bool has_intel_rdt = false;
};

struct Spec {
    std::string oci_version;
    std::optional<Process> process;
    Root root;
    bool has_root = false;
    std::string hostname, domainname;
    std::vector<Mount> mounts;
    Hooks hooks;
    std::map<std::string, std::string> annotations;
    std::optional<Linux> linux;

    // Whether linux.namespaces has an entry of this type.
    const Namespace* find_namespace(std::string_view type) const;
};

// Parses config.json text. `file` names it in errors ("config.json").
// Unknown fields are ignored, wrong types are errors naming the field path.
// ociVersion must be present and have major version 1.
Result<Spec> parse_spec(std::string_view text, std::string_view file = "config.json");
Result<Spec> parse_spec(const json::Value& doc, std::string_view file = "config.json");

// A process object on its own, as `exec --process FILE` takes it (runc's
// process.json), checked as config.json's process is; errors are prefixed
// by `file`: "p.json: process.args: must not be empty".
Result<Process> parse_process(std::string_view text, std::string_view file);

// Reads and parses BUNDLE/config.json; "open BUNDLE/config.json: No such file".
Result<Spec> load_spec(const std::string& bundle_dir);

// The default config.json written by `spec` (the same content as runc's),
// and with --rootless the rootless variant (user namespace, mappings for the
// caller's uid/gid, no network namespace, no cgroup limits).
json::Value default_spec(bool rootless, uid_t uid, gid_t gid);

// The OCI runtime-spec version this build implements.
inline constexpr const char* kSpecVersion = "1.2.0";

}  // namespace berth::oci
