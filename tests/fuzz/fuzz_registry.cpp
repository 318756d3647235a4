// berth's parsers of registry input: a WWW-Authenticate header (from the
// network) and registries.conf (from a file). The first byte picks which. They
// must not crash; an accepted challenge has a lowercase scheme; an accepted
// configuration's locations are non-empty, and each one finds its own entry.
#include <cctype>
#include <cstdint>
#include <string>

#include "manager/registry/auth.hpp"
#include "manager/registry/config.hpp"
#include "tests/fuzz/common.hpp"

using namespace berth;
using namespace berth::manager::registry;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
    if (data[0] & 1) {
        auto c = parse_challenge(text);
        if (!c) {
            FUZZ_REQUIRE(!c.error().message.empty(), text);
            return 0;
        }
        FUZZ_REQUIRE(!c->scheme.empty(), text);
        for (char ch : c->scheme)
            FUZZ_REQUIRE(!std::isupper(static_cast<unsigned char>(ch)), text);
        return 0;
    }
    auto conf = parse_registries_conf(text, "fuzz.conf");
    if (!conf) {
        FUZZ_REQUIRE(conf.error().message.starts_with("fuzz.conf"), text);
        return 0;
    }
    for (const auto& r : conf->registries) {
        FUZZ_REQUIRE(!r.location.empty(), text);
        const RegistryEntry* e = conf->find(r.location);
        FUZZ_REQUIRE(e && e->location == r.location, text);
    }
    return 0;
}
