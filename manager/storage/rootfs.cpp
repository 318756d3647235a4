#include "manager/storage/rootfs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <set>

#include "libutil/log.hpp"
#include "libutil/strings.hpp"
#include "manager/images/sqlite.hpp"
#include "manager/storage/overlay.hpp"

namespace berth::manager {

namespace {

std::string hex_of(const std::string& digest) {
    return digest.substr(digest.find(':') + 1);
}

bool is_hex64(std::string_view s) {
    return s.size() == 64 &&
           std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(c) && !std::isupper(c); });
}

std::string now_rfc3339() {
    std::time_t t = std::time(nullptr);
    std::tm tm;
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

Result<void> remove_tree(const std::string& path) {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (ec) return Err("remove ", path, ": ", ec.message());
    return {};
}

// Names of the entries of `dir` (none when it does not exist).
std::vector<std::string> dir_entries(const std::string& dir) {
    std::vector<std::string> out;
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
    if (!d) return out;
    while (dirent* e = ::readdir(d.get()))
        if (e->d_name[0] != '.') out.emplace_back(e->d_name);
    return out;
}

RootfsRecord rootfs_row(sqlite3_stmt* s) {
    return {column_text(s, 0), column_text(s, 1), column_text(s, 2), sqlite3_column_int64(s, 3)};
}

// A repair that fails must not stop the command that triggered it (`rootfs
// rm` of the broken rootfs, say): it is reported and tried again next time.
void warn_on_error(const Result<void>& r, const std::string& what) {
    if (!r) log::warn(cat(what, ": cleanup: ", r.error().what()));
}

constexpr const char* kSetRootfsCount = "UPDATE rootfs SET mount_count = ?2 WHERE id = ?1";
constexpr const char* kSetImageCount =
    "INSERT INTO image_mounts (image_id, mount_count) VALUES (?1, ?2) "
    "ON CONFLICT(image_id) DO UPDATE SET mount_count = ?2";

}  // namespace

Result<RootfsStore> RootfsStore::open(const std::string& root) {
    auto db = TRY(ImageStore::open(root));
    return RootfsStore(std::move(db), root);
}

// Every change to rootfs and image mounts holds the store's lock exclusively
// (store_lock.hpp): for the few milliseconds a mount or a removal takes, it
// keeps mount counts consistent and the layers it mounts from being collected.
Result<StoreLock> RootfsStore::lock() {
    return StoreLock::exclusive(root_);
}

std::string RootfsStore::dir(const std::string& id) const {
    return path_join(path_join(root_, "containers"), id);
}

std::string RootfsStore::image_mount_dir(const std::string& image_id) const {
    return path_join(path_join(root_, "image-mounts"), hex_of(image_id));
}

// The image's layer dirs, top first, padded with empty dirs to `min_count`.
Result<std::vector<std::string>> RootfsStore::lower_dirs(const std::string& image_id, size_t min_count) {
    auto img = TRY(db_.get(image_id));
    if (!img) return Err(image_id, ": image not known");
    std::vector<std::string> out;
    for (auto it = img->layers.rbegin(); it != img->layers.rend(); ++it)
        out.push_back(path_join(path_join(root_, "layers"), hex_of(*it)));
    for (int i = 0; out.size() < min_count; ++i) {
        std::string e = path_join(path_join(root_, "empty"), std::to_string(i));
        TRY(mkdir_all(e, 0755));
        out.push_back(e);
    }
    return out;
}

Result<std::string> RootfsStore::create(const std::string& image_id, std::string id) {
    auto held = TRY(lock());
    if (id.empty()) id = TRY(random_hex_id());
    auto lowers = TRY(lower_dirs(image_id, 1));
    TRY(db_.transaction([&]() -> Result<void> {
        Query q(db_.handle(), "INSERT INTO rootfs (id, image_id, created) VALUES (?,?,?)");
        TRY_CTX(q.bind(id).bind(image_id).bind(now_rfc3339()).run("add rootfs"), "berth.db");
        return {};
    }));
    std::string d = dir(id);
    auto made = [&]() -> Result<void> {
        TRY(mkdir_all(path_join(root_, "containers"), 0700));
        if (::mkdir(d.c_str(), 0700) < 0) return ErrnoErr("mkdir ", d);
        for (const char* sub : {"upper", "work", "merged"})
            if (::mkdir(path_join(d, sub).c_str(), 0755) < 0) return ErrnoErr("mkdir ", d, "/", sub);
        // The upper dir is the merged root: it takes the image's "/" owner and mode.
        struct stat st;
        if (::stat(lowers[0].c_str(), &st) < 0) return ErrnoErr("stat ", lowers[0]);
        std::string upper = path_join(d, "upper");
        if (::chown(upper.c_str(), st.st_uid, st.st_gid) < 0 || ::chmod(upper.c_str(), st.st_mode & 07777) < 0)
            return ErrnoErr("set owner and mode of ", upper);
        return {};
    }();
    if (!made) {
        (void)remove_tree(d);
        Query q(db_.handle(), "DELETE FROM rootfs WHERE id = ?");
        (void)q.bind(id).run("remove rootfs");
        return std::unexpected(made.error());
    }
    return id;
}

