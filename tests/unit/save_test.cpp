#include "manager/images/save.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "libutil/fd.hpp"
#include "manager/images/import.hpp"
#include "manager/images/load.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace berth;
using namespace berth::manager;

namespace {

// A rootfs tarball with one file, gzip'ed or not.
void write_rootfs(const std::string& path, bool gzip) {
    archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (gzip) archive_write_add_filter_gzip(a);
    REQUIRE(archive_write_open_filename(a, path.c_str()) == ARCHIVE_OK);
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, "hello");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, 3);
    REQUIRE(archive_write_header(a, e) == ARCHIVE_OK);
    archive_write_data(a, "hi\n", 3);
    archive_entry_free(e);
    archive_write_close(a);
    archive_write_free(a);
}

const ReferenceDefaults kRefs{"localhost", ""};

// Saves the image `id` of `root` in `format` and loads the result into a new root.
std::vector<LoadedImage> round_trip(const std::string& root, const std::string& id, SaveFormat format,
                                    const std::string& out, const std::string& other) {
    auto db = ImageStore::open(root);
    REQUIRE(db);
    auto img = db->get(id);
    REQUIRE(img);
    REQUIRE(*img);
    std::vector<SaveItem> items{{**img, (*img)->names}};
    if (format == SaveFormat::OciDir) {
        REQUIRE(save_images(root, items, format, -1, out));
        // The directory, tarred, is what load reads.
        REQUIRE(std::system(("tar -C " + out + " -cf " + out + ".tar .").c_str()) == 0);
        auto l = load_archive(out + ".tar", other, kRefs);
        REQUIRE(l);
        return *l;
    }
    UniqueFd fd(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    REQUIRE(fd);
    REQUIRE(save_images(root, items, format, fd.get(), ""));
    fd.reset();
    auto l = load_archive(out, other, kRefs);
    REQUIRE(l);
    return *l;
}

}  // namespace

TEST_CASE("save: format names") {
    CHECK(parse_save_format("docker-archive") == SaveFormat::DockerArchive);
    CHECK(parse_save_format("oci-archive") == SaveFormat::OciArchive);
    CHECK(parse_save_format("oci-dir") == SaveFormat::OciDir);
    auto bad = parse_save_format("tar");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().what() == "unsupported --format \"tar\" (docker-archive, oci-archive or oci-dir)");
}

TEST_CASE("save: every format loads back as the same image with the same name") {
    TempDir t;
    std::string root = t.path + "/root";
    write_rootfs(t.path + "/rootfs.tar.gz", true);
    ImportOptions opts;
    opts.names = {"localhost/x:1"};
    opts.created = "2024-01-01T00:00:00Z";
    auto id = import_rootfs(t.path + "/rootfs.tar.gz", root, opts);
    REQUIRE(id);
    int n = 0;
    for (auto f : {SaveFormat::DockerArchive, SaveFormat::OciArchive, SaveFormat::OciDir}) {
        std::string other = t.path + "/other" + std::to_string(++n);
        auto loaded = round_trip(root, *id, f, t.path + "/out" + std::to_string(n), other);
        REQUIRE(loaded.size() == 1);
        CHECK(loaded[0].id == *id);
        CHECK(loaded[0].names == std::vector<std::string>{"localhost/x:1"});
    }
}
