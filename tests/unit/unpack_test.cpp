#include "manager/images/unpack.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "libutil/fd.hpp"
#include "libutil/strings.hpp"
#include "manager/images/blob_store.hpp"
#include "tests/unit/temp_dir.hpp"

// Entries are written with designated initializers naming only what they
// set; g++ 12 warns about the rest even though they have defaults.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

using namespace berth;
using namespace berth::manager;
namespace fs = std::filesystem;

namespace {

struct Entry {
    std::string path;
    mode_t type = AE_IFREG;
    std::string data;  // file content, or symlink / hardlink target
    mode_t mode = 0644;
    bool hardlink = false;
    dev_t rdev = 0;
    int uid = 0;
    std::string xattr;  // "name=value"
};

// Writes a tar (optionally gzip'ed or zstd'ed) with libarchive's writer.
void write_tar(const std::string& path, const std::vector<Entry>& entries, const char* filter = nullptr) {
    archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (filter && std::string(filter) == "gzip") archive_write_add_filter_gzip(a);
    if (filter && std::string(filter) == "zstd") archive_write_add_filter_zstd(a);
    REQUIRE(archive_write_open_filename(a, path.c_str()) == ARCHIVE_OK);
    for (const auto& en : entries) {
        archive_entry* e = archive_entry_new();
        archive_entry_set_pathname(e, en.path.c_str());
        archive_entry_set_mtime(e, 1000000000, 0);
        archive_entry_set_uid(e, en.uid);
        archive_entry_set_gid(e, en.uid);
        if (en.hardlink) {
            archive_entry_set_hardlink(e, en.data.c_str());
            archive_entry_set_size(e, 0);
        } else {
            archive_entry_set_filetype(e, en.type);
            archive_entry_set_perm(e, en.mode);
            if (en.type == AE_IFLNK) archive_entry_set_symlink(e, en.data.c_str());
            if (en.type == AE_IFCHR || en.type == AE_IFBLK) archive_entry_set_rdev(e, en.rdev);
            archive_entry_set_size(e, en.type == AE_IFREG ? static_cast<la_int64_t>(en.data.size()) : 0);
        }
        if (!en.xattr.empty()) {
            auto eq = en.xattr.find('=');
            std::string v = en.xattr.substr(eq + 1);
            archive_entry_xattr_add_entry(e, en.xattr.substr(0, eq).c_str(), v.data(), v.size());
        }
        REQUIRE(archive_write_header(a, e) == ARCHIVE_OK);
        if (en.type == AE_IFREG && !en.hardlink && !en.data.empty())
            archive_write_data(a, en.data.data(), en.data.size());
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
}

const std::string kChain = "sha256:" + std::string(64, 'c');

struct Layer {
    TempDir t;
    std::string tar = t.path + "/layer.tar";
    std::string layers = t.path + "/layers";
    std::string dir = layers + "/" + std::string(64, 'c');
    Result<void> unpack(const std::vector<Entry>& entries, const char* filter = nullptr) {
        write_tar(tar, entries, filter);
        return unpack_layer(tar, layers, kChain);
    }
    // Nothing under layers/ after a failed unpack (not even a temp dir).
    bool layers_empty() const { return !fs::exists(layers) || fs::is_empty(layers); }
};

}  // namespace

TEST_CASE("unpack: files, dirs, symlinks, hardlinks, devices, modes, owners, times") {
    Layer l;
    auto r = l.unpack({
        {.path = "./", .type = AE_IFDIR, .mode = 0755},
        {.path = "bin", .type = AE_IFDIR, .mode = 0755},
        {.path = "bin/tool", .data = "#!/bin/sh\n", .mode = 04755, .uid = 1000},
        {.path = "bin/sh", .type = AE_IFLNK, .data = "tool"},
        {.path = "bin/tool2", .data = "bin/tool", .hardlink = true},
        {.path = "dev/null", .type = AE_IFCHR, .mode = 0666, .rdev = makedev(1, 3)},
        {.path = "etc/deep/file", .data = "x", .xattr = "user.test=v"},
    });
    REQUIRE(r);
    struct stat st;
    REQUIRE(::lstat((l.dir + "/bin/tool").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 04755);  // set-id bit kept: mode set after chown
    CHECK(st.st_uid == 1000);
    CHECK(st.st_mtime == 1000000000);
    CHECK(st.st_nlink == 2);
    CHECK(*read_file(l.dir + "/bin/tool2") == "#!/bin/sh\n");
    CHECK(fs::read_symlink(l.dir + "/bin/sh") == "tool");
    REQUIRE(::lstat((l.dir + "/dev/null").c_str(), &st) == 0);
    CHECK(S_ISCHR(st.st_mode));
    CHECK(st.st_rdev == makedev(1, 3));
    REQUIRE(::lstat((l.dir + "/bin").c_str(), &st) == 0);
    CHECK(st.st_mtime == 1000000000);  // dir times set after their entries
    REQUIRE(::stat(l.dir.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0755);
    char v[8] = {};
    CHECK(::getxattr((l.dir + "/etc/deep/file").c_str(), "user.test", v, sizeof v) == 1);
    CHECK(std::string(v) == "v");
}

TEST_CASE("unpack: gzip and zstd streams") {
    for (const char* f : {"gzip", "zstd"}) {
        INFO(f);
        Layer l;
        REQUIRE(l.unpack({{.path = "hello", .data = "hi"}}, f));
        CHECK(*read_file(l.dir + "/hello") == "hi");
    }
}

TEST_CASE("unpack: whiteouts become overlayfs whiteouts and opaque dirs") {
    Layer l;
    REQUIRE(l.unpack({
        {.path = "etc/.wh.passwd"},
        {.path = "var/.wh..wh..opq"},
    }));
    struct stat st;
    REQUIRE(::lstat((l.dir + "/etc/passwd").c_str(), &st) == 0);
    CHECK(S_ISCHR(st.st_mode));
    CHECK(st.st_rdev == makedev(0, 0));
    CHECK_FALSE(fs::exists(l.dir + "/etc/.wh.passwd"));
    char v[4] = {};
    CHECK(::getxattr((l.dir + "/var").c_str(), "trusted.overlay.opaque", v, sizeof v) == 1);
    CHECK(v[0] == 'y');
    CHECK_FALSE(fs::exists(l.dir + "/var/.wh..wh..opq"));
}

TEST_CASE("unpack: a later entry replaces an earlier one") {
    Layer l;
    REQUIRE(l.unpack({{.path = "f", .data = "old"}, {.path = "f", .data = "new"}}));
    CHECK(*read_file(l.dir + "/f") == "new");
}

TEST_CASE("unpack: an entry replacing a symlink writes inside the layer, not through it") {
    TempDir outside;
    Layer l;
    std::string target = outside.path + "/victim";
    REQUIRE(l.unpack({
        {.path = "f", .type = AE_IFLNK, .data = target},
        {.path = "f", .data = "layer content"},
        {.path = "d", .type = AE_IFLNK, .data = outside.path},
        {.path = "d", .type = AE_IFDIR, .mode = 0755},
        {.path = "d/x", .data = "x"},
    }));
    CHECK(*read_file(l.dir + "/f") == "layer content");
    CHECK(fs::is_directory(fs::symlink_status(l.dir + "/d")));
    CHECK(fs::is_empty(outside.path));
}

TEST_CASE("unpack: an existing layer dir is kept") {
    Layer l;
    REQUIRE(l.unpack({{.path = "a", .data = "1"}}));
    REQUIRE(l.unpack({{.path = "b", .data = "2"}}));
    CHECK(fs::exists(l.dir + "/a"));
    CHECK_FALSE(fs::exists(l.dir + "/b"));
}

TEST_CASE("unpack: malicious paths are rejected, naming the entry, leaving nothing") {
    TempDir outside;
    struct {
        std::vector<Entry> entries;
        std::string msg;
    } cases[] = {
        {{{.path = "../escape", .data = "x"}}, "entry \"../escape\": path has a \"..\" component"},
        {{{.path = "a/../../escape", .data = "x"}}, "entry \"a/../../escape\": path has a \"..\" component"},
        {{{.path = "/etc/escape", .data = "x"}}, "entry \"/etc/escape\": absolute path"},
        {{{.path = "link", .type = AE_IFLNK, .data = outside.path}, {.path = "link/escape", .data = "x"}},
         "entry \"link/escape\": parent \"link\" is a symlink"},
        {{{.path = "d", .type = AE_IFDIR, .mode = 0755},
          {.path = "d/up", .type = AE_IFLNK, .data = "../.."},
          {.path = "d/up/x/escape", .data = "x"}},
         "entry \"d/up/x/escape\": parent \"up\" is a symlink"},
        {{{.path = "hl", .data = "/etc/passwd", .hardlink = true}},
         "entry \"hl\": hardlink target /etc/passwd: absolute path"},
        {{{.path = "hl", .data = "../x", .hardlink = true}}, "hardlink target ../x: path has a \"..\" component"},
        {{{.path = "link", .type = AE_IFLNK, .data = "/etc"}, {.path = "hl", .data = "link/passwd", .hardlink = true}},
         "hardlink target link/passwd: parent \"link\" is a symlink"},
        {{{.path = "f", .data = "x", .xattr = "trusted.overlay.redirect=/etc"}},
         "xattr trusted.overlay.redirect is not allowed"},
    };
    for (const auto& c : cases) {
        INFO(c.msg);
        Layer l;
        auto r = l.unpack(c.entries);
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Catch::Contains(c.msg));
        CHECK(l.layers_empty());
    }
    CHECK(fs::is_empty(outside.path));
    CHECK_FALSE(fs::exists("/etc/escape"));
}

TEST_CASE("unpack: a corrupt stream fails and leaves nothing") {
    Layer l;
    std::string junk(4096, 'j');
    REQUIRE(write_file(l.tar, junk));
    auto r = unpack_layer(l.tar, l.layers, kChain);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains(l.tar));
    CHECK(l.layers_empty());
}

TEST_CASE("unpack: diff id of compressed and uncompressed layers, chain ids") {
    Layer l;
    write_tar(l.tar, {{.path = "hello", .data = "hi"}});
    auto plain = layer_diff_id(l.tar);
    REQUIRE(plain);
    CHECK(plain->digest == sha256_digest(*read_file(l.tar)));
    std::string gz = l.t.path + "/layer.tar.gz";
    write_tar(gz, {{.path = "hello", .data = "hi"}}, "gzip");
    auto z = layer_diff_id(gz);
    REQUIRE(z);
    CHECK(z->digest == plain->digest);
    CHECK(z->size == plain->size);

    std::string a = "sha256:" + std::string(64, 'a'), b = "sha256:" + std::string(64, 'b');
    auto ids = chain_ids({a, b});
    REQUIRE(ids.size() == 2);
    CHECK(ids[0] == a);
    CHECK(ids[1] == sha256_digest(a + " " + b));
}

namespace {

Result<PendingLayer> extract_file(const std::string& path, const std::string& layers) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(fd);
    return PendingLayer::extract(fd.get(), layers, "layer x");
}

}  // namespace

