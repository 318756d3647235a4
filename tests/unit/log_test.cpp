#include <catch2/catch.hpp>

#include "libutil/json.hpp"
#include "libutil/log.hpp"

using namespace berth;

TEST_CASE("log: the JSON format is logrus's, keys in order, one line") {
    auto line = log::format_line(log::Level::Error, "create c1: \"x\" failed", true, "2024-01-02T03:04:05.5Z");
    CHECK(line == "{\"level\":\"error\",\"msg\":\"create c1: \\\"x\\\" failed\",\"time\":\"2024-01-02T03:04:05.5Z\"}\n");
    auto doc = json::parse(line.substr(0, line.size() - 1));
    REQUIRE(doc);
    CHECK(doc->find("msg")->as_string() == "create c1: \"x\" failed");
}

TEST_CASE("log: the text format is logrus's with a quoted message") {
    auto line = log::format_line(log::Level::Warning, "poststart hook #0: exit status 1", false, "2024-01-02T03:04:05Z");
    CHECK(line == "time=\"2024-01-02T03:04:05Z\" level=warning msg=\"poststart hook #0: exit status 1\"\n");
}

TEST_CASE("log: levels are named like logrus's") {
    CHECK(log::format_line(log::Level::Debug, "m", false, "t").find("level=debug") != std::string::npos);
    CHECK(log::format_line(log::Level::Info, "m", false, "t").find("level=info") != std::string::npos);
}
