#include "manager/storage/diff.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <vector>

#include "libutil/fd.hpp"
#include "libutil/strings.hpp"

namespace berth::manager {

namespace {

struct ArchiveFree {
    void operator()(archive* a) const { archive_write_free(a); }
};
using WriteArchive = std::unique_ptr<archive, ArchiveFree>;
struct EntryFree {
    void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using Entry = std::unique_ptr<archive_entry, EntryFree>;

constexpr std::string_view kOverlayXattrs = "trusted.overlay.";

// Two libarchive writers in a row: `tar` writes the layer's tar stream; its
// output is hashed (the diff id) and fed to `gz`, a raw writer with gzip,
// whose output is the blob. libarchive gives no other way to see both the
// uncompressed and the compressed bytes in one pass.
struct Pipeline {
    BlobWriter* blob = nullptr;
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> diff_ctx{EVP_MD_CTX_new(), EVP_MD_CTX_free};
    WriteArchive gz;
    WriteArchive tar;
    Error blob_error;
    int64_t tar_size = 0;

    static la_ssize_t to_blob(archive*, void* self, const void* buf, size_t len) {
        auto* p = static_cast<Pipeline*>(self);
        if (auto r = p->blob->write(buf, len); !r) {
            p->blob_error = r.error();
            return -1;
        }
        return static_cast<la_ssize_t>(len);
    }
    static la_ssize_t to_gzip(archive*, void* self, const void* buf, size_t len) {
        auto* p = static_cast<Pipeline*>(self);
        EVP_DigestUpdate(p->diff_ctx.get(), buf, len);
        p->tar_size += static_cast<int64_t>(len);
        if (archive_write_data(p->gz.get(), buf, len) < 0) return -1;
        return static_cast<la_ssize_t>(len);
    }
    Error error(archive* a, std::string_view what) const {
        if (!blob_error.message.empty()) return blob_error;
        return Error{0, cat(what, ": ", archive_error_string(a) ? archive_error_string(a) : "libarchive error")};
    }
};

// xattrs of `path` (an fd's /proc path) other than overlay's own.
Result<void> add_xattrs(archive_entry* e, const std::string& path) {
    ssize_t n = ::listxattr(path.c_str(), nullptr, 0);
    if (n < 0) return errno == ENOTSUP ? Result<void>{} : ErrnoErr("list xattrs");
    std::string names(static_cast<size_t>(n), '\0');
    n = ::listxattr(path.c_str(), names.data(), names.size());
    if (n < 0) return ErrnoErr("list xattrs");
    names.resize(static_cast<size_t>(n));
    for (const auto& name : split(names, '\0')) {
        if (name.empty() || std::string_view(name).starts_with(kOverlayXattrs)) continue;
        ssize_t len = ::getxattr(path.c_str(), name.c_str(), nullptr, 0);
        if (len < 0) return ErrnoErr("get xattr ", name);
        std::string value(static_cast<size_t>(len), '\0');
        len = ::getxattr(path.c_str(), name.c_str(), value.data(), value.size());
        if (len < 0) return ErrnoErr("get xattr ", name);
        archive_entry_xattr_add_entry(e, name.c_str(), value.data(), static_cast<size_t>(len));
    }
    return {};
}

bool is_opaque(int fd) {
    char v[2];
    return ::fgetxattr(fd, "trusted.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y';
}

class Writer {
public:
    explicit Writer(Pipeline& p) : p_(p) {}

    // Writes the entries below the directory `dir` (relative name `rel`).
    Result<void> walk(int dir, const std::string& rel) {
        for (const auto& name : TRY(sorted_names(dir, rel))) {
            std::string path = rel.empty() ? name : rel + "/" + name;
            TRY_CTX(entry(dir, name, path), path);
        }
        return {};
    }

private:
    Result<std::vector<std::string>> sorted_names(int dir, const std::string& rel) {
        int dup = ::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dup < 0) return ErrnoErr("open ", rel.empty() ? "." : rel);
        std::unique_ptr<DIR, int (*)(DIR*)> d(::fdopendir(dup), ::closedir);
        if (!d) {
            ::close(dup);
            return ErrnoErr("read ", rel);
        }
        std::vector<std::string> out;
        while (dirent* e = ::readdir(d.get())) {
            std::string_view n = e->d_name;
            if (n != "." && n != "..") out.emplace_back(n);
        }
        std::sort(out.begin(), out.end());
        return out;
    }

    Result<void> write_header(archive_entry* e, std::string_view what) {
        if (archive_write_header(p_.tar.get(), e) < ARCHIVE_WARN) return std::unexpected(p_.error(p_.tar.get(), what));
        return {};
    }

    // A zero-length regular file with `st`'s owner and times: a whiteout marker.
    Result<void> marker(const std::string& path, const struct stat& st) {
        Entry e(archive_entry_new());
        archive_entry_set_pathname(e.get(), path.c_str());
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_set_perm(e.get(), 0644);
        archive_entry_set_size(e.get(), 0);
        archive_entry_set_uid(e.get(), st.st_uid);
        archive_entry_set_gid(e.get(), st.st_gid);
        archive_entry_set_mtime(e.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
        return write_header(e.get(), "write whiteout");
    }

    Result<void> entry(int dir, const std::string& name, const std::string& path) {
        struct stat st;
        if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return ErrnoErr("stat");
        std::string parent = path.substr(0, path.size() - name.size());
        if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) return marker(parent + ".wh." + name, st);
        if (S_ISSOCK(st.st_mode)) return {};  // a socket is a running process's, not the image's

        UniqueFd fd(::openat(dir, name.c_str(),
                             (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) ? O_RDONLY : O_PATH) | O_NOFOLLOW | O_CLOEXEC |
                                 O_NOCTTY | O_NONBLOCK));
        if (!fd) return ErrnoErr("open");
        Entry e(archive_entry_new());
        archive_entry_copy_stat(e.get(), &st);
        archive_entry_set_pathname(e.get(), path.c_str());
        // Ids, not names: the host's /etc/passwd says nothing about the image's.
        archive_entry_set_uname(e.get(), nullptr);
        archive_entry_set_gname(e.get(), nullptr);
        if (S_ISLNK(st.st_mode)) {
            std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
            ssize_t n = ::readlinkat(dir, name.c_str(), target.data(), target.size());
            if (n < 0) return ErrnoErr("readlink");
            target.resize(static_cast<size_t>(n));
            archive_entry_set_symlink(e.get(), target.c_str());
        } else {
            // Symlinks carry no xattrs through a /proc fd path that is itself a link.
            TRY(add_xattrs(e.get(), cat("/proc/self/fd/", fd.get())));
        }
        if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
            auto [it, first] = links_.try_emplace({st.st_dev, st.st_ino}, path);
            if (!first) {
                archive_entry_set_size(e.get(), 0);
                archive_entry_set_hardlink(e.get(), it->second.c_str());
                return write_header(e.get(), "write hardlink");
            }
        }
        TRY(write_header(e.get(), "write header"));
        if (S_ISREG(st.st_mode)) return copy(fd.get(), st.st_size);
        if (S_ISDIR(st.st_mode)) {
            if (is_opaque(fd.get())) TRY(marker(path + "/.wh..wh..opq", st));
            return walk(fd.get(), path);
        }
        return {};
    }

