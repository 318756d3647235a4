// One function per berth verb (manager/cli/VERB.cpp). Each returns the
// process exit code and reports its own errors as one line on stderr.
#pragma once
#include <optional>
#include <string>

#include "libutil/error.hpp"
#include "manager/images/image_store.hpp"
#include "manager/images/reference.hpp"
#include "manager/storage/rootfs.hpp"
#include "manager/registry/config.hpp"

namespace berth::manager {

struct GlobalOptions {
    std::string root = "/var/lib/berth";
    // Runtime state on a tmpfs (shim sockets, exit files, locks, the
    // runtime's --root): --runroot; /run/berth for the default root, else
    // /run/berth-<12 hex of sha256(ROOT)>, so two roots never share state.
    std::string runroot;
    bool debug = false;
    // Until a registries configuration exists, short names resolve to
    // "localhost/", as podman names the images it builds or loads locally.
    ReferenceDefaults refs{"localhost", ""};
    // registries.conf (--registries-conf, $BERTH_REGISTRIES_CONF); its
    // default-registry replaces "localhost" above.
    registry::RegistriesConfig registries;
};

// podman's exit code for an error in the engine itself, usage errors included.
constexpr int kExitError = 125;

int cmd_version(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_load(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_images(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_rmi(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_image(const GlobalOptions& g, int argc, char** argv, int start);
// Local image verbs: tag.cpp, save.cpp, import.cpp, history.cpp, rmi.cpp (prune).
int cmd_tag(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_untag(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_save(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_import(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_history(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_image_prune(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_image_mount(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_image_unmount(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_rootfs(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_commit(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_volume(const GlobalOptions& g, int argc, char** argv, int start);
// network.cpp: create, ls, inspect, rm, prune; connect and disconnect below.
int cmd_network(const GlobalOptions& g, int argc, char** argv, int start);
// events.cpp: the event log, replayed and followed.
int cmd_events(const GlobalOptions& g, int argc, char** argv, int start);

// serve.cpp: the Docker Engine API on a socket.
int cmd_serve(const GlobalOptions& g, int argc, char** argv, int start);

// The rootfs storage, after cleanup() repaired what an interrupted berth left.
Result<RootfsStore> open_storage(const GlobalOptions& g);
// Before rmi deletes an image: an error naming the rootfs or the read-only
// mount that uses it; with `force`, those are removed or unmounted instead.
Result<void> release_image_users(const GlobalOptions& g, const std::string& image_id, const std::string& arg,
                                 bool force);
// image prune (rmi.cpp): the dangling images (with `all`: every image) that
// no container's rootfs uses and none mounts are removed, with the blobs and
// layers only they used; the first error of a removal that failed (the
// others went on).
struct ImagePrune {
    std::vector<ImageRecord> removed;
    std::optional<Error> error;
};
Result<ImagePrune> prune_images(const GlobalOptions& g, bool all);
// Containers: container.cpp, ps.cpp.
int cmd_run(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_create(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_start(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_stop(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_restart(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_kill(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_pause(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_checkpoint(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_restore(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_migrate(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_unpause(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_rm(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_wait(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_logs(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_attach(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_exec(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_ps(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_container_inspect(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_container(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_inspect(const GlobalOptions& g, int argc, char** argv, int start);
// container_tools.cpp
int cmd_top(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_stats(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_rename(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_diff(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_port(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_network_connect(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_network_disconnect(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_network_reload(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_container_prune(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_cp(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_pull(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_push(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_login(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_logout(const GlobalOptions& g, int argc, char** argv, int start);

struct Args;
// --tls-verify[=BOOL]: nullopt when not given.
Result<std::optional<bool>> tls_verify_flag(const Args& a);

// The image ARG names: a name ("busybox", "localhost/busybox:1") or an id
// (prefix). Names win over ids, as in podman. Errors: "ARG: image not known".
Result<std::string> find_image(ImageStore& db, const GlobalOptions& g, const std::string& arg);
// The same, with the image's record.
Result<ImageRecord> find_image_record(ImageStore& db, const GlobalOptions& g, const std::string& arg);
// "4.41 MB" (decimal units, as podman) and "3 days ago" from an RFC 3339 time.
std::string human_size(int64_t bytes);
std::string human_age(const std::string& created);
// The first 12 hex digits of an id.
std::string short_id(const std::string& id);

// Prints "berth: MESSAGE" (through the log) and returns kExitError.
int fail(const Error& e);

}  // namespace berth::manager