Result<std::optional<RootfsRecord>> RootfsStore::get(const std::string& id) {
    Query q(db_.handle(), "SELECT id, image_id, created, mount_count FROM rootfs WHERE id = ?");
    q.bind(id);
    int rc = q.step();
    if (rc == SQLITE_DONE) return std::optional<RootfsRecord>{};
    if (rc != SQLITE_ROW) return std::unexpected(db_.db_error("read rootfs"));
    return std::optional<RootfsRecord>(rootfs_row(q.get()));
}

Result<std::vector<RootfsRecord>> RootfsStore::list() {
    Query q(db_.handle(), "SELECT id, image_id, created, mount_count FROM rootfs ORDER BY created, id");
    std::vector<RootfsRecord> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW)
        out.push_back(rootfs_row(q.get()));
    if (rc != SQLITE_DONE) return std::unexpected(db_.db_error("list rootfs"));
    return out;
}

Result<void> RootfsStore::set_count(const char* sql, const std::string& key, int64_t count) {
    Query q(db_.handle(), sql);
    TRY_CTX(q.bind(key).bind(count).run("set mount count"), "berth.db");
    return {};
}

Result<void> RootfsStore::mount_rootfs(const RootfsRecord& r, bool volatile_upper) {
    OverlaySpec spec;
    spec.volatile_upper = volatile_upper;
    spec.lowers = TRY(lower_dirs(r.image_id, 1));
    spec.upper = upper_dir(r.id);
    spec.work = dir(r.id) + "/work";
    return mount_overlay(spec, merged_dir(r.id));
}

Result<std::string> RootfsStore::mount(const std::string& id, bool volatile_upper) {
    auto held = TRY(lock());
    auto r = TRY(get(id));
    if (!r) return Err("rootfs ", id, ": not known");
    std::string merged = merged_dir(id);
    bool mounted = is_mount_point(merged);
    if (!mounted) TRY_CTX(mount_rootfs(*r, volatile_upper), "rootfs ", id);
    // A count without a mount (a crash, a reboot) keeps its users: they get the new mount.
    if (auto s = set_count(kSetRootfsCount, id, r->mount_count + 1); !s) {
        if (!mounted) (void)unmount_path(merged, false);
        return std::unexpected(s.error());
    }
    return merged;
}

Result<void> RootfsStore::unmount(const std::string& id, bool force) {
    auto held = TRY(lock());
    auto r = TRY(get(id));
    if (!r) return Err("rootfs ", id, ": not known");
    int64_t count = force ? 0 : std::max<int64_t>(r->mount_count - 1, 0);
    if (count == 0) TRY_CTX(unmount_path(merged_dir(id), false), "rootfs ", id);
    return set_count(kSetRootfsCount, id, count);
}

Result<void> RootfsStore::remove(const std::string& id) {
    auto held = TRY(lock());
    auto r = TRY(get(id));
    if (!r) return Err("rootfs ", id, ": not known");
    TRY_CTX(unmount_path(merged_dir(id), false), "rootfs ", id);
    // The record goes first: a directory without one is cleanup()'s to finish.
    Query q(db_.handle(), "DELETE FROM rootfs WHERE id = ?");
    TRY_CTX(q.bind(id).run("remove rootfs"), "berth.db");
    return remove_tree(dir(id));
}

Result<void> RootfsStore::mount_image_at(const std::string& image_id, const std::string& path) {
    OverlaySpec spec;
    // overlayfs needs two lower dirs when there is no upper dir.
    spec.lowers = TRY(lower_dirs(image_id, 2));
    spec.read_only = true;
    TRY(mkdir_all(path, 0755));
    return mount_overlay(spec, path);
}

Result<std::string> RootfsStore::mount_image(const std::string& image_id) {
    auto held = TRY(lock());
    int64_t count = 0;
    for (const auto& m : TRY(image_mounts()))
        if (m.image_id == image_id) count = m.mount_count;
    std::string path = image_mount_dir(image_id);
    bool mounted = is_mount_point(path);
    if (!mounted) {
        auto r = mount_image_at(image_id, path);
        if (!r) {
            if (count == 0) ::rmdir(path.c_str());
            return Wrap(r.error(), "mount image ", image_id);
        }
    }
    if (auto s = set_count(kSetImageCount, image_id, count + 1); !s) {
        if (!mounted) {
            (void)unmount_path(path, false);
            ::rmdir(path.c_str());
        }
        return std::unexpected(s.error());
    }
    return path;
}

