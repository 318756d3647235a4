// The rootfs storage with real overlay mounts (the unit tests run as root),
// and the layer diff writer read back with libarchive.
#include "manager/storage/rootfs.hpp"
#include "manager/images/sqlite.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "libutil/strings.hpp"
#include "manager/images/blob_store.hpp"
#include "manager/images/unpack.hpp"
#include "manager/storage/diff.hpp"
#include "manager/storage/overlay.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace berth;
using namespace berth::manager;
namespace fs = std::filesystem;

namespace {

const std::string kBottom = "sha256:" + std::string(64, 'b');
const std::string kTop = "sha256:" + std::string(64, 't');

std::string layer_dir(const std::string& root, const std::string& chain) {
    return root + "/layers/" + chain.substr(7);
}

// An image of two layers: bottom has a="bottom", gone, keep/x; top has a="top"
// and a whiteout of "gone". Returns its id.
std::string add_image(ImageStore& db, const std::string& root, char c, bool layers = true) {
    ImageRecord r;
    r.id = "sha256:" + std::string(64, c);
    r.manifest_digest = r.id;
    r.config = "{}";
    if (layers) {
        r.layers = {kBottom, kTop};
        std::string b = layer_dir(root, kBottom), t = layer_dir(root, kTop);
        fs::create_directories(b + "/keep");
        fs::create_directories(t);
        REQUIRE(write_file(b + "/a", "bottom"));
        REQUIRE(write_file(b + "/gone", "x"));
        REQUIRE(write_file(b + "/keep/x", "x"));
        REQUIRE(write_file(t + "/a", "top"));
        REQUIRE(::mknod((t + "/gone").c_str(), S_IFCHR, makedev(0, 0)) == 0);
    }
    REQUIRE(db.add(r, {}));
    return r.id;
}

// Mount count of a rootfs as recorded.
int64_t count_of(RootfsStore& s, const std::string& id) {
    auto r = s.get(id);
    REQUIRE(r);
    REQUIRE(*r);
    return (*r)->mount_count;
}

struct TarEntry {
    mode_t type;
    std::string data;  // file content, symlink or hardlink target
    int64_t uid;
    std::map<std::string, std::string> xattrs;
};

std::map<std::string, TarEntry> read_layer(const std::string& path, std::vector<std::string>* order = nullptr) {
    std::map<std::string, TarEntry> out;
    archive* a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_format_tar(a);
    REQUIRE(archive_read_open_filename(a, path.c_str(), 10240) == ARCHIVE_OK);
    archive_entry* e;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        TarEntry t{archive_entry_filetype(e), "", archive_entry_uid(e), {}};
        if (archive_entry_hardlink(e)) t.data = cat("link:", archive_entry_hardlink(e));
        if (t.type == AE_IFLNK) t.data = archive_entry_symlink(e);
        if (t.type == AE_IFREG && !archive_entry_hardlink(e)) {
            char buf[4096];
            la_ssize_t n;
            while ((n = archive_read_data(a, buf, sizeof buf)) > 0)
                t.data.append(buf, static_cast<size_t>(n));
        }
        const char* name;
        const void* v;
        size_t len;
        archive_entry_xattr_reset(e);
        while (archive_entry_xattr_next(e, &name, &v, &len) == ARCHIVE_OK)
            t.xattrs[name] = std::string(static_cast<const char*>(v), len);
        if (order) order->push_back(archive_entry_pathname(e));
        out[archive_entry_pathname(e)] = t;
    }
    archive_read_free(a);
    return out;
}

}  // namespace

TEST_CASE("overlay: the mount(2) options string escapes paths and has podman's options") {
    OverlaySpec s{{"/l/top", "/l/a:b,c"}, "/u", "/w", false};
    auto o = overlay_legacy_options(s);
    REQUIRE(o);
    CHECK(*o == "lowerdir=/l/top:/l/a\\:b\\,c,upperdir=/u,workdir=/w,index=off,metacopy=off,redirect_dir=off");
    OverlaySpec many;
    for (int i = 0; i < 200; ++i)
        many.lowers.push_back("/var/lib/berth/layers/" + std::string(64, 'a'));
    auto e = overlay_legacy_options(many);
    REQUIRE_FALSE(e);
    CHECK(e.error().message.find("200 layers") != std::string::npos);
}

