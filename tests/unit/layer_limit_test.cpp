// BERTH_MAX_LAYER_SIZE: every reader of a layer stops at the limit.
#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "manager/images/layer_stream.hpp"
#include "manager/images/unpack.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace berth;
using namespace berth::manager;

namespace {

// A gzip'ed tar with one file of `size` zero bytes: tiny compressed, big unpacked.
void write_zeros_tar(const std::string& path, size_t size) {
    archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_add_filter_gzip(a);
    REQUIRE(archive_write_open_filename(a, path.c_str()) == ARCHIVE_OK);
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, "zeros");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, static_cast<la_int64_t>(size));
    REQUIRE(archive_write_header(a, e) == ARCHIVE_OK);
    std::string chunk(64 * 1024, '\0');
    for (size_t done = 0; done < size; done += chunk.size())
        archive_write_data(a, chunk.data(), std::min(chunk.size(), size - done));
    archive_entry_free(e);
    archive_write_close(a);
    archive_write_free(a);
}

struct EnvLimit {
    explicit EnvLimit(const char* v) { ::setenv("BERTH_MAX_LAYER_SIZE", v, 1); }
    ~EnvLimit() { ::unsetenv("BERTH_MAX_LAYER_SIZE"); }
};

}  // namespace

TEST_CASE("layer limit: 64 GiB unless BERTH_MAX_LAYER_SIZE says otherwise") {
    CHECK(*max_layer_size() == 64ULL << 30);
    {
        EnvLimit e("1M");
        CHECK(*max_layer_size() == 1u << 20);
    }
    for (const char* bad : {"1X", "lots", "0", "-5"}) {
        EnvLimit e(bad);
        auto r = max_layer_size();
        REQUIRE_FALSE(r);
        CHECK(std::string(r.error().what()) ==
              "BERTH_MAX_LAYER_SIZE: invalid size \"" + std::string(bad) + "\" (bytes, or a number with K, M, G or T)");
    }
}

TEST_CASE("layer limit: diff id, unpack and the layer reader refuse a bigger layer, leaving nothing") {
    TempDir t;
    std::string tar = t.path + "/bomb.tar.gz";
    write_zeros_tar(tar, 4 << 20);
    EnvLimit e("1M");
    const std::string msg = "uncompressed size exceeds the limit of 1048576 bytes (BERTH_MAX_LAYER_SIZE)";
    auto d = layer_diff_id(tar);
    REQUIRE_FALSE(d);
    CHECK_THAT(d.error().what(), Catch::Contains(msg));
    std::string layers = t.path + "/layers";
    auto u = unpack_layer(tar, layers, "sha256:" + std::string(64, 'c'));
    REQUIRE_FALSE(u);
    CHECK_THAT(u.error().what(), Catch::Contains(msg));
    CHECK(std::filesystem::is_empty(layers));
    auto r = LayerReader::open(tar);
    REQUIRE(r);
    char buf[65536];
    Result<size_t> n;
    while ((n = r->read(buf, sizeof buf)) && *n > 0) {
    }
    REQUIRE_FALSE(n);
    CHECK(n.error().what() == tar + ": " + msg);
    auto s = layer_tar_size(tar);
    REQUIRE_FALSE(s);
}

TEST_CASE("layer limit: a layer under the limit is fine") {
    TempDir t;
    std::string tar = t.path + "/ok.tar.gz";
    write_zeros_tar(tar, 100 * 1024);
    EnvLimit e("1M");
    auto d = layer_diff_id(tar);
    REQUIRE(d);
    CHECK(d->size > 100 * 1024);
    auto s = layer_tar_size(tar);
    REQUIRE(s);
    CHECK(*s == d->size);
}