TEST_CASE("pending layer: one pass unpacks and computes the diff id (plain, gzip, zstd); commit names it") {
    for (const char* filter : {static_cast<const char*>(nullptr), "gzip", "zstd"}) {
        Layer l;
        write_tar(l.tar, {{.path = "a/b", .data = "hello"}, {.path = "c", .type = AE_IFLNK, .data = "/etc"}}, filter);
        auto expected = layer_diff_id(l.tar);
        REQUIRE(expected);
        {
            auto p = extract_file(l.tar, l.layers);
            REQUIRE(p);
            CHECK(p->diff_id().digest == expected->digest);
            CHECK(p->diff_id().size == expected->size);
            REQUIRE(p->commit(kChain));
        }
        CHECK(*read_file(l.dir + "/a/b") == "hello");
        CHECK(fs::read_symlink(l.dir + "/c") == "/etc");
        // Only the committed dir is left.
        CHECK(std::distance(fs::directory_iterator(l.layers), fs::directory_iterator()) == 1);
    }
}

TEST_CASE("pending layer: uncommitted, a bad entry, a truncated stream: nothing is left") {
    Layer l;
    write_tar(l.tar, {{.path = "f", .data = std::string(100000, 'x')}}, "gzip");
    {
        auto p = extract_file(l.tar, l.layers);
        REQUIRE(p);
    }
    CHECK(l.layers_empty());
    std::string data = *read_file(l.tar);
    REQUIRE(write_file(l.tar, data.substr(0, data.size() / 2)));
    auto t = extract_file(l.tar, l.layers);
    REQUIRE_FALSE(t);
    CHECK(t.error().message.starts_with("layer x"));
    CHECK(l.layers_empty());
    write_tar(l.tar, {{.path = "../evil", .data = "x"}});
    auto e = extract_file(l.tar, l.layers);
    REQUIRE_FALSE(e);
    CHECK(e.error().message == "layer x: entry \"../evil\": path has a \"..\" component");
    CHECK(l.layers_empty());
}
