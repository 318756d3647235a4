// berth's image reference parser (parse_reference): the input is a reference
// as a user types it. Whatever it is, the parser must not crash, and what it
// accepts must normalize to a fixed point: the normalized string parses back
// to the same parts.
#include <cstdint>
#include <string>

#include "manager/images/reference.hpp"
#include "tests/fuzz/common.hpp"

using namespace berth;
using namespace berth::manager;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    for (const ReferenceDefaults& d : {ReferenceDefaults{"localhost", ""}, ReferenceDefaults{"registry.test", "library"}}) {
        auto r = parse_reference(text, d);
        if (!r) {
            FUZZ_REQUIRE(!r.error().message.empty(), text);
            continue;
        }
        FUZZ_REQUIRE(!r->domain.empty() && !r->path.empty(), text);
        FUZZ_REQUIRE(r->tag.size() <= 128, text);
        FUZZ_REQUIRE(r->digest.empty() || valid_digest(r->digest), text);
        FUZZ_REQUIRE(!r->tag.empty() || !r->digest.empty(), text);
        std::string norm = r->str();
        auto again = parse_reference(norm, d);
        FUZZ_REQUIRE(again.has_value(), norm);
        FUZZ_REQUIRE(again->domain == r->domain && again->path == r->path && again->tag == r->tag &&
                         again->digest == r->digest,
                     norm);
    }
    return 0;
}
