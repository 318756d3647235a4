// The container code that needs no running container: the store's records
// and names, the log reader, --format templates, grouped short flags.
#include <catch2/catch.hpp>

#include "manager/cli/args.hpp"
#include "manager/cli/format.hpp"
#include "manager/containers/container_store.hpp"
#include "manager/containers/logs.hpp"
#include "manager/containers/names.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace berth;
using namespace berth::manager;

namespace {

ContainerRecord record(const std::string& id, const std::string& name) {
    ContainerRecord c;
    c.id = id;
    c.name = name;
    c.image_id = "sha256:" + std::string(64, 'a');
    c.image_name = "busybox";
    c.created = now_rfc3339_nano();
    c.state = "created";
    c.options = "{}";
    return c;
}

// An image row for the containers' foreign key.
void add_image(ImageStore& db) {
    ImageRecord img;
    img.id = "sha256:" + std::string(64, 'a');
    img.manifest_digest = "sha256:" + std::string(64, 'b');
    img.config = "{}";
    REQUIRE(db.add(img, {"localhost/busybox:latest"}));
}

}  // namespace

TEST_CASE("container store: insert, find by name, id and prefix, update, remove") {
    TempDir t;
    auto db = ImageStore::open(t.path);
    REQUIRE(db);
    add_image(*db);
    ContainerStore s(*db);
    std::string a = std::string(64, '1'), b = "12" + std::string(62, '2');
    REQUIRE(s.insert(record(a, "web")));
    REQUIRE(s.insert(record(b, "db")));
    CHECK(s.find("web")->id == a);
    CHECK(s.find(a)->name == "web");
    CHECK(s.find("122")->name == "db");
    auto ambiguous = s.find("1");
    REQUIRE_FALSE(ambiguous);
    CHECK(ambiguous.error().message == "1: more than one container has an id starting with it");
    auto none = s.find("nosuch");
    REQUIRE_FALSE(none);
    CHECK(none.error().message == "no such container: nosuch");
    // A name is unique; docker's words name the holder.
    auto dup = s.insert(record(std::string(64, '3'), "web"));
    REQUIRE_FALSE(dup);
    CHECK(dup.error().message.find("the container name \"web\" is already in use by " + a) == 0);
    auto c = *s.find("web");
    c.state = "exited";
    c.exit_code = 137;
    c.oom_killed = true;
    c.restart_count = 2;
    c.stop_requested = true;
    REQUIRE(s.update(c));
    auto got = s.get(a);
    REQUIRE(got);
    REQUIRE(*got);
    CHECK((*got)->state == "exited");
    CHECK((*got)->exit_code == 137);
    CHECK((*got)->oom_killed);
    CHECK((*got)->restart_count == 2);
    CHECK((*got)->stop_requested);
    CHECK(s.using_image(c.image_id)->size() == 2);
    // The image a container uses cannot be deleted, even by a path that skipped the check.
    CHECK_FALSE(db->remove(c.image_id));
    REQUIRE(s.remove(a));
    CHECK_FALSE(*s.get(a));
    CHECK(s.list()->size() == 1);
}

TEST_CASE("container lock: a second holder waits; try_take says when it is held") {
    TempDir t;
    ContainerPaths p{t.path, t.path + "/run"};
    std::string id(64, 'c');
    auto first = ContainerLock::take(p, id);
    REQUIRE(first);
    auto second = ContainerLock::try_take(p, id);
    REQUIRE(second);
    CHECK_FALSE(*second);
    { auto gone = std::move(*first); }
    auto third = ContainerLock::try_take(p, id);
    REQUIRE(third);
    CHECK(*third);
}

TEST_CASE("container names: generated ones are valid; docker's rule") {
    for (int i = 0; i < 50; ++i) CHECK(valid_container_name(generate_container_name()));
    CHECK(valid_container_name("web-1.prod_a"));
    CHECK_FALSE(valid_container_name("a"));
    CHECK_FALSE(valid_container_name("-web"));
    CHECK_FALSE(valid_container_name("a/b"));
    CHECK_FALSE(valid_container_name("a b"));
    CHECK_FALSE(valid_container_name(""));
}

