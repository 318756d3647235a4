#include "manager/images/blob_store.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "libutil/strings.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace berth;
using namespace berth::manager;
namespace fs = std::filesystem;

namespace {
// sha256("hello world")
const std::string kHello = "sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";

size_t count_files(const std::string& dir) {
    size_t n = 0;
    for ([[maybe_unused]] auto& e : fs::recursive_directory_iterator(dir))
        if (e.is_regular_file()) ++n;
    return n;
}
}  // namespace

TEST_CASE("blob store: sha256") {
    CHECK(sha256_digest("hello world") == kHello);
    CHECK(sha256_digest("") == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("blob store: a streamed blob lands under blobs/sha256/<hex>") {
    TempDir t;
    BlobStore s(t.path);
    auto w = s.writer();
    REQUIRE(w);
    REQUIRE(w->write("hello "));
    REQUIRE(w->write("world"));
    auto d = w->commit(kHello, 11);
    REQUIRE(d);
    CHECK(*d == kHello);
    CHECK(s.has(kHello));
    CHECK(s.path(kHello) == t.path + "/blobs/sha256/" + kHello.substr(7));
    CHECK(*s.read(kHello) == "hello world");
    CHECK(count_files(t.path) == 1);  // nothing left in blobs/ingest
}

TEST_CASE("blob store: any digest when none is expected") {
    TempDir t;
    BlobStore s(t.path);
    auto d = s.put("hello world");
    REQUIRE(d);
    CHECK(*d == kHello);
}

TEST_CASE("blob store: a digest mismatch names both digests and leaves nothing") {
    TempDir t;
    BlobStore s(t.path);
    std::string wrong = "sha256:" + std::string(64, '0');
    auto d = s.put("hello world", wrong);
    REQUIRE_FALSE(d);
    CHECK(d.error().message == "digest mismatch: expected " + wrong + ", got " + kHello);
    CHECK_FALSE(s.has(kHello));
    CHECK(count_files(t.path) == 0);
}

TEST_CASE("blob store: a size mismatch is an error and leaves nothing") {
    TempDir t;
    BlobStore s(t.path);
    {
        auto w = s.writer();
        REQUIRE(w);
        REQUIRE(w->write("hello world"));
        auto d = w->commit(kHello, 12);
        REQUIRE_FALSE(d);
        CHECK_THAT(d.error().message, Catch::Contains("size mismatch") && Catch::Contains("expected 12 bytes, got 11"));
    }
    CHECK(count_files(t.path) == 0);
}

TEST_CASE("blob store: an abandoned writer leaves nothing") {
    TempDir t;
    BlobStore s(t.path);
    {
        auto w = s.writer();
        REQUIRE(w);
        REQUIRE(w->write("partial"));
    }
    CHECK(count_files(t.path) == 0);
}

TEST_CASE("blob store: remove, and invalid digests") {
    TempDir t;
    BlobStore s(t.path);
    REQUIRE(s.put("hello world"));
    REQUIRE(s.remove(kHello));
    CHECK_FALSE(s.has(kHello));
    CHECK(s.remove(kHello));  // already gone: fine
    auto r = s.read("sha256:../../etc/passwd");
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("invalid digest"));
    CHECK_FALSE(s.has("sha256:../x"));
}
