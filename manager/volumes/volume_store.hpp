// Volumes: directories the manager keeps for containers, outside any rootfs,
// as docker's "local" volume driver keeps them.
//
// On disk (ROOT is --root, /var/lib/berth by default):
//   ROOT/volumes/NAME/_data        what containers see (the mount source)
//   ROOT/volumes/NAME/initialised  the copy-up from an image is done (below)
// In berth.db (schema 3): `volumes` (name, driver, options, labels,
// anonymous, created) and `container_volumes` (container, volume,
// destination). container_volumes references volumes(name) without cascade,
// so SQLite itself refuses to delete a volume a container uses.
//
// Options, as docker's local driver takes them (`-o KEY=VALUE`):
//   type=tmpfs,device=tmpfs,o=size=64m   a tmpfs mounted on _data while a
//                                        container uses the volume
//   type=none,o=bind,device=/host/dir    the host dir bind-mounted on _data
// Both are mounted by prepare_volumes and unmounted when the last container
// using the volume is removed (release_volumes) or by `volume rm`.
//
// Copy-up (docker's): the first time a volume is used by a container at a
// path where the image has content, and the volume is empty, that content
// (files, dirs, symlinks, devices, owners, modes, xattrs, times) is copied
// into it, read through openat2(RESOLVE_IN_ROOT) so no symlink in the image
// can lead outside the rootfs. The "initialised" marker makes it happen once;
// `nocopy` skips it.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "libutil/error.hpp"
#include "manager/containers/options.hpp"
#include "manager/images/image_store.hpp"

namespace berth::manager {

struct VolumeRecord {
    std::string name;
    std::string driver = "local";
    std::map<std::string, std::string> options;  // -o KEY=VALUE
    std::map<std::string, std::string> labels;   // -l KEY=VALUE
    bool anonymous = false;
    std::string created;  // RFC 3339
};

// docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (two characters at least).
Result<void> validate_volume_name(const std::string& name);
// Checks the driver ("local" only) and its options (see above).
Result<void> validate_volume_options(const std::string& driver, const std::map<std::string, std::string>& options);

class VolumeStore {
public:
    // Uses `db`'s connection (schema 3 has the tables); `root` is --root.
    VolumeStore(ImageStore& db, std::string root) : db_(db), root_(std::move(root)) {}

    // Validates and creates a volume and its directory. Errors when the name
    // is taken ("volume NAME already exists").
    Result<void> create(const VolumeRecord& v);
    Result<std::optional<VolumeRecord>> get(const std::string& name);
    // Sorted by name.
    Result<std::vector<VolumeRecord>> list();
    // The containers (ids) that use the volume, sorted.
    Result<std::vector<std::string>> users(const std::string& name);
    // Removes the volume (unmounting it first). A volume in use is an error
    // ("volume NAME is in use by container ID"), as with docker, whatever
    // `force`; `force` makes a missing volume no error.
    Result<void> remove(const std::string& name, bool force);
    // Removes the unused volumes: anonymous ones, or every one with `all`.
    // Returns the names removed.
    Result<std::vector<std::string>> prune(bool all);

    // ROOT/volumes/NAME and ROOT/volumes/NAME/_data.
    std::string dir(const std::string& name) const;
    std::string data_dir(const std::string& name) const { return dir(name) + "/_data"; }

private:
    ImageStore& db_;
    std::string root_;
};

// ---- What the container lifecycle calls (create/run, start, rm) ----

// Every volume step of a new container that touches the database, and
// nothing else: runs INSIDE the caller's write transaction (it opens none),
// after the container's row is inserted (container_volumes references it).
// Named volumes that do not exist yet are created (docker does so
// implicitly), an anonymous one for each `-v /dst` and for each image VOLUME
// (`image_volumes`: the keys of the image config's Volumes) no request
// covers; container_volumes rows tie them to `container_id`. A --mount bind
// whose source does not exist is an error ("bind source path does not exist:
// /x"). Returns the mounts for config.json, in request order then image
// volumes: bind -> the host path, volume -> ROOT/volumes/NAME/_data (both
// "bind" mounts with "rbind"), tmpfs -> "tmpfs".
Result<std::vector<ResolvedMount>> attach_volumes(ImageStore& db, const std::string& root,
                                                  const std::string& container_id,
                                                  const std::vector<MountRequest>& requests,
                                                  const std::vector<std::string>& image_volumes);

// After the transaction committed and the rootfs is mounted at `rootfs`
// (its merged dir): creates the volumes' directories, the missing host dirs
// of `-v` binds (MountRequest::create_host_dir), mounts tmpfs and bind-device
// volumes, and does the copy-up. Idempotent: call it at create and before
// every start (a reboot drops the tmpfs and bind mounts).
Result<void> prepare_volumes(ImageStore& db, const std::string& root, const std::string& container_id,
                             const std::string& rootfs, const std::vector<MountRequest>& requests);

// What a container uses, read before its row is deleted (the row's cascade
// drops its container_volumes rows).
struct VolumeUse {
    std::string name;
    bool anonymous = false;
};
Result<std::vector<VolumeUse>> container_volumes(ImageStore& db, const std::string& container_id);

// After the container's row is deleted (outside any transaction): unmounts
// the volumes of `uses` no container uses any more and, with
// `remove_anonymous` (`rm -v`), removes the anonymous ones among them.
Result<void> release_volumes(ImageStore& db, const std::string& root, const std::vector<VolumeUse>& uses,
                             bool remove_anonymous);

// The copy-up itself: copies the directory `path` of the tree at `rootfs`
// (resolved inside it) into `dest_dir`. A missing path or one that is not a
// directory copies nothing. Exposed for the tests.
Result<void> copy_up(const std::string& rootfs, const std::string& path, const std::string& dest_dir);

}  // namespace berth::manager
