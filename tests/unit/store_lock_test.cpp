#include "manager/images/store_lock.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <thread>

#include "tests/unit/temp_dir.hpp"

using namespace berth;
using namespace berth::manager;

TEST_CASE("store lock: adders share it; a collector waits for every adder") {
    TempDir t;
    auto a = StoreLock::shared(t.path);
    auto b = StoreLock::shared(t.path);  // a second adder does not wait
    REQUIRE(a);
    REQUIRE(b);
    std::atomic<bool> got{false};
    std::thread collector([&] {
        auto x = StoreLock::exclusive(t.path);
        got = static_cast<bool>(x);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK_FALSE(got);
    { auto gone = std::move(*a); }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK_FALSE(got);  // b still holds it
    { auto gone = std::move(*b); }
    collector.join();
    CHECK(got);
}

TEST_CASE("store lock: an adder waits for a collector") {
    TempDir t;
    auto x = StoreLock::exclusive(t.path);
    REQUIRE(x);
    std::atomic<bool> got{false};
    std::thread adder([&] { got = static_cast<bool>(StoreLock::shared(t.path)); });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK_FALSE(got);
    { auto gone = std::move(*x); }
    adder.join();
    CHECK(got);
}
