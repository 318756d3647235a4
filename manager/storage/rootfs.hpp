// Container root filesystems: a writable layer over an image, mounted with
// overlayfs, and read-only mounts of images for inspection.
//
// On disk (ROOT is --root, /var/lib/berth by default):
//   ROOT/containers/<id>/upper    the rootfs's own changes (overlay upperdir)
//   ROOT/containers/<id>/work     overlay's workdir
//   ROOT/containers/<id>/merged   the mount point: the container's "/"
//   ROOT/image-mounts/<image hex> a read-only mount of an image's layers
//   ROOT/empty/{0,1}              empty lower dirs: an image without layers
//                                 (scratch), and the second lower dir a
//                                 read-only mount of one layer needs
// A rootfs id is a container id: the container (issue: containers) keeps its
// bundle and logs in the same ROOT/containers/<id>/ and its record says which
// rootfs it runs on; the rootfs record here is what owns the directory.
//
// In berth.db (schema 2): `rootfs` (id, image, mount count) and
// `image_mounts` (image, mount count). Both reference images(id) without
// cascade, so an image in use cannot be deleted.
//
// Mount counts make two users of one mount safe: mount() mounts on the first
// call and counts the rest; unmount() unmounts on the last. Every change
// happens under ROOT/storage.lock (flock), so two berth processes never mount
// one rootfs twice. cleanup() repairs what a killed berth left: a record with
// a count whose mount is gone is mounted again; a directory without a record
// is unmounted and removed; a record without a directory is dropped.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libutil/error.hpp"
#include "libutil/fd.hpp"
#include "manager/images/image_store.hpp"
#include "manager/images/store_lock.hpp"

namespace berth::manager {

struct RootfsRecord {
    std::string id;        // 64 hex digits
    std::string image_id;  // "sha256:..."
    std::string created;   // RFC 3339
    int64_t mount_count = 0;
};

struct ImageMount {
    std::string image_id;
    std::string path;
    int64_t mount_count = 0;
};

// What keeps an image from being removed.
struct ImageUsers {
    std::vector<std::string> rootfs;  // rootfs (container) ids
    bool mounted = false;             // a read-only image mount
};

class RootfsStore {
public:
    static Result<RootfsStore> open(const std::string& root);

    // A new, unmounted rootfs over `image_id` (a full "sha256:..." id), with
    // the id given (a container's) or a random one.
    Result<std::string> create(const std::string& image_id, std::string id = "");
    // Mounts (or counts one more user of) the rootfs; returns the merged dir.
    // `volatile_upper`: see OverlaySpec (for a container run with --rm).
    Result<std::string> mount(const std::string& id, bool volatile_upper = false);
    // One user less; the last one (or `force`) unmounts. Unmounted: no error.
    Result<void> unmount(const std::string& id, bool force);
    // Unmounts whatever the count, then drops the record and the directory.
    Result<void> remove(const std::string& id);
    Result<std::optional<RootfsRecord>> get(const std::string& id);
    Result<std::vector<RootfsRecord>> list();
    std::string dir(const std::string& id) const;
    std::string upper_dir(const std::string& id) const { return dir(id) + "/upper"; }
    std::string merged_dir(const std::string& id) const { return dir(id) + "/merged"; }

    // A read-only overlay of the image's layers, counted like a rootfs mount.
    Result<std::string> mount_image(const std::string& image_id);
    // Returns false when the image was not mounted.
    Result<bool> unmount_image(const std::string& image_id, bool force);
    Result<std::vector<ImageMount>> image_mounts();

    Result<ImageUsers> users(const std::string& image_id);
    // The image's layer dirs, top first, padded with empty dirs to `min_count`.
    Result<std::vector<std::string>> lower_dirs(const std::string& image_id, size_t min_count);

    // Repairs what an interrupted berth left (see above). Cheap when there is
    // nothing to do: one directory read and a stat per rootfs.
    Result<void> cleanup();

    ImageStore& images() { return db_; }
    const std::string& root() const { return root_; }

private:
    RootfsStore(ImageStore db, std::string root) : db_(std::move(db)), root_(std::move(root)) {}
    Result<StoreLock> lock();
    Result<void> mount_rootfs(const RootfsRecord& r, bool volatile_upper);
    Result<void> mount_image_at(const std::string& image_id, const std::string& path);
    Result<void> set_count(const char* table_sql, const std::string& key, int64_t count);
    std::string image_mount_dir(const std::string& image_id) const;
    Result<void> cleanup_rootfs();
    Result<void> cleanup_image_mounts();

    ImageStore db_;
    std::string root_;
};

}  // namespace berth::manager
