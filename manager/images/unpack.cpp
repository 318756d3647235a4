#include "manager/images/unpack.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>

#include "libutil/fd.hpp"
#include "libutil/strings.hpp"
#include "manager/images/blob_store.hpp"
#include "manager/images/layer_stream.hpp"

namespace berth::manager {

namespace {

struct ArchiveFree {
    void operator()(archive* a) const { archive_read_free(a); }
};
using Archive = std::unique_ptr<archive, ArchiveFree>;

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

// The entry's path split into clean components; "..", absolute and empty
// paths are errors. "./a//b/" -> {"a", "b"}; "." -> {} (the layer root).
Result<std::vector<std::string>> components(std::string_view path) {
    if (path.starts_with("/")) return Err("absolute path");
    std::vector<std::string> out;
    for (auto& c : split(path, '/')) {
        if (c.empty() || c == ".") continue;
        if (c == "..") return Err("path has a \"..\" component");
        out.push_back(c);
    }
    return out;
}

// Opens the directory `parts[0..n)` under `root`, never following a symlink;
// missing directories are made (tar streams may leave them out) when `create`.
Result<UniqueFd> open_parent(int root, const std::vector<std::string>& parts, size_t n, bool create) {
    UniqueFd cur(::openat(root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!cur) return ErrnoErr("open layer dir");
    for (size_t i = 0; i < n; ++i) {
        const std::string& c = parts[i];
        struct stat st;
        if (::fstatat(cur.get(), c.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT || !create) return ErrnoErr("parent ", c);
            if (::mkdirat(cur.get(), c.c_str(), 0755) < 0) return ErrnoErr("mkdir ", c);
        } else if (S_ISLNK(st.st_mode)) {
            return Err("parent \"", c, "\" is a symlink");
        } else if (!S_ISDIR(st.st_mode)) {
            return Err("parent \"", c, "\" is not a directory");
        }
        UniqueFd next(::openat(cur.get(), c.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!next) return ErrnoErr("open ", c);
        cur = std::move(next);
    }
    return cur;
}

// Later entries replace earlier ones, except that a directory stays a directory.
Result<void> clear_name(int dir, const std::string& name, bool keep_dir) {
    struct stat st;
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return {};
    if (S_ISDIR(st.st_mode)) {
        if (keep_dir) return {};
        if (::unlinkat(dir, name.c_str(), AT_REMOVEDIR) < 0) return ErrnoErr("replace directory ", name);
        return {};
    }
    if (::unlinkat(dir, name.c_str(), 0) < 0) return ErrnoErr("replace ", name);
    return {};
}

Result<void> copy_data(archive* a, int fd) {
    const void* buf;
    size_t len;
    la_int64_t off;
    const uint64_t limit = TRY(max_layer_size());
    while (true) {
        int r = archive_read_data_block(a, &buf, &len, &off);
        if (r == ARCHIVE_EOF) return {};
        if (r != ARCHIVE_OK) return Err("read: ", archive_error_string(a));
        // Bytes of the uncompressed tar so far: a decompression bomb stops here.
        if (static_cast<uint64_t>(archive_filter_bytes(a, 0)) > limit) return std::unexpected(layer_too_big(limit));
        // Sparse entries come with holes: write at the block's offset.
        const char* p = static_cast<const char*>(buf);
        while (len > 0) {
            ssize_t n = ::pwrite(fd, p, len, off);
            if (n < 0) {
                if (errno == EINTR) continue;
                return ErrnoErr("write");
            }
            p += n;
            off += n;
            len -= static_cast<size_t>(n);
        }
    }
}

// xattrs from the tarball; trusted.overlay.* ones would steer overlayfs
// (redirects, metacopy) and are only ever set by us.
Result<void> apply_xattrs(archive_entry* e, int fd) {
    const char* name;
    const void* value;
    size_t size;
    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
        std::string_view n = name;
        if (n.starts_with("trusted.overlay.")) return Err("xattr ", n, " is not allowed in a layer");
        std::string proc = cat("/proc/self/fd/", fd);
        if (::setxattr(proc.c_str(), name, value, size, 0) < 0) return ErrnoErr("setxattr ", n);
    }
    return {};
}

// Ownership, mode (after chown, which clears set-id bits), xattrs and times
// of a created non-symlink, through an O_PATH fd of it.
Result<void> apply_metadata(archive_entry* e, int dir, const std::string& name) {
    UniqueFd fd(::openat(dir, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return ErrnoErr("open ", name);
    if (::fchownat(fd.get(), "", archive_entry_uid(e), archive_entry_gid(e), AT_EMPTY_PATH) < 0)
        return ErrnoErr("chown");
    std::string proc = cat("/proc/self/fd/", fd.get());
    if (::chmod(proc.c_str(), archive_entry_mode(e) & 07777) < 0) return ErrnoErr("chmod");
    TRY(apply_xattrs(e, fd.get()));
    return {};
}

struct timespec_pair {
    struct timespec t[2];
};
timespec_pair entry_times(archive_entry* e) {
    timespec_pair p{};
    p.t[0].tv_sec = archive_entry_atime_is_set(e) ? archive_entry_atime(e) : archive_entry_mtime(e);
    p.t[0].tv_nsec = archive_entry_atime_is_set(e) ? archive_entry_atime_nsec(e) : archive_entry_mtime_nsec(e);
    p.t[1].tv_sec = archive_entry_mtime(e);
    p.t[1].tv_nsec = archive_entry_mtime_nsec(e);
    return p;
}

struct DirTimes {
    std::vector<std::string> parts;
    timespec_pair times;
};

Result<void> extract_entry(archive* a, archive_entry* e, int root, std::vector<DirTimes>& dir_times) {
    auto parts = TRY(components(archive_entry_pathname(e)));
    mode_t type = archive_entry_filetype(e);
    const char* hardlink = archive_entry_hardlink(e);
    if (parts.empty()) {  // the layer root itself: only its metadata
        if (type != AE_IFDIR) return Err("the layer root is not a directory");
        dir_times.push_back({{}, entry_times(e)});
        return apply_metadata(e, root, ".");
    }
    auto parent = TRY(open_parent(root, parts, parts.size() - 1, true));
    const std::string& name = parts.back();
    int dir = parent.get();

    if (name == kOpaqueMarker) {
        if (::fsetxattr(dir, "trusted.overlay.opaque", "y", 1, 0) < 0) return ErrnoErr("set opaque");
        return {};
    }
    if (name.starts_with(kWhiteoutPrefix)) {
        std::string hidden = name.substr(kWhiteoutPrefix.size());
        if (hidden.empty() || hidden == "." || hidden == "..") return Err("invalid whiteout");
        TRY(clear_name(dir, hidden, false));
        if (::mknodat(dir, hidden.c_str(), S_IFCHR | 0, makedev(0, 0)) < 0) return ErrnoErr("whiteout ", hidden);
        return {};
    }
    TRY(clear_name(dir, name, type == AE_IFDIR && !hardlink));
    auto times = entry_times(e);
    if (hardlink) {
        auto target = TRY_CTX(components(hardlink), "hardlink target ", hardlink);
        if (target.empty()) return Err("hardlink to the layer root");
        auto tdir = TRY_CTX(open_parent(root, target, target.size() - 1, false), "hardlink target ", hardlink);
        if (::linkat(tdir.get(), target.back().c_str(), dir, name.c_str(), 0) < 0)
            return ErrnoErr("hardlink to ", hardlink);
        return {};
    }
    switch (type) {
        case AE_IFREG: {
            UniqueFd fd(::openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
            if (!fd) return ErrnoErr("create");
            TRY(copy_data(a, fd.get()));
            // A sparse file that ends in a hole: its last block sets no size.
            if (archive_entry_size_is_set(e) && ::ftruncate(fd.get(), archive_entry_size(e)) < 0)
                return ErrnoErr("truncate");
            TRY(apply_metadata(e, dir, name));
            if (::futimens(fd.get(), times.t) < 0) return ErrnoErr("set times");
            return {};
        }
        case AE_IFDIR: {
            if (::mkdirat(dir, name.c_str(), 0700) < 0 && errno != EEXIST) return ErrnoErr("mkdir");
            TRY(apply_metadata(e, dir, name));
            // Directory times are set last: entries added below change them.
            dir_times.push_back({parts, times});
            return {};
        }
        case AE_IFLNK: {
            if (::symlinkat(archive_entry_symlink(e), dir, name.c_str()) < 0) return ErrnoErr("symlink");
            if (::fchownat(dir, name.c_str(), archive_entry_uid(e), archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) < 0)
                return ErrnoErr("chown");
            if (::utimensat(dir, name.c_str(), times.t, AT_SYMLINK_NOFOLLOW) < 0) return ErrnoErr("set times");
            return {};
        }
        case AE_IFCHR:
        case AE_IFBLK:
        case AE_IFIFO: {
            if (::mknodat(dir, name.c_str(), type | 0600, archive_entry_rdev(e)) < 0) return ErrnoErr("mknod");
            TRY(apply_metadata(e, dir, name));
            if (::utimensat(dir, name.c_str(), times.t, AT_SYMLINK_NOFOLLOW) < 0) return ErrnoErr("set times");
            return {};
        }
        default:
            return Err("unsupported entry type");  // sockets do not belong in layers
    }
}

// Extracts every entry of the tar stream `a`; `what` names the layer in errors.
Result<void> extract_all(archive* a, const std::string& what, int root) {
    const uint64_t limit = TRY(max_layer_size());
    std::vector<DirTimes> dir_times;
    archive_entry* e;
    int r;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        if (auto x = extract_entry(a, e, root, dir_times); !x) {
            // Past the size limit (copy_data stopped): the layer's fault, not the entry's.
            if (static_cast<uint64_t>(archive_filter_bytes(a, 0)) > limit) return std::unexpected(layer_too_big(limit));
            const char* p = archive_entry_pathname(e);
            return Wrap(std::move(x).error(), what, ": entry \"", p ? p : "", "\"");
        }
    }
    if (r != ARCHIVE_EOF) return Err(what, ": ", archive_error_string(a));
    for (const auto& d : dir_times) {
        auto fd = TRY(open_parent(root, d.parts, d.parts.size(), false));
        if (::futimens(fd.get(), d.times.t) < 0) return ErrnoErr("set times of ", join(d.parts, "/"));
    }
    return {};
}

// The uncompressed bytes of a layer stream, hashed as they pass: libarchive
// decompresses (raw format) in `outer`, and the tar reader reads from it.
struct DiffIdTap {
    archive* outer;
    EVP_MD_CTX* ctx;
    uint64_t size = 0;
    char buf[128 * 1024];
    std::string error;
};

la_ssize_t tap_read(archive* inner, void* ud, const void** out) {
    auto* t = static_cast<DiffIdTap*>(ud);
    la_ssize_t n = archive_read_data(t->outer, t->buf, sizeof t->buf);
    if (n < 0) {
        t->error = archive_error_string(t->outer) ? archive_error_string(t->outer) : "read error";
        archive_set_error(inner, EIO, "%s", t->error.c_str());
        return -1;
    }
    EVP_DigestUpdate(t->ctx, t->buf, static_cast<size_t>(n));
    t->size += static_cast<uint64_t>(n);
    *out = t->buf;
    return n;
}

}  // namespace

PendingLayer::~PendingLayer() {
    if (tmp_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(tmp_, ec);
}

PendingLayer::PendingLayer(PendingLayer&& o) noexcept
    : layers_dir_(std::move(o.layers_dir_)), tmp_(std::exchange(o.tmp_, "")), diff_id_(std::move(o.diff_id_)) {}

Result<PendingLayer> PendingLayer::extract(int fd, const std::string& layers_dir, const std::string& what) {
    PendingLayer p;
    p.layers_dir_ = layers_dir;
    TRY(mkdir_all(layers_dir, 0700));
    std::string tmp = path_join(layers_dir, ".tmp-XXXXXX");
    if (!::mkdtemp(tmp.data())) return ErrnoErr("create a temp dir in ", layers_dir);
    p.tmp_ = tmp;
    UniqueFd root(::open(tmp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!root) return ErrnoErr("open ", tmp);
    // A lock on the temp dir tells a cleaner that it is being filled.
    if (::flock(root.get(), LOCK_EX) < 0) return ErrnoErr("lock ", tmp);
    // mkdtemp's 0700 would become the container's "/" when the tar has no "." entry.
    if (::fchmod(root.get(), 0755) < 0) return ErrnoErr("chmod ", tmp);

    Archive outer(archive_read_new());
    Archive inner(archive_read_new());
    if (!outer || !inner) return Err("libarchive: out of memory");
    archive_read_support_filter_gzip(outer.get());
    archive_read_support_filter_zstd(outer.get());
    archive_read_support_filter_none(outer.get());
    archive_read_support_format_raw(outer.get());
    archive_read_support_format_empty(outer.get());
    if (archive_read_open_fd(outer.get(), fd, 128 * 1024) != ARCHIVE_OK)
        return Err(what, ": ", archive_error_string(outer.get()));
    archive_entry* e;
    if (archive_read_next_header(outer.get(), &e) != ARCHIVE_OK)
        return Err(what, ": ", archive_error_string(outer.get()));
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
    auto tap = std::make_unique<DiffIdTap>();
    tap->outer = outer.get();
    tap->ctx = ctx.get();
    archive_read_support_format_tar(inner.get());
    archive_read_support_filter_none(inner.get());
    if (archive_read_open(inner.get(), tap.get(), nullptr, tap_read, nullptr) != ARCHIVE_OK)
        return Err(what, ": ", tap->error.empty() ? archive_error_string(inner.get()) : tap->error.c_str());
    TRY(extract_all(inner.get(), what, root.get()));
    // The tar's end may leave padding unread; the diff id covers all of it.
    const void* buf;
    while (true) {
        la_ssize_t n = tap_read(inner.get(), tap.get(), &buf);
        if (n < 0) return Err(what, ": ", tap->error);
        if (n == 0) break;
    }
    if (::fsync(root.get()) < 0) return ErrnoErr("fsync ", tmp);
    p.diff_id_ = {hex_digest(ctx.get()), tap->size};
    return p;
}

Result<void> PendingLayer::commit(const std::string& chain_id) {
    std::string dst = path_join(layers_dir_, chain_id.substr(chain_id.find(':') + 1));
    if (::rename(tmp_.c_str(), dst.c_str()) < 0) {
        // Another berth unpacked the same chain id meanwhile: same content, keep theirs.
        if (errno != EEXIST && errno != ENOTEMPTY) return ErrnoErr("rename ", tmp_, " to ", dst);
        return {};  // the destructor removes ours
    }
    tmp_.clear();
    return {};
}

Result<DiffId> layer_diff_id(const std::string& blob_path) {
    auto in = TRY(LayerReader::open(blob_path));  // stops at max_layer_size()
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
    char buf[64 * 1024];
    size_t n;
    while ((n = TRY(in.read(buf, sizeof buf))) > 0)
        EVP_DigestUpdate(ctx.get(), buf, n);
    return DiffId{hex_digest(ctx.get()), in.total()};
}

std::vector<std::string> chain_ids(const std::vector<std::string>& diff_ids) {
    std::vector<std::string> out;
    for (const auto& d : diff_ids)
        out.push_back(out.empty() ? d : sha256_digest(out.back() + " " + d));
    return out;
}

Result<DiffId> unpack_checked(const std::string& blob_path, const std::string& layers_dir, const std::string& chain_id,
                              const std::string& expected_diff_id) {
    UniqueFd fd(::open(blob_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return ErrnoErr("open ", blob_path);
    auto layer = TRY(PendingLayer::extract(fd.get(), layers_dir, blob_path));
    const DiffId& got = layer.diff_id();
    if (!expected_diff_id.empty() && got.digest != expected_diff_id)
        return Err("diff id mismatch: expected ", expected_diff_id, ", got ", got.digest);
    TRY(layer.commit(chain_id));
    return got;
}

Result<void> unpack_layer(const std::string& blob_path, const std::string& layers_dir, const std::string& chain_id) {
    struct stat st;
    if (::stat(path_join(layers_dir, chain_id.substr(chain_id.find(':') + 1)).c_str(), &st) == 0) return {};
    TRY(unpack_checked(blob_path, layers_dir, chain_id, ""));
    return {};
}

}  // namespace berth::manager
