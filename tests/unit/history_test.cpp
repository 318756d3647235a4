#include "manager/images/history.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace berth;
using namespace berth::manager;

namespace {
ImageRecord with_config(std::string config) {
    ImageRecord r;
    r.id = "sha256:" + std::string(64, 'a');
    r.created = "2024-05-01T00:00:00Z";
    r.config = std::move(config);
    r.names = {"localhost/x:1"};
    return r;
}
}  // namespace

TEST_CASE("history: newest first; empty_layer entries have no size; the top row has the id and names") {
    auto img = with_config(R"({"history":[
        {"created":"2024-01-01T00:00:00Z","created_by":"ADD rootfs.tar /"},
        {"created":"2024-01-02T00:00:00Z","created_by":"ENV A=1","empty_layer":true},
        {"created":"2024-01-03T00:00:00Z","created_by":"RUN make","comment":"built"},
        {"created":"2024-01-04T00:00:00Z","created_by":"CMD [\"sh\"]","empty_layer":true}]})");
    auto rows = image_history(img, {100, 200});
    REQUIRE(rows);
    REQUIRE(rows->size() == 4);
    CHECK((*rows)[0].id == std::string(64, 'a'));
    CHECK((*rows)[0].tags == std::vector<std::string>{"localhost/x:1"});
    CHECK((*rows)[0].created_by == "CMD [\"sh\"]");
    CHECK((*rows)[0].size == 0);
    CHECK((*rows)[1].id == "<missing>");
    CHECK((*rows)[1].size == 200);
    CHECK((*rows)[1].comment == "built");
    CHECK((*rows)[2].size == 0);
    CHECK((*rows)[3].size == 100);
    CHECK((*rows)[3].created == "2024-01-01T00:00:00Z");
    CHECK((*rows)[3].tags.empty());
}

TEST_CASE("history: a config without history gets one row per layer") {
    auto rows = image_history(with_config(R"({"os":"linux"})"), {10, 20});
    REQUIRE(rows);
    REQUIRE(rows->size() == 2);
    CHECK((*rows)[0].size == 20);
    CHECK((*rows)[1].size == 10);
    CHECK((*rows)[1].created == "2024-05-01T00:00:00Z");
    auto none = image_history(with_config("{}"), {});
    REQUIRE(none);
    CHECK(none->size() == 1);
}

TEST_CASE("history: more layer entries than layers count 0; a bad config is named") {
    auto rows = image_history(with_config(R"({"history":[{"created_by":"a"},{"created_by":"b"}]})"), {7});
    REQUIRE(rows);
    CHECK((*rows)[0].size == 0);
    CHECK((*rows)[1].size == 7);
    auto bad = image_history(with_config("{"), {});
    REQUIRE_FALSE(bad);
    CHECK(bad.error().what().starts_with("config sha256:aaaa"));
}