TEST_CASE("image store: a version 1 database is migrated to the current version") {
    TempDir t;
    REQUIRE(ImageStore::open(t.path));
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((t.path + "/berth.db").c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db,
                         "DROP TABLE network_leases; DROP TABLE networks; "
                         "DROP TABLE container_volumes; DROP TABLE volumes; DROP TABLE containers; "
                         "DROP TABLE rootfs; DROP TABLE image_mounts; UPDATE schema_version SET version = 1",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
    auto s = RootfsStore::open(t.path);
    REQUIRE(s);
    auto l = s->list();  // the table is there again
    REQUIRE(l);
    CHECK(l->empty());
    // And version 3's and 4's tables.
    for (const char* table : {"containers", "volumes", "container_volumes", "networks", "network_leases"}) {
        Query q(s->images().handle(), (std::string("SELECT count(*) FROM ") + table).c_str());
        CHECK(q.step() == SQLITE_ROW);
    }
}

TEST_CASE("rootfs: create, mount twice, unmount twice, remove") {
    TempDir t;
    auto s = RootfsStore::open(t.path);
    REQUIRE(s);
    std::string image = add_image(s->images(), t.path, 'a');
    auto id = s->create(image);
    REQUIRE(id);
    CHECK(id->size() == 64);
    auto m = s->mount(*id);
    REQUIRE(m);
    CHECK(*m == t.path + "/containers/" + *id + "/merged");
    CHECK(is_mount_point(*m));
    CHECK(*read_file(*m + "/a") == "top");  // the upper layer wins
    CHECK_FALSE(fs::exists(*m + "/gone"));  // the whiteout hides the lower file
    REQUIRE(s->mount(*id));                 // a second user: counted, not mounted again
    CHECK(count_of(*s, *id) == 2);
    auto u = s->users(image);
    REQUIRE(u);
    CHECK(u->rootfs == std::vector<std::string>{*id});
    REQUIRE(s->unmount(*id, false));
    CHECK(is_mount_point(*m));
    REQUIRE(s->unmount(*id, false));
    CHECK_FALSE(is_mount_point(*m));
    CHECK(count_of(*s, *id) == 0);
    REQUIRE(s->unmount(*id, false));  // not mounted: nothing to do
    // An image a rootfs uses cannot be deleted, even without the check.
    CHECK_FALSE(s->images().remove(image));
    REQUIRE(s->mount(*id));
    REQUIRE(s->remove(*id));  // unmounts whatever the count
    CHECK_FALSE(is_mount_point(*m));
    CHECK_FALSE(fs::exists(t.path + "/containers/" + *id));
    CHECK(s->list()->empty());
    CHECK_FALSE(s->mount(*id));
}

TEST_CASE("rootfs: an image without layers gets an empty lower dir") {
    TempDir t;
    auto s = RootfsStore::open(t.path);
    REQUIRE(s);
    auto id = s->create(add_image(s->images(), t.path, 'e', false));
    REQUIRE(id);
    auto m = s->mount(*id);
    REQUIRE(m);
    CHECK(fs::is_empty(*m));
    REQUIRE(write_file(*m + "/f", "x"));
    CHECK(*read_file(s->upper_dir(*id) + "/f") == "x");
    REQUIRE(s->remove(*id));
}

TEST_CASE("rootfs: 120 layers mount through fsconfig lowerdir+, past mount(2)'s one-page options") {
    TempDir t;
    auto s = RootfsStore::open(t.path);
    REQUIRE(s);
    ImageRecord r;
    r.id = "sha256:" + std::string(64, 'c');
    r.manifest_digest = r.id;
    r.config = "{}";
    for (int i = 0; i < 120; ++i) {
        char hex[65];
        std::snprintf(hex, sizeof hex, "%064x", i);
        r.layers.push_back(cat("sha256:", hex));
        fs::create_directories(layer_dir(t.path, r.layers.back()));
        REQUIRE(write_file(layer_dir(t.path, r.layers.back()) + "/f", std::to_string(i)));
        REQUIRE(write_file(layer_dir(t.path, r.layers.back()) + "/only" + std::to_string(i), ""));
    }
    REQUIRE(s->images().add(r, {}));
    auto id = s->create(r.id);
    REQUIRE(id);
    ::setenv("BERTH_OVERLAY_MOUNT_API", "legacy", 1);
    auto legacy = s->mount(*id);
    ::unsetenv("BERTH_OVERLAY_MOUNT_API");
    REQUIRE_FALSE(legacy);
    CHECK(legacy.error().message.find("Linux 6.8") != std::string::npos);
    CHECK(count_of(*s, *id) == 0);
    auto m = s->mount(*id);
    REQUIRE(m);
    CHECK(*read_file(*m + "/f") == "119");  // the top layer wins
    CHECK(fs::exists(*m + "/only0"));       // the bottom one is there too
    REQUIRE(s->remove(*id));
}

TEST_CASE("rootfs: cleanup remounts a counted rootfs and removes a directory without a record") {
    TempDir t;
    auto s = RootfsStore::open(t.path);
    REQUIRE(s);
    std::string image = add_image(s->images(), t.path, 'a');
    auto id = s->create(image);
    REQUIRE(id);
    auto m = s->mount(*id);
    REQUIRE(m);
    REQUIRE(::umount(m->c_str()) == 0);  // as after a reboot
    std::string stray = t.path + "/containers/" + std::string(64, 'f');
    fs::create_directories(stray + "/upper");
    REQUIRE(s->cleanup());
    CHECK(is_mount_point(*m));
    CHECK(count_of(*s, *id) == 1);
    CHECK_FALSE(fs::exists(stray));
    REQUIRE(s->remove(*id));
}

TEST_CASE("rootfs: a read-only image mount is counted and needs no upper dir") {
    TempDir t;
    auto s = RootfsStore::open(t.path);
    REQUIRE(s);
    std::string image = add_image(s->images(), t.path, 'a');
    auto p = s->mount_image(image);
    REQUIRE(p);
    CHECK(*read_file(*p + "/a") == "top");
    CHECK(::access(p->c_str(), W_OK) < 0);
    CHECK(errno == EROFS);
    REQUIRE(s->mount_image(image));
    CHECK(s->image_mounts()->at(0).mount_count == 2);
    CHECK(s->users(image)->mounted);
    CHECK(*s->unmount_image(image, false));
    CHECK(is_mount_point(*p));
    CHECK(*s->unmount_image(image, true));  // force: whatever the count
    CHECK_FALSE(is_mount_point(*p));
    CHECK_FALSE(fs::exists(*p));
    CHECK_FALSE(*s->unmount_image(image, false));
}

TEST_CASE("layer diff: whiteouts, opaque dirs, hardlinks, devices, xattrs, owners; digests match") {
    TempDir t;
    std::string up = t.path + "/upper";
    fs::create_directories(up + "/etc/opaque");
    fs::create_directories(up + "/dev");
    REQUIRE(write_file(up + "/etc/hosts", "127.0.0.1 x\n"));
    REQUIRE(::chown((up + "/etc/hosts").c_str(), 1000, 1000) == 0);
    REQUIRE(::setxattr((up + "/etc/hosts").c_str(), "user.note", "v", 1, 0) == 0);
    REQUIRE(::setxattr((up + "/etc").c_str(), "trusted.overlay.impure", "y", 1, 0) == 0);
    REQUIRE(::setxattr((up + "/etc/opaque").c_str(), "trusted.overlay.opaque", "y", 1, 0) == 0);
    REQUIRE(write_file(up + "/etc/opaque/new", "n"));
    REQUIRE(::mknod((up + "/etc/removed").c_str(), S_IFCHR, makedev(0, 0)) == 0);
    REQUIRE(::link((up + "/etc/hosts").c_str(), (up + "/etc/hosts2").c_str()) == 0);
    REQUIRE(::mknod((up + "/dev/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
    REQUIRE(::mkfifo((up + "/dev/fifo").c_str(), 0600) == 0);
    REQUIRE(::symlink("hosts", (up + "/etc/link").c_str()) == 0);
    BlobStore store(t.path + "/root");
    auto d = write_layer_diff(up, store);
    REQUIRE(d);
    std::string blob = store.path(d->digest);
    CHECK(sha256_digest(*read_file(blob)) == d->digest);
    CHECK(static_cast<int64_t>(fs::file_size(blob)) == d->size);
    auto diff_id = layer_diff_id(blob);
    REQUIRE(diff_id);
    CHECK(diff_id->digest == d->diff_id);

    std::vector<std::string> order;
    auto e = read_layer(blob, &order);
    CHECK(order == std::vector<std::string>{"dev/", "dev/fifo", "dev/null", "etc/", "etc/hosts", "etc/hosts2",
                                            "etc/link", "etc/opaque/", "etc/opaque/.wh..wh..opq", "etc/opaque/new",
                                            "etc/.wh.removed"});
    CHECK(e["etc/hosts"].data == "127.0.0.1 x\n");
    CHECK(e["etc/hosts"].uid == 1000);
    CHECK(e["etc/hosts"].xattrs == std::map<std::string, std::string>{{"user.note", "v"}});
    CHECK(e["etc/"].xattrs.empty());  // overlay's own xattrs stay out
    CHECK(e["etc/hosts2"].data == "link:etc/hosts");
    CHECK(e["etc/link"].data == "hosts");
    CHECK(e["dev/null"].type == AE_IFCHR);
    CHECK(e["dev/fifo"].type == AE_IFIFO);
    CHECK(e["etc/.wh.removed"].type == AE_IFREG);

    // The same tree gives the same layer, byte for byte.
    BlobStore other(t.path + "/other");
    auto again = write_layer_diff(up, other);
    REQUIRE(again);
    CHECK(again->diff_id == d->diff_id);

    // And unpacking it gives overlay's whiteouts back.
    REQUIRE(unpack_layer(blob, t.path + "/layers", d->diff_id));
    std::string l = t.path + "/layers/" + d->diff_id.substr(7);
    struct stat st;
    REQUIRE(::lstat((l + "/etc/removed").c_str(), &st) == 0);
    CHECK((S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)));
    char v[2];
    CHECK(::getxattr((l + "/etc/opaque").c_str(), "trusted.overlay.opaque", v, sizeof v) == 1);
}

TEST_CASE("layer diff: changes made through a mounted rootfs") {
    TempDir t;
    auto s = RootfsStore::open(t.path);
    REQUIRE(s);
    auto id = s->create(add_image(s->images(), t.path, 'a'));
    REQUIRE(id);
    auto m = s->mount(*id);
    REQUIRE(m);
    REQUIRE(write_file(*m + "/new", "n"));
    REQUIRE(::unlink((*m + "/a").c_str()) == 0);
    fs::remove_all(*m + "/keep");
    fs::create_directories(*m + "/keep");  // a dir made again over a removed one: opaque
    REQUIRE(s->unmount(*id, false));
    BlobStore store(t.path);
    auto d = write_layer_diff(s->upper_dir(*id), store);
    REQUIRE(d);
    std::vector<std::string> order;
    auto e = read_layer(store.path(d->digest), &order);
    CHECK(order == std::vector<std::string>{".wh.a", "keep/", "keep/.wh..wh..opq", "new"});
    REQUIRE(s->remove(*id));
}