Result<bool> RootfsStore::unmount_image(const std::string& image_id, bool force) {
    auto held = TRY(lock());
    std::optional<int64_t> count;
    for (const auto& m : TRY(image_mounts()))
        if (m.image_id == image_id) count = m.mount_count;
    if (!count) return false;
    int64_t left = force ? 0 : std::max<int64_t>(*count - 1, 0);
    if (left > 0) {
        TRY(set_count(kSetImageCount, image_id, left));
        return true;
    }
    std::string path = image_mount_dir(image_id);
    TRY_CTX(unmount_path(path, false), "unmount image ", image_id);
    Query q(db_.handle(), "DELETE FROM image_mounts WHERE image_id = ?");
    TRY_CTX(q.bind(image_id).run("remove image mount"), "berth.db");
    ::rmdir(path.c_str());
    return true;
}

Result<std::vector<ImageMount>> RootfsStore::image_mounts() {
    Query q(db_.handle(), "SELECT image_id, mount_count FROM image_mounts ORDER BY image_id");
    std::vector<ImageMount> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
        std::string id = column_text(q.get(), 0);
        out.push_back({id, image_mount_dir(id), sqlite3_column_int64(q.get(), 1)});
    }
    if (rc != SQLITE_DONE) return std::unexpected(db_.db_error("list image mounts"));
    return out;
}

Result<ImageUsers> RootfsStore::users(const std::string& image_id) {
    ImageUsers u;
    Query q(db_.handle(), "SELECT id FROM rootfs WHERE image_id = ? ORDER BY id");
    q.bind(image_id);
    int rc;
    while ((rc = q.step()) == SQLITE_ROW)
        u.rootfs.push_back(column_text(q.get(), 0));
    if (rc != SQLITE_DONE) return std::unexpected(db_.db_error("list rootfs"));
    for (const auto& m : TRY(image_mounts()))
        if (m.image_id == image_id) u.mounted = true;
    return u;
}

Result<void> RootfsStore::cleanup_rootfs() {
    std::set<std::string> known;
    for (const auto& r : TRY(list())) {
        known.insert(r.id);
        struct stat st;
        if (::stat(dir(r.id).c_str(), &st) < 0) {
            // Killed between the record and its directory: it was never handed out.
            log::warn(cat("rootfs ", r.id, ": its directory is gone; removing the record"));
            Query q(db_.handle(), "DELETE FROM rootfs WHERE id = ?");
            TRY_CTX(q.bind(r.id).run("remove rootfs"), "berth.db");
        } else if (r.mount_count > 0 && !is_mount_point(merged_dir(r.id))) {
            log::warn(cat("rootfs ", r.id, ": mounted ", r.mount_count, " times but not mounted; mounting it again"));
            warn_on_error(mount_rootfs(r, false), "rootfs " + r.id);
        }
    }
    for (const auto& name : dir_entries(path_join(root_, "containers"))) {
        if (known.count(name) || !is_hex64(name)) continue;
        log::warn(cat("rootfs ", name, ": no record; removing its directory"));
        auto gone = unmount_path(merged_dir(name), false);
        if (gone) gone = remove_tree(dir(name));
        warn_on_error(gone, "rootfs " + name);
    }
    return {};
}

Result<void> RootfsStore::cleanup_image_mounts() {
    std::set<std::string> known;
    for (const auto& m : TRY(image_mounts())) {
        known.insert(hex_of(m.image_id));
        if (!is_mount_point(m.path)) {
            log::warn(
                cat("image ", m.image_id, ": mounted ", m.mount_count, " times but not mounted; mounting it again"));
            warn_on_error(mount_image_at(m.image_id, m.path), "image " + m.image_id);
        }
    }
    for (const auto& name : dir_entries(path_join(root_, "image-mounts"))) {
        if (known.count(name) || !is_hex64(name)) continue;
        std::string path = path_join(path_join(root_, "image-mounts"), name);
        if (auto r = unmount_path(path, false); r)
            ::rmdir(path.c_str());
        else
            warn_on_error(r, "image mount " + name);
    }
    return {};
}

Result<void> RootfsStore::cleanup() {
    auto held = TRY(lock());
    TRY(cleanup_rootfs());
    return cleanup_image_mounts();
}

}  // namespace berth::manager
