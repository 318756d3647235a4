#include <catch2/catch.hpp>

#include "libutil/json.hpp"
#include "runtime/container/state.hpp"

using namespace berth;
using namespace berth::runtime;

TEST_CASE("parse_state reads what state_json writes", "[state]") {
    ContainerState st;
    st.id = "c1";
    st.bundle = "/b";
    st.rootfs = "/b/rootfs";
    st.pid = 1234;
    st.start_time = 18446744073709551615u;
    st.created = "2024-01-02T03:04:05.123456789Z";
    st.own_pid_ns = true;
    st.config = json::Value::object();
    st.dir = "/run/x/c1";
    auto back = parse_state(json::write(state_json(st)), st.dir);
    REQUIRE(back);
    CHECK(back->id == "c1");
    CHECK(back->bundle == "/b");
    CHECK(back->rootfs == "/b/rootfs");
    CHECK(back->pid == 1234);
    CHECK(back->start_time == 18446744073709551615u);
    CHECK(back->created == st.created);
    CHECK(back->own_pid_ns);
    CHECK(back->dir == "/run/x/c1");
}

TEST_CASE("parse_state: not an object is a corrupt state file", "[state]") {
    for (const char* text : {"", "[]", "{\"id\":", "null"}) {
        auto st = parse_state(text, "/run/x/c1");
        REQUIRE_FALSE(st);
        CHECK(st.error().message == "/run/x/c1/state.json: corrupt state file");
    }
}

// Found by tests/fuzz (fuzz-state): a pid past pid_t's range was cast to a
// negative pid or wrapped to another process's (4294967297 -> 1).
TEST_CASE("parse_state: a pid out of pid_t's range is no pid", "[state]") {
    for (const char* pid : {"4289934594", "4294967295", "4294967297", "2147483648", "-1", "1.5"}) {
        auto st = parse_state(std::string("{\"id\":\"c\",\"pid\":") + pid + "}", "/d");
        REQUIRE(st);
        CHECK(st->pid == 0);
    }
    auto st = parse_state("{\"pid\":2147483647}", "/d");
    REQUIRE(st);
    CHECK(st->pid == 2147483647);
}
