#include "manager/images/image_store.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "libutil/strings.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace berth;
using namespace berth::manager;

namespace {
ImageRecord image(char c) {
    ImageRecord r;
    r.id = "sha256:" + std::string(64, c);
    r.manifest_digest = "sha256:" + std::string(63, c) + "0";
    r.created = "2024-01-01T00:00:00Z";
    r.size = 1234;
    r.config = "{\"os\":\"linux\"}";
    r.layers = {"sha256:" + std::string(64, '1'), "sha256:" + std::string(64, '2')};
    r.blobs = {r.id, r.manifest_digest, "sha256:" + std::string(64, '9')};
    return r;
}
}  // namespace

TEST_CASE("image store: berth.db in WAL mode with a schema version") {
    TempDir t;
    {
        auto s = ImageStore::open(t.path);
        REQUIRE(s);
    }
    auto mode = read_file(t.path + "/berth.db");
    REQUIRE(mode);
    // The WAL flag lives in the header: bytes 18 and 19 are 2 in WAL mode.
    CHECK(static_cast<int>((*mode)[18]) == 2);
    auto again = ImageStore::open(t.path);  // reopening keeps the schema
    REQUIRE(again);
}

TEST_CASE("image store: add, get, list, names") {
    TempDir t;
    auto s = ImageStore::open(t.path);
    REQUIRE(s);
    auto a = image('a');
    REQUIRE(s->add(a, {"localhost/app:1", "localhost/app:latest"}));
    auto g = s->get(a.id);
    REQUIRE(g);
    REQUIRE(*g);
    CHECK((*g)->manifest_digest == a.manifest_digest);
    CHECK((*g)->size == 1234);
    CHECK((*g)->config == a.config);
    CHECK((*g)->layers == a.layers);  // order kept
    CHECK((*g)->names == std::vector<std::string>{"localhost/app:1", "localhost/app:latest"});
    auto l = s->list();
    REQUIRE(l);
    CHECK(l->size() == 1);
    auto none = s->get("sha256:" + std::string(64, 'f'));
    REQUIRE(none);
    CHECK_FALSE(*none);
}

TEST_CASE("image store: a name moves to the image loaded last") {
    TempDir t;
    auto s = ImageStore::open(t.path);
    REQUIRE(s);
    REQUIRE(s->add(image('a'), {"localhost/app:latest"}));
    REQUIRE(s->add(image('b'), {"localhost/app:latest"}));
    CHECK(*s->resolve("localhost/app:latest", false) == image('b').id);
    CHECK((*s->get(image('a').id))->names.empty());
}

TEST_CASE("image store: resolve by id prefix") {
    TempDir t;
    auto s = ImageStore::open(t.path);
    REQUIRE(s);
    REQUIRE(s->add(image('a'), {}));
    CHECK(*s->resolve("aaaa", true) == image('a').id);
    CHECK(*s->resolve(image('a').id, true) == image('a').id);
    CHECK_FALSE(*s->resolve("bbbb", true));
    CHECK_FALSE(*s->resolve("localhost/nope:latest", false));
}

TEST_CASE("image store: untag, remove, and what stays in use") {
    TempDir t;
    auto s = ImageStore::open(t.path);
    REQUIRE(s);
    auto a = image('a'), b = image('b');
    b.layers = {a.layers[0]};  // b shares the bottom layer
    REQUIRE(s->add(a, {"localhost/a:latest"}));
    REQUIRE(s->add(b, {"localhost/b:latest"}));
    CHECK(*s->untag("localhost/a:latest"));
    CHECK_FALSE(*s->untag("localhost/a:latest"));
    REQUIRE(s->remove(a.id));
    CHECK_FALSE(*s->get(a.id));
    auto layers = s->used_layers();
    REQUIRE(layers);
    CHECK(*layers == std::set<std::string>{a.layers[0]});
    auto blobs = s->used_blobs();
    REQUIRE(blobs);
    CHECK(blobs->count(b.id) == 1);
    CHECK(blobs->count(a.id) == 0);
}
