#include <catch2/catch.hpp>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libutil/strings.hpp"
#include "shim/cri_log.hpp"
#include "shim/exit_record.hpp"
#include "shim/monitor.hpp"
#include "shim/runtime_cmd.hpp"

using namespace berth;
using namespace berth::shim;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char t[] = "/tmp/berth-shim-test.XXXXXX";
        path = ::mkdtemp(t);
    }
    ~TempDir() { (void)::system(("rm -rf '" + path + "'").c_str()); }
};

// The records of a CRI log as "STREAM TAG TEXT", timestamps checked and cut.
std::vector<std::string> records(const std::string& path) {
    std::vector<std::string> out;
    auto text = read_file(path);
    REQUIRE(text);
    for (const auto& line : split(*text, '\n')) {
        if (line.empty()) continue;
        REQUIRE(line.size() > 31);
        CHECK(line[10] == 'T');
        CHECK(line[29] == 'Z');
        out.push_back(line.substr(31));
    }
    return out;
}

}  // namespace

TEST_CASE("shim: timestamps are RFC 3339 UTC with nine fraction digits") {
    char buf[32];
    struct timespec ts {1700000000, 5};
    CHECK(format_rfc3339nano(ts, buf) == 30);
    CHECK(std::string(buf) == "2023-11-14T22:13:20.000000005Z");
}

TEST_CASE("shim: the CRI log marks full lines F and pieces P") {
    TempDir d;
    CriLog log;
    REQUIRE(log.open(d.path + "/ctr.log", 0));
    REQUIRE(log.write(Stream::Stdout, "a\nbb\npart", 9));
    REQUIRE(log.write(Stream::Stderr, "err\n", 4));
    REQUIRE(log.write(Stream::Stdout, "ial\n\n", 5));
    CHECK(records(d.path + "/ctr.log") ==
          std::vector<std::string>{"stdout F a", "stdout F bb", "stdout P part", "stderr F err",
                                   "stdout F ial", "stdout F "});
}

TEST_CASE("shim: many lines in one read are all logged, in order") {
    TempDir d;
    CriLog log;
    REQUIRE(log.open(d.path + "/ctr.log", 0));
    std::string data;
    for (int i = 0; i < 3000; ++i) data += cat(i, "\n");  // > IOV_MAX records
    REQUIRE(log.write(Stream::Stdout, data.data(), data.size()));
    auto r = records(d.path + "/ctr.log");
    REQUIRE(r.size() == 3000);
    CHECK(r.front() == "stdout F 0");
    CHECK(r.back() == "stdout F 2999");
}

TEST_CASE("shim: rotation happens between records and keeps one backup") {
    TempDir d;
    CriLog log;
    std::string path = d.path + "/ctr.log";
    REQUIRE(log.open(path, 200));
    std::string data;
    for (int i = 0; i < 20; ++i) data += cat("line ", i, "\n");
    REQUIRE(log.write(Stream::Stdout, data.data(), data.size()));
    auto cur = records(path), old = records(path + ".1");
    CHECK(cur.back() == "stdout F line 19");
    CHECK(read_file(path)->size() <= 200);
    CHECK(read_file(path + ".1")->size() <= 200);
    CHECK(!old.empty());
}

TEST_CASE("shim: detach keys use docker's syntax") {
    CHECK(*parse_detach_keys("ctrl-p,ctrl-q") == "\x10\x11");
    CHECK(*parse_detach_keys("ctrl-@,x,ctrl-_") == std::string("\0x\x1f", 3));
    CHECK(parse_detach_keys("")->empty());
    CHECK(!parse_detach_keys("ctrl-1"));
    CHECK(!parse_detach_keys("ab"));
}

TEST_CASE("shim: the runtime's error is the last error line of its JSON log") {
    TempDir d;
    std::string log = d.path + "/runtime.log";
    REQUIRE(write_file(log, "{\"level\":\"warning\",\"msg\":\"w\"}\nnot json\n"
                            "{\"level\":\"error\",\"msg\":\"first\"}\n{\"msg\":\"second\",\"level\":\"error\",\"time\":\"t\"}\n"));
    CHECK(last_log_error(log) == "second");
    CHECK(last_log_error(d.path + "/none") == "");
}

TEST_CASE("shim: the exit record gives 128 + signal and names the signal") {
    ExitRecord r;
    r.id = "c1";
    r.status = 9;  // killed by SIGKILL, as waitpid reports it
    CHECK(r.exit_code() == 137);
    CHECK(r.signal() == 9);
    CHECK(r.json().find("\"signal_name\":\"SIGKILL\"") != std::string::npos);
    r.status = 3 << 8;  // exit(3)
    CHECK(r.exit_code() == 3);
    CHECK(r.json().find("\"signal_name\":null") != std::string::npos);
}
