#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "libutil/strings.hpp"

using namespace berth;

TEST_CASE("clean_path: follows Go's filepath.Clean") {
    struct {
        const char* in;
        const char* out;
    } cases[] = {
        {"", "."},
        {".", "."},
        {"/", "/"},
        {"//", "/"},
        {"abc", "abc"},
        {"abc/", "abc"},
        {"a//b", "a/b"},
        {"a/./b", "a/b"},
        {"a//b/../c", "a/c"},
        {"a/b/../../..", ".."},
        {"../../a", "../../a"},
        {"a/../../b", "../b"},
        {"/..", "/"},
        {"/../a/b/..", "/a"},
        {"/a/b/c/./../../g", "/a/g"},
        {"./x/", "x"},
        {"..", ".."},
        {"abc/..", "."},
        {"/proc/self/../1", "/proc/1"},
        {"...", "..."},
        {"a/.../b", "a/.../b"},
    };
    for (const auto& c : cases) {
        INFO("clean_path(\"" << c.in << "\")");
        CHECK(clean_path(c.in) == c.out);
    }
}

TEST_CASE("parse_u64: accepts the full range and refuses overflow or junk") {
    CHECK(parse_u64("0") == 0u);
    CHECK(parse_u64("18446744073709551615") == UINT64_MAX);
    CHECK_FALSE(parse_u64("18446744073709551616"));
    CHECK_FALSE(parse_u64("99999999999999999999"));
    CHECK_FALSE(parse_u64(""));
    CHECK_FALSE(parse_u64("-1"));
    CHECK_FALSE(parse_u64("+1"));
    CHECK_FALSE(parse_u64("12a"));
    CHECK_FALSE(parse_u64(" 1"));
}

TEST_CASE("parse_i64: accepts a sign and both ends of the range") {
    CHECK(parse_i64("-9223372036854775808") == INT64_MIN);
    CHECK(parse_i64("9223372036854775807") == INT64_MAX);
    CHECK(parse_i64("+5") == 5);
    CHECK(parse_i64("-0") == 0);
    CHECK_FALSE(parse_i64("9223372036854775808"));
    CHECK_FALSE(parse_i64("-9223372036854775809"));
    CHECK_FALSE(parse_i64("-"));
    CHECK_FALSE(parse_i64("1.0"));
}

TEST_CASE("split keeps empty fields, join reverses it") {
    CHECK(split("a,,b,", ',') == std::vector<std::string>{"a", "", "b", ""});
    CHECK(split("", ',') == std::vector<std::string>{""});
    CHECK(join({"a", "", "b"}, ", ") == "a, , b");
    CHECK(join({}, ",").empty());
}

TEST_CASE("trim and to_upper") {
    CHECK(trim("  a b \n\t") == "a b");
    CHECK(trim(" \n ").empty());
    CHECK(to_upper("sigRtMin+3") == "SIGRTMIN+3");
}

TEST_CASE("quote: escapes like Go's %q") {
    CHECK(quote("x") == "\"x\"");
    CHECK(quote("a\"b\\c") == R"("a\"b\\c")");
    CHECK(quote("tab\tnl\n") == R"("tab\tnl\n")");
    CHECK(quote(std::string("\x01\x7f", 2)) == R"("\x01\x7f")");
    CHECK(quote("é") == "\"é\"");
    CHECK(quote("\xff") == R"("\xff")");
}

TEST_CASE("path_join puts exactly one slash between the parts") {
    CHECK(path_join("/run/berth/", "/c1") == "/run/berth/c1");
    CHECK(path_join("/run/berth", "c1") == "/run/berth/c1");
    CHECK(path_join("/", "proc") == "/proc");
    CHECK(path_join("", "config.json") == "config.json");
}

TEST_CASE("files: write, atomic replace, read back, mkdir_all") {
    char tmpl[] = "/tmp/berth-strings-test-XXXXXX";
    REQUIRE(mkdtemp(tmpl));
    std::string dir = tmpl;

    std::string deep = dir + "/a/b//c/";
    REQUIRE(mkdir_all(deep));
    REQUIRE(mkdir_all(deep));  // existing directories are fine
    struct stat st;
    REQUIRE(::stat((dir + "/a/b/c").c_str(), &st) == 0);
    CHECK(S_ISDIR(st.st_mode));

    std::string file = dir + "/a/state.json";
    REQUIRE(write_file(file, "first"));
    CHECK(read_file(file).value() == "first");
    REQUIRE(write_file_atomic(file, "second"));
    CHECK(read_file(file).value() == "second");
    CHECK(::access((file + ".tmp").c_str(), F_OK) != 0);

    auto not_dir = mkdir_all(file + "/sub");
    REQUIRE_FALSE(not_dir);
    CHECK(not_dir.error().code == ENOTDIR);

    auto missing = read_file(dir + "/missing");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == ENOENT);
    CHECK(missing.error().what() == "open " + dir + "/missing: No such file or directory");

    std::string cmd = "rm -rf '" + dir + "'";
    CHECK(std::system(cmd.c_str()) == 0);
}
