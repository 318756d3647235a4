// `berth save [-o FILE] [--format docker-archive|oci-archive|oci-dir] IMAGE...`
// The archive goes to FILE through a temp file renamed into place (a failed
// save leaves nothing), or to stdout when that is not a terminal.
#include "manager/images/save.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "libutil/fd.hpp"
#include "libutil/strings.hpp"
#include "manager/cli/args.hpp"
#include "manager/cli/commands.hpp"
#include "manager/images/store_lock.hpp"

namespace berth::manager {

namespace {

// The image ARG names, and the names to write for it: the name given, or
// every name of the image when ARG is an id.
Result<SaveItem> save_item(const GlobalOptions& g, ImageStore& db, const std::string& arg) {
    auto img = TRY(find_image_record(db, g, arg));
    const std::string id = img.id;
    SaveItem it{std::move(img), {}};
    auto ref = parse_reference(arg, g.refs);
    if (ref && TRY(db.resolve(ref->str(), false)) == id)
        it.names.push_back(ref->str());
    else
        it.names = it.image.names;
    return it;
}

// A sibling of `out` to write into; `dir` makes a directory.
Result<std::string> temp_sibling(const std::string& out, bool dir) {
    std::string tmpl = out + ".tmp-XXXXXX";
    if (dir) {
        if (!::mkdtemp(tmpl.data())) return ErrnoErr("create a temp dir next to ", out);
    } else {
        int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
        if (fd < 0) return ErrnoErr("create a temp file next to ", out);
        ::close(fd);
    }
    return tmpl;
}

Result<void> save_to(const std::string& root, const std::vector<SaveItem>& items, SaveFormat format,
                     const std::string& out) {
    if (out.empty()) {
        if (format == SaveFormat::OciDir) return Err("save: --format oci-dir needs -o DIR");
        if (::isatty(STDOUT_FILENO)) return Err("save: refusing to write an archive to a terminal; use -o FILE");
        return save_images(root, items, format, STDOUT_FILENO, "");
    }
    bool dir = format == SaveFormat::OciDir;
    std::string tmp = TRY(temp_sibling(out, dir));
    auto r = [&]() -> Result<void> {
        if (dir) {
            TRY(save_images(root, items, format, -1, tmp));
            if (::chmod(tmp.c_str(), 0755) < 0) return ErrnoErr("chmod ", tmp);
        } else {
            UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
            if (!fd) return ErrnoErr("open ", tmp);
            TRY(save_images(root, items, format, fd.get(), ""));
            if (::fchmod(fd.get(), 0644) < 0) return ErrnoErr("chmod ", tmp);
            if (::fsync(fd.get()) < 0) return ErrnoErr("fsync ", tmp);
        }
        if (::rename(tmp.c_str(), out.c_str()) < 0) return ErrnoErr("save: ", out);
        return {};
    }();
    if (!r) {
        std::error_code ec;
        std::filesystem::remove_all(tmp, ec);
    }
    return r;
}

}  // namespace

int cmd_save(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"output", 'o', true}, {"format", 0, true}, {"quiet", 'q', false}});
    if (!a) return fail(a.error());
    if (a->positional.empty()) return fail(Error{0, "save: an image name or id is required"});
    auto format = parse_save_format(a->get("format", "docker-archive"));
    if (!format) return fail(format.error());
    if (a->has("output") && a->get("output").empty()) return fail(Error{0, "save: -o must not be empty"});
    auto db = ImageStore::open(g.root);
    if (!db) return fail(db.error());
    // The blobs written must stay while they are read.
    auto lock = StoreLock::shared(g.root);
    if (!lock) return fail(lock.error());
    std::vector<SaveItem> items;
    for (const auto& arg : a->positional) {
        auto it = save_item(g, *db, arg);
        if (!it) return fail(it.error());
        // An image named twice is written once, with both names (as podman).
        auto same =
            std::find_if(items.begin(), items.end(), [&](const SaveItem& x) { return x.image.id == it->image.id; });
        if (same == items.end()) {
            items.push_back(std::move(*it));
            continue;
        }
        for (const auto& n : it->names)
            if (std::find(same->names.begin(), same->names.end(), n) == same->names.end()) same->names.push_back(n);
    }
    if (auto r = save_to(g.root, items, *format, a->get("output")); !r) return fail(r.error());
    return 0;
}

}  // namespace berth::manager
