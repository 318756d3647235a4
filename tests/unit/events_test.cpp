#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "libutil/strings.hpp"

#include "manager/containers/events.hpp"

using namespace berth;
using namespace berth::manager;

TEST_CASE("events: a recorded event is one line docker's message is made from", "[events]") {
    char tmpl[] = "/tmp/berth-events-test.XXXXXX";
    REQUIRE(::mkdtemp(tmpl));
    std::string dir = tmpl;
    record_event(dir, Event{"container", "die", "abc123", {{"name", "web"}, {"image", "busybox"}, {"exitCode", "3"}},
                            1700000000123456789});
    record_event(dir, Event{"image", "pull", "busybox:latest", {}, 1700000001000000000});
    std::ifstream f(events_log(dir));
    std::string l1, l2, l3;
    REQUIRE(std::getline(f, l1));
    REQUIRE(std::getline(f, l2));
    CHECK_FALSE(std::getline(f, l3));
    auto m = event_message(l1);
    REQUIRE(m);
    CHECK(m->find("Type")->as_string() == "container");
    CHECK(m->find("Action")->as_string() == "die");
    CHECK(m->find("status")->as_string() == "die");
    CHECK(m->find("id")->as_string() == "abc123");
    CHECK(m->find("from")->as_string() == "busybox");
    CHECK(m->find("Actor")->find("Attributes")->find("exitCode")->as_string() == "3");
    CHECK(*m->find("time")->as_int64() == 1700000000);
    CHECK(*m->find("timeNano")->as_int64() == 1700000000123456789);
    auto img = event_message(l2);
    REQUIRE(img);
    CHECK(img->find("status") == nullptr);  // only containers have the old fields
    CHECK(img->find("Actor")->find("ID")->as_string() == "busybox:latest");
    CHECK_FALSE(event_message("not json"));
    CHECK_FALSE(event_message("[1,2]"));
    std::filesystem::remove_all(dir);
}

TEST_CASE("events: since and until as unix seconds, RFC 3339 or a duration before now", "[events]") {
    const int64_t now = 1800000000LL * 1000000000;
    CHECK(*parse_event_time("1700000000", now) == 1700000000LL * 1000000000);
    CHECK(*parse_event_time("1700000000.5", now) == 1700000000500000000LL);
    CHECK(*parse_event_time("2023-11-14T22:13:20Z", now) == 1700000000LL * 1000000000);
    CHECK(*parse_event_time("2023-11-14T22:13:20.25Z", now) == 1700000000250000000LL);
    CHECK(*parse_event_time("2023-11-15T00:13:20+02:00", now) == 1700000000LL * 1000000000);
    CHECK(*parse_event_time("2023-11-14T20:13:20-02:00", now) == 1700000000LL * 1000000000);
    CHECK(*parse_event_time("2023-11-14", now) == 1699920000LL * 1000000000);
    CHECK(*parse_event_time("10m", now) == now - 600LL * 1000000000);
    CHECK(*parse_event_time("1h30m", now) == now - 5400LL * 1000000000);
    CHECK(*parse_event_time("1.5s", now) == now - 1500000000LL);
    for (const char* bad : {"", "yesterday", "10x", "-5", "2023-13-40", "2023-11-14T22:13:20+2"}) {
        auto r = parse_event_time(bad, now);
        INFO(bad);
        REQUIRE_FALSE(r);
        CHECK(std::string(r.error().what()).find(cat("'", bad, "'")) != std::string::npos);
    }
}