TEST_CASE("logs: CRI records are parsed; broken lines are not") {
    auto r = parse_log_record("2026-11-27T22:00:17.756658301Z stdout F line 1");
    REQUIRE(r);
    CHECK(r->time == "2026-11-27T22:00:17.756658301Z");
    CHECK_FALSE(r->is_stderr);
    CHECK_FALSE(r->partial);
    CHECK(r->text == "line 1");
    r = parse_log_record("2026-11-27T22:00:17.756658301Z stderr P  two spaces");
    REQUIRE(r);
    CHECK(r->is_stderr);
    CHECK(r->partial);
    CHECK(r->text == " two spaces");
    r = parse_log_record("2026-11-27T22:00:17.756658301Z stdout F");
    REQUIRE(r);
    CHECK(r->text.empty());
    CHECK_FALSE(parse_log_record("garbage"));
    CHECK_FALSE(parse_log_record("t stdin F x"));
    CHECK_FALSE(parse_log_record("t stdout X x"));
}

TEST_CASE("logs: --since/--until take RFC 3339, unix times and durations") {
    CHECK(*parse_log_time("2026-11-27T22:00:17Z", "--since") == "2026-11-27T22:00:17.000000000Z");
    CHECK(*parse_log_time("2026-11-27T22:00:17.5Z", "--since") == "2026-11-27T22:00:17.500000000Z");
    CHECK(*parse_log_time("2026-11-27T23:00:17+01:00", "--since") == "2026-11-27T22:00:17.000000000Z");
    CHECK(*parse_log_time("1764280817", "--since") == "2025-11-27T22:00:17.000000000Z");
    auto ago = parse_log_time("1h30m", "--since");
    REQUIRE(ago);
    CHECK(*ago < *parse_log_time("1h", "--since"));
    auto bad = parse_log_time("yesterday", "--since");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("invalid value \"yesterday\" for --since") == 0);
    CHECK_FALSE(parse_log_time("10x", "--until"));
    CHECK_FALSE(parse_log_time("", "--until"));
}

TEST_CASE("--format: fields, json, index, escapes; unknown fields are errors") {
    auto v = json::parse(R"({"Name":"/web","State":{"Pid":42,"Running":true},"Config":{"Env":["A=1"],"Labels":{"k":"v"}}})");
    REQUIRE(v);
    CHECK(*render_template("{{.Name}} {{.State.Pid}} {{.State.Running}}", *v) == "/web 42 true");
    CHECK(*render_template("{{json .Config.Env}}", *v) == R"(["A=1"])");
    CHECK(*render_template(R"({{index .Config.Labels "k"}})", *v) == "v");
    CHECK(*render_template("{{.Name}}\\t{{.State.Pid}}\\n", *v) == "/web\t42\n");
    CHECK(*render_template("plain", *v) == "plain");
    CHECK_FALSE(render_template("{{.Nope}}", *v));
    CHECK_FALSE(render_template("{{.Name", *v));
    CHECK_FALSE(render_template("{{printf .Name}}", *v));
}

TEST_CASE("args: grouped short flags and a value glued to the last one") {
    std::vector<std::string> words = {"berth", "-it", "-n5", "-af", "x", "-d"};
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    auto a = parse_args(static_cast<int>(argv.size()), argv.data(), 1,
                        {{"interactive", 'i', false}, {"tty", 't', false}, {"tail", 'n', true}, {"all", 'a', false},
                         {"force", 'f', false}, {"detach", 'd', false}});
    REQUIRE(a);
    CHECK(a->has("interactive"));
    CHECK(a->has("tty"));
    CHECK(a->get("tail") == "5");
    CHECK(a->has("all"));
    CHECK(a->has("force"));
    CHECK(a->has("detach"));
    CHECK(a->positional == std::vector<std::string>{"x"});
    auto unknown = parse_args(static_cast<int>(argv.size()), argv.data(), 1, {{"interactive", 'i', false}});
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().message == "unknown flag: -it");
    // With stop_at_positional, the command's own flags stay its own.
    std::vector<std::string> exec_words = {"berth", "-i", "c1", "ls", "-l"};
    std::vector<char*> exec_argv;
    for (auto& w : exec_words) exec_argv.push_back(w.data());
    auto e = parse_args(static_cast<int>(exec_argv.size()), exec_argv.data(), 1, {{"interactive", 'i', false}}, true);
    REQUIRE(e);
    CHECK(e->positional == std::vector<std::string>{"c1", "ls", "-l"});
}

TEST_CASE("format_table: columns as wide as their widest cell in characters, three spaces apart", "[format]") {
    std::string t = format_table({{"ID", "COMMAND", "NAMES"},
                                  {"abc", "\"sh -c 'sleep…\"", "web"},
                                  {"d", "x", ""}});
    CHECK(t ==
          "ID    COMMAND           NAMES\n"
          "abc   \"sh -c 'sleep…\"   web\n"
          "d     x\n");
    CHECK(format_table({}) == "");
}
