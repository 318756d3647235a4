// The bundle's config.json for a container: docker's default profile
// (capabilities, masked and read-only /proc paths, the default mounts, a
// deny-by-default seccomp filter) applied to RunOptions and the image config.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "libutil/error.hpp"
#include "libutil/json.hpp"
#include "manager/containers/options.hpp"

namespace berth::manager {

struct SpecInputs {
    const RunOptions& opts;
    // The image's config blob as stored (ImageRecord::config, parsed): its
    // "config" object gives Env, Entrypoint, Cmd, WorkingDir, User.
    const json::Value& image_config;
    std::string id;             // the container id (64 hex digits)
    std::string rootfs;         // the merged rootfs: root.path, and where users are looked up
    std::string container_dir;  // holds hostname, hosts, resolv.conf (bind-mounted over /etc/...)
    std::vector<ResolvedMount> mounts;  // -v/--mount/--tmpfs, volumes resolved, in order
    std::string init_path;      // with --init: the host binary bound at /run/berth-init
    std::string netns_path;     // with networks of its own: the namespace berth makes at start
};

// A bind or tmpfs request as a mount for SpecInputs::mounts; a volume with
// `volume_dir`, the host directory the volume code resolved it to (bound as
// a bind request would be). Binds: rbind, the propagation (rprivate by
// default), ro or rw. Tmpfs: docker's nosuid, nodev, noexec unless the
// request says suid, dev or exec, then mode= and size= when given.
ResolvedMount resolve_mount(const MountRequest& m, const std::string& volume_dir = "");

// The whole config.json. Errors: the user not in the image's passwd file,
// no command, an unreadable seccomp profile.
Result<json::Value> make_spec(const SpecInputs& in);

// Sets (or, with an empty path, removes) the path of the namespace of `type`
// in the config.json at `config_path`; writes only when that changes it.
Result<void> set_namespace_path(const std::string& config_path, const std::string& type, const std::string& path);

// Where an --init binary appears in the container.
inline constexpr const char* kInitPath = "/run/berth-init";

// Pieces of make_spec, exposed for the tests and for `exec`.
//
// The process arguments by docker's rules: --entrypoint replaces the image's
// Entrypoint and drops its Cmd; a command after IMAGE replaces Cmd.
Result<std::vector<std::string>> container_args(const RunOptions& o, const json::Value& image_config);
// image Env, PATH when missing, HOSTNAME, TERM with -t, then -e/--env-file,
// later values replacing earlier ones of the same name in place.
std::vector<std::string> container_env(const RunOptions& o, const json::Value& image_config,
                                       const std::string& hostname);
// docker's default set with --cap-add/--cap-drop; ALL and --privileged give
// host_capabilities().
std::vector<std::string> container_capabilities(const RunOptions& o);
// The capabilities both the kernel and berth's bounding set have: what a
// container can be given at most.
const std::vector<std::string>& host_capabilities();

// --stop-signal, else the image's StopSignal, else SIGTERM, as a signal
// number. An image's signal that is not one is an error naming it.
Result<int> stop_signal(const RunOptions& o, const json::Value& image_config);

struct ResolvedUser {
    uint32_t uid = 0, gid = 0;
    std::vector<uint32_t> additional_gids;  // groups of /etc/group listing the user
    std::string home = "/";
};
// "name", "uid", "name:group", "uid:gid" ("" = root) through the rootfs's
// /etc/passwd and /etc/group, opened with openat2(RESOLVE_IN_ROOT) so that a
// symlink in the image cannot make us read the host's files.
Result<ResolvedUser> resolve_user(const std::string& rootfs, const std::string& user);

// Berth's default profile in linux.seccomp form (seccomp_default.cpp).
json::Value default_seccomp_profile();
// A docker (names/archMap/includes/excludes) or OCI seccomp profile file,
// turned into linux.seccomp; rules conditional on capabilities are kept when
// `caps` (the container's) satisfy them. Errors name the file.
Result<json::Value> load_seccomp_profile(const std::string& path, const std::vector<std::string>& caps = {});

}  // namespace berth::manager