TEST_CASE("events: filters by type, action, container, image, volume and network", "[events]") {
    auto msg = [](const char* line) { return *event_message(line); };
    auto ctr = msg(R"({"type":"container","action":"start","id":"abc123","attributes":{"name":"web","image":"busybox"},"timeNano":1})");
    auto img = msg(R"({"type":"image","action":"tag","id":"sha256:1","attributes":{"name":"busybox:v2"},"timeNano":1})");
    auto vol = msg(R"({"type":"volume","action":"create","id":"data","attributes":{"driver":"local"},"timeNano":1})");
    auto net = msg(R"({"type":"network","action":"connect","id":"n1d","attributes":{"name":"front","container":"abc123"},"timeNano":1})");
    auto only = [](std::initializer_list<std::pair<const char*, const char*>> kv) {
        EventFilters f;
        for (const auto& [k, v] : kv) REQUIRE(add_event_filter(f, k, v));
        return f;
    };
    CHECK(event_passes({}, ctr));
    CHECK(event_passes(only({{"type", "container"}}), ctr));
    CHECK_FALSE(event_passes(only({{"type", "container"}}), img));
    CHECK(event_passes(only({{"type", "image"}, {"type", "volume"}}), vol));  // one key: any value
    CHECK(event_passes(only({{"event", "start"}}), ctr));
    CHECK_FALSE(event_passes(only({{"event", "start"}, {"type", "image"}}), ctr));  // keys: all of them
    CHECK(event_passes(only({{"container", "web"}}), ctr));
    CHECK(event_passes(only({{"container", "abc"}}), ctr));
    CHECK(event_passes(only({{"container", "web"}, {"container", "abc"}}), net));
    CHECK_FALSE(event_passes(only({{"container", "web"}}), vol));
    CHECK(event_passes(only({{"image", "busybox"}}), ctr));
    CHECK(event_passes(only({{"image", "busybox:v2"}}), img));
    CHECK(event_passes(only({{"volume", "data"}}), vol));
    CHECK_FALSE(event_passes(only({{"volume", "other"}}), vol));
    CHECK(event_passes(only({{"network", "front"}}), net));
    CHECK(event_passes(only({{"network", "n1"}}), net));
    EventFilters f;
    auto bad = add_event_filter(f, "colour", "red");
    REQUIRE_FALSE(bad);
    CHECK(std::string(bad.error().what()).find("'colour'") != std::string::npos);
}

TEST_CASE("events: read_events replays from a time, filtered, across a rotation, and follows", "[events]") {
    char tmpl[] = "/tmp/berth-events-test.XXXXXX";
    REQUIRE(::mkdtemp(tmpl));
    std::string dir = tmpl;
    record_event(dir, Event{"volume", "create", "old", {}, 100});
    record_event(dir, Event{"volume", "create", "a", {}, 200});
    // A rotation: what was written so far is in events.log.1.
    std::filesystem::rename(events_log(dir), events_log(dir) + ".1");
    record_event(dir, Event{"image", "tag", "sha256:1", {}, 300});
    record_event(dir, Event{"volume", "destroy", "a", {}, 400});
    std::vector<std::string> seen;
    auto collect = [&](const json::Value& m) {
        seen.push_back(m.find("Actor")->find("ID")->as_string() + "/" + m.find("Action")->as_string());
        return true;
    };
    EventFilters vols;
    REQUIRE(add_event_filter(vols, "type", "volume"));
    read_events(dir, 150, std::nullopt, vols, false, collect, [] { return true; });
    CHECK(seen == std::vector<std::string>{"a/create", "a/destroy"});
    seen.clear();
    read_events(dir, 0, 300, {}, false, collect, [] { return true; });
    CHECK(seen == std::vector<std::string>{"old/create", "a/create", "sha256:1/tag"});
    // Followed: a line written while reading shows up, then keep_going ends it.
    seen.clear();
    int rounds = 0;
    read_events(dir, 350, std::nullopt, {}, true, collect, [&] {
        if (++rounds == 1) record_event(dir, Event{"volume", "create", "late", {}, 500});
        return rounds < 3;
    });
    CHECK(seen == std::vector<std::string>{"a/destroy", "late/create"});
    // emit returning false stops at once.
    seen.clear();
    read_events(dir, 0, std::nullopt, {}, true, [&](const json::Value& m) { return collect(m), false; },
                [] { return true; });
    CHECK(seen.size() == 1);
    std::filesystem::remove_all(dir);
}
