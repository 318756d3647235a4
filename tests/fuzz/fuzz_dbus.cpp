// D-Bus messages as systemd (or any peer) could send them: decode must
// never read past its input, and what it accepts must survive encode and a
// second decode unchanged; the JobRemoved body reader and the cgroupsPath
// parser of the systemd driver get the same bytes.
#include <cstdint>

#include "libutil/dbus.hpp"
#include "runtime/linux/systemd.hpp"
#include "tests/fuzz/common.hpp"

using namespace berth;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    fuzz::quiet_logs();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in = fuzz::text_of(data, size);
    (void)runtime::systemd_unit(std::string(in), "fuzz");
    (void)runtime::cpu_list_mask(std::string(in));

    dbus::Message m;
    auto used = dbus::decode(in, m);
    if (!used || *used == 0) return 0;
    FUZZ_REQUIRE(*used <= size, "decode claimed more bytes than it was given");
    dbus::Reader r(m.body, m.big_endian);
    if (auto id = r.u32()) {
        (void)r.object_path();
        (void)r.string();
        (void)r.string();
    }
    if (m.big_endian) return 0;  // encode writes little-endian only
    dbus::Message again;
    std::string wire = dbus::encode(m);
    auto used2 = dbus::decode(wire, again);
    FUZZ_REQUIRE(used2 && *used2 == wire.size(), "encode's output does not decode");
    FUZZ_REQUIRE(again.type == m.type && again.serial == m.serial && again.reply_serial == m.reply_serial &&
                     again.path == m.path && again.interface == m.interface && again.member == m.member &&
                     again.error_name == m.error_name && again.signature == m.signature && again.body == m.body,
                 "a message changed through encode and decode");
    return 0;
}
