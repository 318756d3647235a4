#include "manager/containers/copy.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "libutil/fd.hpp"
#include "libutil/strings.hpp"
#include "runtime/linux/safe_path.hpp"

namespace berth::manager {

namespace {

using runtime::mkdir_all_in_root;
using runtime::open_in_root;

struct ArchiveFree {
    void operator()(archive* a) const { archive_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveFree>;
struct EntryFree {
    void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using EntryPtr = std::unique_ptr<archive_entry, EntryFree>;

Error archive_error(archive* a, const std::string& what) {
    const char* m = archive_error_string(a);
    return Error{0, cat(what, ": ", m ? m : "unknown error")};
}

std::string base_name(const std::string& path) {
    std::string c = clean_path("/" + path);
    return c == "/" ? "." : c.substr(c.rfind('/') + 1);
}

std::string dir_name(const std::string& path) {
    std::string c = clean_path("/" + path);
    auto slash = c.rfind('/');
    return slash == 0 ? "/" : c.substr(0, slash);
}

// Writes the entry at `name` (fd of its parent dir, its own name) and, for a
// directory, everything below it, with archive path `apath`.
Result<void> add_tree(archive* out, int parent, const std::string& name, const std::string& apath, bool follow) {
    struct stat st;
    if (::fstatat(parent, name.c_str(), &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) < 0) return ErrnoErr("stat ", apath);
    EntryPtr e(archive_entry_new());
    archive_entry_set_pathname(e.get(), apath.c_str());
    archive_entry_copy_stat(e.get(), &st);
    UniqueFd fd;
    if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = ::readlinkat(parent, name.c_str(), target, sizeof target - 1);
        if (n < 0) return ErrnoErr("readlink ", apath);
        target[n] = 0;
        archive_entry_set_symlink(e.get(), target);
    } else if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
        fd = UniqueFd(::openat(parent, name.c_str(),
                               O_RDONLY | O_CLOEXEC | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0) | (follow ? 0 : O_NOFOLLOW)));
        if (!fd) return ErrnoErr("open ", apath);
    }
    if (!S_ISREG(st.st_mode)) archive_entry_set_size(e.get(), 0);
    if (archive_write_header(out, e.get()) < ARCHIVE_WARN) return std::unexpected(archive_error(out, apath));
    if (S_ISREG(st.st_mode)) {
        char buf[65536];
        ssize_t n;
        while ((n = ::read(fd.get(), buf, sizeof buf)) > 0)
            if (archive_write_data(out, buf, static_cast<size_t>(n)) < 0) return std::unexpected(archive_error(out, apath));
        if (n < 0) return ErrnoErr("read ", apath);
    }
    if (S_ISDIR(st.st_mode)) {
        std::vector<std::string> names;
        UniqueFd dup(::dup(fd.get()));
        DIR* d = ::fdopendir(dup.release());
        if (!d) return ErrnoErr("read dir ", apath);
        while (auto* ent = ::readdir(d))
            if (std::string_view(ent->d_name) != "." && std::string_view(ent->d_name) != "..")
                names.push_back(ent->d_name);
        ::closedir(d);
        for (const auto& n : names) TRY(add_tree(out, fd.get(), n, apath + "/" + n, false));
    }
    return {};
}

// Creates one entry of a copy-in below the container's root: the parent is
// resolved inside the root, the entry made relative to it without following
// a symlink; an existing non-directory is replaced.
Result<void> write_entry(archive* in, archive_entry* e, int root, const std::string& path, const CopyOptions& o) {
    std::string parent_path = dir_name(path), name = base_name(path);
    if (name == "." || name == "..") return {};
    auto parent = TRY(mkdir_all_in_root(root, parent_path));
    mode_t mode = archive_entry_perm(e);
    uid_t uid = o.archive ? static_cast<uid_t>(archive_entry_uid(e)) : 0;
    gid_t gid = o.archive ? static_cast<gid_t>(archive_entry_gid(e)) : 0;
    struct stat old;
    bool exists = ::fstatat(parent.get(), name.c_str(), &old, AT_SYMLINK_NOFOLLOW) == 0;
    mode_t type = archive_entry_filetype(e);
    if (exists && !(S_ISDIR(old.st_mode) && type == AE_IFDIR)) {
        if (::unlinkat(parent.get(), name.c_str(), S_ISDIR(old.st_mode) ? AT_REMOVEDIR : 0) < 0)
            return ErrnoErr("replace ", path, " in the container");
    }
    if (const char* hl = archive_entry_hardlink(e)) {
        // `hl` was made a path from the container's root by copy_in.
        auto target = TRY(open_in_root(root, hl, O_PATH | O_NOFOLLOW));
        if (::linkat(target.get(), "", parent.get(), name.c_str(), AT_EMPTY_PATH) < 0)
            return ErrnoErr("link ", path, " in the container");
        return {};
    }
    switch (type) {
    case AE_IFDIR: {
        if (!exists && ::mkdirat(parent.get(), name.c_str(), mode) < 0) return ErrnoErr("mkdir ", path, " in the container");
        UniqueFd d(::openat(parent.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!d) return ErrnoErr("open ", path, " in the container");
        if (::fchown(d.get(), uid, gid) < 0 || ::fchmod(d.get(), mode) < 0) return ErrnoErr("chown ", path);
        return {};
    }
    case AE_IFLNK:
        if (::symlinkat(archive_entry_symlink(e), parent.get(), name.c_str()) < 0)
            return ErrnoErr("symlink ", path, " in the container");
        if (::fchownat(parent.get(), name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) < 0) return ErrnoErr("chown ", path);
        return {};
    case AE_IFREG: {
        UniqueFd f(::openat(parent.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!f) return ErrnoErr("create ", path, " in the container");
        const void* buf;
        size_t size;
        la_int64_t offset;
        int r;
        while ((r = archive_read_data_block(in, &buf, &size, &offset)) == ARCHIVE_OK) {
            if (::pwrite(f.get(), buf, size, offset) != static_cast<ssize_t>(size)) return ErrnoErr("write ", path);
        }
        if (r != ARCHIVE_EOF) return std::unexpected(archive_error(in, path));
        if (::ftruncate(f.get(), archive_entry_size(e)) < 0) return ErrnoErr("truncate ", path);
        if (::fchown(f.get(), uid, gid) < 0 || ::fchmod(f.get(), mode) < 0) return ErrnoErr("chown ", path);
        return {};
    }
    default:
        return Err(path, ": only files, directories and symlinks can be copied in");
    }
}

}  // namespace

Result<void> copy_out(int root_fd, const std::string& path, const std::string& dest, const CopyOptions& o) {
    std::string parent_path = dir_name(path), name = base_name(path);
    auto parent = TRY(open_in_root(root_fd, parent_path, O_PATH | O_DIRECTORY));
    struct stat st;
    if (::fstatat(parent.get(), name == "." ? "" : name.c_str(), &st,
                  (name == "." ? AT_EMPTY_PATH : 0) | (o.follow ? 0 : AT_SYMLINK_NOFOLLOW)) < 0)
        return ErrnoErr("could not find the file ", path, " in container");
    ArchivePtr out(archive_write_new());
    std::string top = name == "." ? "." : name;
    bool to_stdout = dest == "-";
    if (to_stdout) {
        archive_write_set_format_pax_restricted(out.get());
        if (archive_write_open_fd(out.get(), STDOUT_FILENO) != ARCHIVE_OK)
            return std::unexpected(archive_error(out.get(), "write to stdout"));
    } else {
        out.reset(archive_write_disk_new());
        archive_write_disk_set_options(out.get(), ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
                                                      ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                      ARCHIVE_EXTRACT_SECURE_NODOTDOT);
        struct stat dst;
        if (::stat(dest.c_str(), &dst) == 0 && S_ISDIR(dst.st_mode)) {
            top = dest + "/" + (name == "." ? base_name(path) : name);
            if (name == "." ) top = dest;
        } else {
            struct stat pd;
            if (::stat(dir_name(dest).c_str(), &pd) < 0 || !S_ISDIR(pd.st_mode))
                return Err("cp: the destination directory ", dir_name(dest), " does not exist");
            top = dest;
        }
    }
    if (name == ".") {
        TRY(add_tree(out.get(), parent.get(), ".", top, true));
    } else {
        TRY(add_tree(out.get(), parent.get(), name, top, o.follow));
    }
    if (archive_write_close(out.get()) != ARCHIVE_OK) return std::unexpected(archive_error(out.get(), "finish the copy"));
    return {};
}

Result<void> copy_in(const std::string& src, int root_fd, const std::string& dest, const CopyOptions& o) {
    // Where the items go: into dest when it is a directory there, else as dest.
    std::string target_dir = dest, rename_top;
    auto d = open_in_root(root_fd, dest, O_PATH | O_DIRECTORY);
    if (!d) {
        if (src == "-") return Err("cp: ", dest, ": no such directory in the container");
        auto parent = open_in_root(root_fd, dir_name(dest), O_PATH | O_DIRECTORY);
        if (!parent) return Err("cp: ", dir_name(dest), ": no such directory in the container");
        target_dir = dir_name(dest);
        rename_top = base_name(dest);
    }
    ArchivePtr in;
    std::string src_prefix;
    if (src == "-") {
        in.reset(archive_read_new());
        archive_read_support_format_tar(in.get());
        archive_read_support_format_gnutar(in.get());
        archive_read_support_filter_all(in.get());
        if (archive_read_open_fd(in.get(), STDIN_FILENO, 65536) != ARCHIVE_OK)
            return std::unexpected(archive_error(in.get(), "read a tar stream from stdin"));
    } else {
        struct stat st;
        if (::lstat(src.c_str(), &st) < 0) return ErrnoErr("cp: ", src);
        in.reset(archive_read_disk_new());
        archive_read_disk_set_symlink_physical(in.get());
        archive_read_disk_set_standard_lookup(in.get());
        if (archive_read_disk_open(in.get(), src.c_str()) != ARCHIVE_OK)
            return std::unexpected(archive_error(in.get(), "cp: " + src));
        src_prefix = src;
        while (src_prefix.size() > 1 && src_prefix.back() == '/') src_prefix.pop_back();
    }
    for (;;) {
        archive_entry* e;
        int r = archive_read_next_header(in.get(), &e);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) return std::unexpected(archive_error(in.get(), "cp: " + src));
        std::string name = archive_entry_pathname(e);
        if (src != "-") {
            if (archive_read_disk_can_descend(in.get())) archive_read_disk_descend(in.get());
            // Host path → name below the top item.
            std::string rest = name.size() > src_prefix.size() ? name.substr(src_prefix.size()) : "";
            std::string top = rename_top.empty() ? base_name(src_prefix) : rename_top;
            name = top + rest;
        } else if (!rename_top.empty()) {
            name = rename_top + "/" + name;
        }
        std::string path = clean_path(target_dir + "/" + name);
        if (src != "-" && archive_entry_hardlink(e)) archive_entry_set_hardlink(e, nullptr);
        if (const char* hl = archive_entry_hardlink(e)) {
            std::string link = clean_path(target_dir + "/" + (rename_top.empty() ? "" : rename_top + "/") + hl);
            archive_entry_copy_hardlink(e, link.c_str());
        }
        TRY(write_entry(in.get(), e, root_fd, path, o));
    }
    return {};
}

}  // namespace berth::manager
