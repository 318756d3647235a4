#include "manager/volumes/volume_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "libutil/fd.hpp"
#include "libutil/json.hpp"
#include "libutil/strings.hpp"
#include "manager/images/import.hpp"
#include "manager/images/sqlite.hpp"
#include "runtime/linux/safe_path.hpp"
#include "manager/containers/events.hpp"

namespace berth::manager {

namespace {

json::Value map_to_json(const std::map<std::string, std::string>& m) {
    auto o = json::Value::object();
    for (const auto& [k, v] : m)
        o.set(k, json::Value::string(v));
    return o;
}

std::map<std::string, std::string> map_from_json(const std::string& text) {
    std::map<std::string, std::string> out;
    auto v = json::parse(text);
    if (v && v->is_object())
        for (const auto& [k, val] : v->members())
            if (val.is_string()) out[k] = val.as_string();
    return out;
}

constexpr const char* kVolumeColumns = "SELECT name, driver, options, labels, anonymous, created FROM volumes";

VolumeRecord volume_row(sqlite3_stmt* s) {
    VolumeRecord v;
    v.name = column_text(s, 0);
    v.driver = column_text(s, 1);
    v.options = map_from_json(column_text(s, 2));
    v.labels = map_from_json(column_text(s, 3));
    v.anonymous = sqlite3_column_int64(s, 4) != 0;
    v.created = column_text(s, 5);
    return v;
}

Result<std::optional<VolumeRecord>> get_volume(sqlite3* db, const std::string& name) {
    Query q(db, cat(kVolumeColumns, " WHERE name = ?1").c_str());
    q.bind(name);
    int rc = q.step();
    if (rc == SQLITE_ROW) return volume_row(q.get());
    if (rc != SQLITE_DONE) return Err("read volume ", name, ": ", sqlite3_errmsg(db));
    return std::nullopt;
}

Result<void> insert_volume(sqlite3* db, const VolumeRecord& v) {
    Query q(db,
            "INSERT INTO volumes (name, driver, options, labels, anonymous, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    q.bind(v.name)
        .bind(v.driver)
        .bind(json::write(map_to_json(v.options)))
        .bind(json::write(map_to_json(v.labels)))
        .bind(int64_t{v.anonymous})
        .bind(v.created.empty() ? now_rfc3339() : v.created);
    return q.run(cat("add volume ", v.name));
}

Result<std::vector<std::string>> volume_users(sqlite3* db, const std::string& name) {
    Query q(db, "SELECT DISTINCT container_id FROM container_volumes WHERE volume = ?1 ORDER BY container_id");
    q.bind(name);
    std::vector<std::string> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW)
        out.push_back(column_text(q.get(), 0));
    if (rc != SQLITE_DONE) return Err("read the users of volume ", name, ": ", sqlite3_errmsg(db));
    return out;
}

std::string volume_dir(const std::string& root, const std::string& name) {
    return path_join(path_join(root, "volumes"), name);
}

// Holds flock on ROOT/volumes/NAME while the volume is mounted, copied into,
// unmounted or removed, so two berth processes never do it twice at once.
Result<UniqueFd> lock_volume_dir(const std::string& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return ErrnoErr("open ", dir);
    if (::flock(fd.get(), LOCK_EX) != 0) return ErrnoErr("lock ", dir);
    return fd;
}

bool is_mount_point(const std::string& path) {
    struct statx st;
    if (::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &st) != 0) return false;
    return (st.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (st.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

// The `o` option split into mount flags and the data string the filesystem gets.
struct MountOptions {
    unsigned long flags = 0;
    std::string data;
    bool bind = false, rbind = false;
};

MountOptions parse_o(const std::string& o) {
    static const std::map<std::string, std::pair<unsigned long, bool>> kFlags = {
        {"ro", {MS_RDONLY, true}},     {"rw", {MS_RDONLY, false}},    {"nodev", {MS_NODEV, true}},
        {"dev", {MS_NODEV, false}},    {"nosuid", {MS_NOSUID, true}}, {"suid", {MS_NOSUID, false}},
        {"noexec", {MS_NOEXEC, true}}, {"exec", {MS_NOEXEC, false}},  {"noatime", {MS_NOATIME, true}},
    };
    MountOptions m;
    std::vector<std::string> data;
    for (const auto& part : split(o, ',')) {
        if (part.empty()) continue;
        if (part == "bind") {
            m.bind = true;
        } else if (part == "rbind") {
            m.rbind = true;
        } else if (auto it = kFlags.find(part); it != kFlags.end()) {
            if (it->second.second)
                m.flags |= it->second.first;
            else
                m.flags &= ~it->second.first;
        } else {
            data.push_back(part);
        }
    }
    m.data = join(data, ",");
    return m;
}

std::string option(const std::map<std::string, std::string>& o, const std::string& key) {
    auto it = o.find(key);
    return it == o.end() ? "" : it->second;
}

// Whether the volume's data dir is a mount of its own (tmpfs or bind device).
bool needs_mount(const VolumeRecord& v) {
    return !option(v.options, "type").empty();
}

Result<void> mount_volume(const VolumeRecord& v, const std::string& data) {
    std::string type = option(v.options, "type"), device = option(v.options, "device");
    MountOptions m = parse_o(option(v.options, "o"));
    if (type == "tmpfs") {
        if (::mount(device.c_str(), data.c_str(), "tmpfs", m.flags, m.data.empty() ? nullptr : m.data.c_str()) != 0)
            return ErrnoErr("volume ", v.name, ": mount tmpfs on ", data, " (o=", option(v.options, "o"), ")");
        return {};
    }
    unsigned long flags = MS_BIND | (m.rbind ? MS_REC : 0);
    if (::mount(device.c_str(), data.c_str(), nullptr, flags, nullptr) != 0)
        return ErrnoErr("volume ", v.name, ": bind ", device, " on ", data);
    if (m.flags && ::mount(nullptr, data.c_str(), nullptr, MS_BIND | MS_REMOUNT | m.flags, nullptr) != 0) {
        int e = errno;
        ::umount2(data.c_str(), MNT_DETACH);
        return CodeErr(e, "volume ", v.name, ": remount ", data);
    }
    return {};
}

// Unmounts the data dir when it is a mount; a tmpfs loses its content, so the
// next user gets the copy-up again.
Result<void> unmount_volume(const std::string& dir) {
    std::string data = dir + "/_data";
    if (!is_mount_point(data)) return {};
    if (::umount2(data.c_str(), MNT_DETACH) != 0) return ErrnoErr("unmount ", data);
    if (::unlink((dir + "/initialised").c_str()) != 0 && errno != ENOENT)
        return ErrnoErr("remove ", dir, "/initialised");
    return {};
}

Result<void> remove_tree(const std::string& path) {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (ec) return Err("remove ", path, ": ", ec.message());
    return {};
}

Result<bool> dir_is_empty(const std::string& path) {
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(path.c_str()), ::closedir);
    if (!d) return ErrnoErr("open ", path);
    while (dirent* e = ::readdir(d.get()))
        if (std::string_view n = e->d_name; n != "." && n != "..") return false;
    return true;
}

// ---- copy-up: every read is relative to a directory fd taken inside the
// rootfs, every entry opened with O_NOFOLLOW, so a symlink is copied as a
// symlink and never followed.

Result<void> copy_xattrs(int src, int dst, const std::string& what) {
    ssize_t n = ::flistxattr(src, nullptr, 0);
    if (n < 0) return errno == ENOTSUP ? Result<void>{} : ErrnoErr("list xattrs of ", what);
    std::string names(static_cast<size_t>(n), '\0');
    n = ::flistxattr(src, names.data(), names.size());
    if (n < 0) return ErrnoErr("list xattrs of ", what);
    names.resize(static_cast<size_t>(n));
    for (const auto& name : split(names, '\0')) {
        // overlayfs's own attributes describe the layer, not the file.
        if (name.empty() || name.starts_with("trusted.overlay.")) continue;
        ssize_t len = ::fgetxattr(src, name.c_str(), nullptr, 0);
        if (len < 0) return ErrnoErr("read xattr ", name, " of ", what);
        std::string value(static_cast<size_t>(len), '\0');
        len = ::fgetxattr(src, name.c_str(), value.data(), value.size());
        if (len < 0) return ErrnoErr("read xattr ", name, " of ", what);
        // A namespace the volume's filesystem does not have (security.selinux
        // on a host without SELinux, say) is skipped, as docker's copy does.
        if (::fsetxattr(dst, name.c_str(), value.data(), static_cast<size_t>(len), 0) != 0 && errno != ENOTSUP)
            return ErrnoErr("set xattr ", name, " on ", what);
    }
    return {};
}

// Owner, mode (after the owner: chown clears setuid bits), xattrs, times.
Result<void> copy_metadata(int src, int dst, const struct stat& st, const std::string& what) {
    if (::fchown(dst, st.st_uid, st.st_gid) != 0) return ErrnoErr("chown ", what);
    if (::fchmod(dst, st.st_mode & 07777) != 0) return ErrnoErr("chmod ", what);
    TRY(copy_xattrs(src, dst, what));
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (::futimens(dst, times) != 0) return ErrnoErr("set the times of ", what);
    return {};
}

Result<void> copy_file_data(int src, int dst, const std::string& what) {
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(src, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return ErrnoErr("read ", what);
        }
        if (n == 0) return {};
        for (ssize_t off = 0; off < n;) {
            ssize_t w = ::write(dst, buf + off, static_cast<size_t>(n - off));
            if (w < 0) {
                if (errno == EINTR) continue;
                return ErrnoErr("write ", what);
            }
            off += w;
        }
    }
}

// Files with several links in the image are linked again in the volume:
// (device, inode) -> the first copy's path.
using LinkMap = std::map<std::pair<dev_t, ino_t>, std::string>;

Result<void> copy_tree(int src_dir, int dst_dir, const std::string& where, const std::string& dst_path, LinkMap& links);

Result<void> copy_entry(int src_dir, int dst_dir, const std::string& name, const std::string& what,
                        const std::string& dst_path, LinkMap& links) {
    struct stat st;
    if (::fstatat(src_dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return ErrnoErr("stat ", what);
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
        auto [it, first] = links.try_emplace({st.st_dev, st.st_ino}, dst_path);
        if (!first) {
            if (::linkat(AT_FDCWD, it->second.c_str(), dst_dir, name.c_str(), 0) != 0) return ErrnoErr("link ", what);
            return {};
        }
    }
    if (S_ISDIR(st.st_mode)) {
        if (::mkdirat(dst_dir, name.c_str(), 0700) != 0) return ErrnoErr("mkdir ", what);
        UniqueFd s(::openat(src_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!s) return ErrnoErr("open ", what);
        UniqueFd d(::openat(dst_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!d) return ErrnoErr("open ", what);
        TRY(copy_tree(s.get(), d.get(), what, dst_path, links));
        return copy_metadata(s.get(), d.get(), st, what);
    }
    if (S_ISREG(st.st_mode)) {
        UniqueFd s(::openat(src_dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (!s) return ErrnoErr("open ", what);
        UniqueFd d(::openat(dst_dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!d) return ErrnoErr("create ", what);
        TRY(copy_file_data(s.get(), d.get(), what));
        return copy_metadata(s.get(), d.get(), st, what);
    }
    if (S_ISLNK(st.st_mode)) {
        std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
        ssize_t n = ::readlinkat(src_dir, name.c_str(), target.data(), target.size());
        if (n < 0) return ErrnoErr("readlink ", what);
        target.resize(static_cast<size_t>(n));
        if (::symlinkat(target.c_str(), dst_dir, name.c_str()) != 0) return ErrnoErr("symlink ", what);
        if (::fchownat(dst_dir, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0)
            return ErrnoErr("chown ", what);
        struct timespec times[2] = {st.st_atim, st.st_mtim};
        if (::utimensat(dst_dir, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
            return ErrnoErr("set the times of ", what);
        return {};
    }
    if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
        if (::mknodat(dst_dir, name.c_str(), st.st_mode, st.st_rdev) != 0) return ErrnoErr("mknod ", what);
        if (::fchownat(dst_dir, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0)
            return ErrnoErr("chown ", what);
        if (::fchmodat(dst_dir, name.c_str(), st.st_mode & 07777, 0) != 0) return ErrnoErr("chmod ", what);
        return {};
    }
    return {};  // a socket: nothing a volume can hold
}

Result<void> copy_tree(int src_dir, int dst_dir, const std::string& where, const std::string& dst_path,
                       LinkMap& links) {
    int dup = ::fcntl(src_dir, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) return ErrnoErr("dup");
    std::unique_ptr<DIR, int (*)(DIR*)> d(::fdopendir(dup), ::closedir);
    if (!d) {
        ::close(dup);
        return ErrnoErr("read ", where);
    }
    ::rewinddir(d.get());
    while (dirent* e = ::readdir(d.get())) {
        std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        TRY(copy_entry(src_dir, dst_dir, name, where + "/" + name, dst_path + "/" + name, links));
    }
    return {};
}

struct ContainerVolume {
    VolumeRecord volume;
    std::string destination;
};

Result<std::vector<ContainerVolume>> volumes_of(sqlite3* db, const std::string& container_id) {
    Query q(db,
            "SELECT v.name, v.driver, v.options, v.labels, v.anonymous, v.created, cv.destination "
            "FROM container_volumes cv JOIN volumes v ON v.name = cv.volume WHERE cv.container_id = ?1 "
            "ORDER BY cv.destination");
    q.bind(container_id);
    std::vector<ContainerVolume> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW)
        out.push_back({volume_row(q.get()), column_text(q.get(), 6)});
    if (rc != SQLITE_DONE) return Err("read the volumes of container ", container_id, ": ", sqlite3_errmsg(db));
    return out;
}

// Mounts (when its options say so) and copies up one volume a container uses.
Result<void> prepare_one(const std::string& root, const ContainerVolume& cv, const std::string& rootfs, bool nocopy) {
    std::string dir = volume_dir(root, cv.volume.name), data = dir + "/_data";
    TRY(mkdir_all(data, 0755));
    auto lock = TRY(lock_volume_dir(dir));
    if (needs_mount(cv.volume) && !is_mount_point(data)) TRY(mount_volume(cv.volume, data));
    std::string marker = dir + "/initialised";
    if (nocopy || ::access(marker.c_str(), F_OK) == 0) return {};
    if (TRY(dir_is_empty(data))) TRY_CTX(copy_up(rootfs, cv.destination, data), "volume ", cv.volume.name, ": copy-up");
    return write_file(marker, "");
}

}  // namespace

Result<void> validate_volume_name(const std::string& name) {
    auto ok_first = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
    auto ok = [&](char c) { return ok_first(c) || c == '_' || c == '.' || c == '-'; };
    bool valid = name.size() >= 2 && ok_first(name[0]) && std::all_of(name.begin() + 1, name.end(), ok);
    if (!valid)
        return Err("invalid volume name ", quote(name),
                   ": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, two characters at least");
    return {};
}

Result<void> validate_volume_options(const std::string& driver, const std::map<std::string, std::string>& options) {
    if (driver != "local") return Err("volume driver ", quote(driver), " is not supported (only \"local\")");
    for (const auto& [k, v] : options)
        if (k != "type" && k != "device" && k != "o") return Err("invalid volume option key: ", quote(k));
    if (options.empty()) return {};
    std::string type = option(options, "type"), device = option(options, "device");
    if (type.empty()) return Err("volume option o or device needs type");
    if (device.empty()) return Err("volume option type=", type, " needs device");
    MountOptions m = parse_o(option(options, "o"));
    if (type == "tmpfs") {
        if (m.bind || m.rbind) return Err("volume option o=", option(options, "o"), ": bind does not apply to tmpfs");
        return {};
    }
    if (type != "none") return Err("volume option type=", type, " is not supported (tmpfs or none)");
    if (!m.bind && !m.rbind) return Err("volume option type=none needs o=bind");
    if (!device.starts_with("/")) return Err("volume option device=", device, ": must be an absolute path");
    if (!m.data.empty()) return Err("volume option o=", option(options, "o"), ": unknown bind option ", m.data);
    struct stat st;
    if (::stat(device.c_str(), &st) != 0) return ErrnoErr("volume option device=", device);
    if (!S_ISDIR(st.st_mode)) return Err("volume option device=", device, ": not a directory");
    return {};
}

std::string VolumeStore::dir(const std::string& name) const {
    return volume_dir(root_, name);
}

Result<void> VolumeStore::create(const VolumeRecord& v) {
    TRY(validate_volume_name(v.name));
    TRY(validate_volume_options(v.driver, v.options));
    TRY(db_.transaction([&]() -> Result<void> {
        if (TRY(get_volume(db_.handle(), v.name))) return Err("volume ", v.name, " already exists");
        TRY(insert_volume(db_.handle(), v));
        // Inside the transaction: a failed mkdir leaves no record behind.
        TRY(mkdir_all(path_join(root_, "volumes"), 0701));
        return mkdir_all(data_dir(v.name), 0755);
    }));
    record_event(Event{"volume", "create", v.name, {{"driver", v.driver}}});
    return {};
}

Result<std::optional<VolumeRecord>> VolumeStore::get(const std::string& name) {
    return get_volume(db_.handle(), name);
}

Result<std::vector<VolumeRecord>> VolumeStore::list() {
    Query q(db_.handle(), cat(kVolumeColumns, " ORDER BY name").c_str());
    std::vector<VolumeRecord> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW)
        out.push_back(volume_row(q.get()));
    if (rc != SQLITE_DONE) return std::unexpected(db_.db_error("list volumes"));
    return out;
}

Result<std::vector<std::string>> VolumeStore::users(const std::string& name) {
    return volume_users(db_.handle(), name);
}

Result<void> VolumeStore::remove(const std::string& name, bool force) {
    if (!TRY(get(name))) {
        if (force) return {};
        return Err("no such volume: ", name);
    }
    auto in_use = [&]() -> Result<void> {
        auto u = TRY(users(name));
        if (!u.empty()) return Err("volume ", name, " is in use by container ", u[0]);
        return {};
    };
    TRY(in_use());
    std::string d = dir(name);
    {
        // The lock (on the dir itself) is taken only when the dir exists.
        auto lock = lock_volume_dir(d);
        if (lock) TRY(unmount_volume(d));
    }
    TRY(db_.transaction([&]() -> Result<void> {
        TRY(in_use());
        Query q(db_.handle(), "DELETE FROM volumes WHERE name = ?1");
        q.bind(name);
        return q.run(cat("remove volume ", name));
    }));
    record_event(Event{"volume", "destroy", name, {{"driver", "local"}}});
    return remove_tree(d);
}

Result<std::vector<std::string>> VolumeStore::prune(bool all) {
    std::vector<std::string> removed;
    for (const auto& v : TRY(list())) {
        if (!all && !v.anonymous) continue;
        if (!TRY(users(v.name)).empty()) continue;
        TRY(remove(v.name, true));
        removed.push_back(v.name);
    }
    return removed;
}

Result<std::vector<ResolvedMount>> attach_volumes(ImageStore& db, const std::string& root,
                                                  const std::string& container_id,
                                                  const std::vector<MountRequest>& requests,
                                                  const std::vector<std::string>& image_volumes) {
    sqlite3* h = db.handle();
    std::vector<ResolvedMount> out;
    std::set<std::string> destinations;
    auto claim = [&](const std::string& dst) -> Result<std::string> {
        std::string clean = clean_path(dst);
        if (!destinations.insert(clean).second) return Err("duplicate mount point: ", clean);
        return clean;
    };
    auto use_volume = [&](const std::string& name, const std::string& dst, bool anonymous) -> Result<void> {
        if (!TRY(get_volume(h, name))) {
            VolumeRecord v;
            v.name = name;
            v.anonymous = anonymous;
            TRY(insert_volume(h, v));
        }
        Query q(h, "INSERT INTO container_volumes (container_id, volume, destination) VALUES (?1, ?2, ?3)");
        q.bind(container_id).bind(name).bind(dst);
        return q.run(cat("attach volume ", name, " to ", container_id));
    };
    for (const auto& r : requests) {
        std::string dst = TRY(claim(r.destination));
        ResolvedMount m;
        m.destination = dst;
        switch (r.type) {
            case MountRequest::Type::Bind: {
                struct stat st;
                if (!r.create_host_dir && ::stat(r.source.c_str(), &st) != 0)
                    return Err("bind source path does not exist: ", r.source);
                m.type = "bind";
                m.source = r.source;
                m.options = {"rbind", r.propagation.empty() ? "rprivate" : r.propagation};
                break;
            }
            case MountRequest::Type::Volume: {
                std::string name = r.source;
                if (name.empty())
                    name = TRY(random_hex_id());
                else
                    TRY(validate_volume_name(name));
                TRY(use_volume(name, dst, r.source.empty()));
                m.type = "bind";
                m.source = path_join(volume_dir(root, name), "_data");
                m.options = {"rbind", "rprivate"};
                break;
            }
            case MountRequest::Type::Tmpfs:
                m.type = "tmpfs";
                m.source = "tmpfs";
                m.options = {"nosuid", "nodev", "noexec"};
                if (r.tmpfs_size) m.options.push_back(cat("size=", r.tmpfs_size));
                m.options.push_back(cat("mode=", [&] {
                    char b[16];
                    std::snprintf(b, sizeof b, "%o", r.tmpfs_mode ? r.tmpfs_mode : 01777);
                    return std::string(b);
                }()));
                break;
        }
        m.options.insert(m.options.end(), r.extra_options.begin(), r.extra_options.end());
        if (r.read_only) m.options.push_back("ro");
        out.push_back(std::move(m));
    }
    // docker: an image VOLUME that no mount covers gets an anonymous volume.
    std::vector<std::string> sorted(image_volumes);
    std::sort(sorted.begin(), sorted.end());
    for (const auto& iv : sorted) {
        if (destinations.contains(clean_path(iv))) continue;
        std::string dst = TRY(claim(iv));
        std::string name = TRY(random_hex_id());
        TRY(use_volume(name, dst, true));
        out.push_back({dst, "bind", path_join(volume_dir(root, name), "_data"), {"rbind", "rprivate"}});
    }
    return out;
}

Result<void> prepare_volumes(ImageStore& db, const std::string& root, const std::string& container_id,
                             const std::string& rootfs, const std::vector<MountRequest>& requests) {
    std::map<std::string, bool> nocopy;
    for (const auto& r : requests) {
        if (r.type == MountRequest::Type::Bind && r.create_host_dir) TRY(mkdir_all(r.source, 0755));
        if (r.type == MountRequest::Type::Volume) nocopy[clean_path(r.destination)] = r.nocopy;
    }
    TRY(mkdir_all(path_join(root, "volumes"), 0701));
    for (const auto& cv : TRY(volumes_of(db.handle(), container_id))) {
        auto it = nocopy.find(cv.destination);
        TRY(prepare_one(root, cv, rootfs, it != nocopy.end() && it->second));
    }
    return {};
}

Result<std::vector<VolumeUse>> container_volumes(ImageStore& db, const std::string& container_id) {
    std::vector<VolumeUse> out;
    for (const auto& cv : TRY(volumes_of(db.handle(), container_id)))
        out.push_back({cv.volume.name, cv.volume.anonymous});
    return out;
}

Result<void> release_volumes(ImageStore& db, const std::string& root, const std::vector<VolumeUse>& uses,
                             bool remove_anonymous) {
    VolumeStore store(db, root);
    for (const auto& u : uses) {
        if (!TRY(volume_users(db.handle(), u.name)).empty()) continue;
        if (u.anonymous && remove_anonymous) {
            TRY(store.remove(u.name, true));
            continue;
        }
        std::string d = volume_dir(root, u.name);
        auto lock = lock_volume_dir(d);
        if (!lock) continue;  // never prepared: nothing mounted
        TRY(unmount_volume(d));
    }
    return {};
}

Result<void> copy_up(const std::string& rootfs, const std::string& path, const std::string& dest_dir) {
    UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return ErrnoErr("open ", rootfs);
    auto src = runtime::open_in_root(root.get(), path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (!src) {
        // Nothing there in the image, or not a directory: nothing to copy.
        if (src.error().code == ENOENT || src.error().code == ENOTDIR) return {};
        return std::unexpected(src.error());
    }
    UniqueFd dst(::open(dest_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dst) return ErrnoErr("open ", dest_dir);
    struct stat st;
    if (::fstat(src->get(), &st) != 0) return ErrnoErr("stat ", path);
    LinkMap links;
    TRY(copy_tree(src->get(), dst.get(), path, dest_dir, links));
    return copy_metadata(src->get(), dst.get(), st, path);
}

}  // namespace berth::manager
