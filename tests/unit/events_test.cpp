#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

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
