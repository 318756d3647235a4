#include <catch2/catch.hpp>

#include <csignal>

#include "libutil/signals.hpp"

using berth::parse_signal;
using berth::signal_name;

TEST_CASE("signals: KILL, SIGKILL, kill and 9 all name SIGKILL") {
    for (const char* s : {"KILL", "SIGKILL", "kill", "sigkill", "SigKill", "9"}) {
        INFO(s);
        auto r = parse_signal(s);
        REQUIRE(r);
        CHECK(*r == SIGKILL);
    }
}

TEST_CASE("signals: common names map to their Linux numbers") {
    CHECK(parse_signal("TERM").value() == SIGTERM);
    CHECK(parse_signal("hup").value() == SIGHUP);
    CHECK(parse_signal("SIGUSR2").value() == SIGUSR2);
    CHECK(parse_signal("WINCH").value() == SIGWINCH);
    CHECK(parse_signal("SIGIOT").value() == 6);
    CHECK(parse_signal("POLL").value() == 29);
    CHECK(parse_signal("SIGCLD").value() == 17);
    CHECK(parse_signal("STKFLT").value() == 16);
    CHECK(parse_signal("PWR").value() == 30);
}

TEST_CASE("signals: the real-time range uses the kernel's 34..64") {
    CHECK(parse_signal("SIGRTMIN").value() == 34);
    CHECK(parse_signal("RTMIN+3").value() == 37);
    CHECK(parse_signal("SIGRTMIN+3").value() == 37);
    CHECK(parse_signal("sigrtmax").value() == 64);
    CHECK(parse_signal("SIGRTMAX-4").value() == 60);
    CHECK(parse_signal("SIGRTMIN+30").value() == 64);
    CHECK_FALSE(parse_signal("SIGRTMIN+31"));
    CHECK_FALSE(parse_signal("SIGRTMAX-31"));
    CHECK_FALSE(parse_signal("SIGRTMIN+"));
    CHECK_FALSE(parse_signal("SIGRTMIN-1"));
}

TEST_CASE("signals: numbers are accepted from 1 to 64") {
    CHECK(parse_signal("1").value() == 1);
    CHECK(parse_signal("64").value() == 64);
    CHECK(parse_signal("0").error().message == "unknown signal \"0\"");
    CHECK(parse_signal("65").error().message == "unknown signal \"65\"");
    CHECK_FALSE(parse_signal("-9"));
    CHECK_FALSE(parse_signal("99999999999999999999999"));
}

TEST_CASE("signals: an unknown name quotes the input as given") {
    CHECK(parse_signal("foo").error().message == "unknown signal \"foo\"");
    CHECK(parse_signal("SIGFOO").error().message == "unknown signal \"SIGFOO\"");
    CHECK(parse_signal("").error().message == "unknown signal \"\"");
    CHECK_FALSE(parse_signal("SIG"));
    CHECK_FALSE(parse_signal("SIGSIGKILL"));
}

TEST_CASE("signals: numbers have names") {
    CHECK(signal_name(9) == "SIGKILL");
    CHECK(signal_name(6) == "SIGABRT");
    CHECK(signal_name(17) == "SIGCHLD");
    CHECK(signal_name(34) == "SIGRTMIN");
    CHECK(signal_name(37) == "SIGRTMIN+3");
    CHECK(signal_name(60) == "SIGRTMAX-4");
    CHECK(signal_name(64) == "SIGRTMAX");
    CHECK(signal_name(32) == "SIG32");
}