    Result<void> copy(int fd, off_t size) {
        char buf[128 * 1024];
        off_t done = 0;
        while (done < size) {
            ssize_t n = ::read(fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return ErrnoErr("read");
            if (n == 0) return Err("file shrank while it was read");
            n = std::min<ssize_t>(n, size - done);  // the header promised `size` bytes
            if (archive_write_data(p_.tar.get(), buf, static_cast<size_t>(n)) < 0)
                return std::unexpected(p_.error(p_.tar.get(), "write data"));
            done += n;
        }
        return {};
    }

    Pipeline& p_;
    std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

Result<void> open_pipeline(Pipeline& p) {
    p.gz.reset(archive_write_new());
    p.tar.reset(archive_write_new());
    if (!p.gz || !p.tar || !p.diff_ctx) return Err("out of memory");
    EVP_DigestInit_ex(p.diff_ctx.get(), EVP_sha256(), nullptr);
    archive* gz = p.gz.get();
    if (archive_write_set_format_raw(gz) != ARCHIVE_OK || archive_write_add_filter_gzip(gz) != ARCHIVE_OK)
        return std::unexpected(p.error(gz, "gzip"));
    // No padding after the gzip stream, none after the tar's end blocks.
    archive_write_set_bytes_in_last_block(gz, 1);
    if (archive_write_open2(gz, &p, nullptr, Pipeline::to_blob, nullptr, nullptr) != ARCHIVE_OK)
        return std::unexpected(p.error(gz, "gzip"));
    Entry raw(archive_entry_new());
    archive_entry_set_filetype(raw.get(), AE_IFREG);
    archive_entry_set_pathname(raw.get(), "layer.tar");
    if (archive_write_header(gz, raw.get()) != ARCHIVE_OK) return std::unexpected(p.error(gz, "gzip"));
    archive* tar = p.tar.get();
    // pax: long names, xattrs, nanosecond times; what docker and podman write.
    if (archive_write_set_format_pax_restricted(tar) != ARCHIVE_OK) return std::unexpected(p.error(tar, "tar"));
    archive_write_set_bytes_in_last_block(tar, 1);
    if (archive_write_open2(tar, &p, nullptr, Pipeline::to_gzip, nullptr, nullptr) != ARCHIVE_OK)
        return std::unexpected(p.error(tar, "tar"));
    return {};
}

}  // namespace

Result<LayerDiff> write_layer_diff(const std::string& upper_dir, BlobStore& store) {
    UniqueFd root(::open(upper_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!root) return ErrnoErr("open ", upper_dir);
    auto blob = TRY(store.writer());
    Pipeline p;
    p.blob = &blob;
    TRY_CTX(open_pipeline(p), "layer of ", upper_dir);
    Writer w(p);
    TRY_CTX(w.walk(root.get(), ""), "layer of ", upper_dir);
    if (archive_write_close(p.tar.get()) != ARCHIVE_OK) return Wrap(p.error(p.tar.get(), "finish tar"), upper_dir);
    if (archive_write_close(p.gz.get()) != ARCHIVE_OK) return Wrap(p.error(p.gz.get(), "finish gzip"), upper_dir);
    LayerDiff out;
    out.diff_id = hex_digest(p.diff_ctx.get());
    out.size = static_cast<int64_t>(blob.size());
    out.diff_size = p.tar_size;
    out.digest = TRY(blob.commit("", -1));
    return out;
}

}  // namespace berth::manager
