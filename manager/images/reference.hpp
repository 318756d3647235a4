// Image references in docker's grammar (distribution/reference):
//   [DOMAIN[:PORT]/]PATH[:TAG][@ALGO:HEX]
// normalized to DOMAIN/PATH:TAG. The registry that short names resolve to is
// the caller's (from configuration); no public registry is built in.
#pragma once
#include <string>
#include <string_view>

#include "libutil/error.hpp"

namespace berth::manager {

struct ReferenceDefaults {
    std::string registry;        // domain for names without one, e.g. "localhost"
    std::string name_namespace;  // prefix for one-component names ("library" on some registries), may be empty
};

struct Reference {
    std::string domain;  // "localhost:5000"
    std::string path;    // "team/app"
    std::string tag;     // "latest" when neither tag nor digest was given; empty with a digest only
    std::string digest;  // "sha256:<64 hex>" or empty

    std::string repository() const { return domain + "/" + path; }
    // DOMAIN/PATH[:TAG][@DIGEST]
    std::string str() const;
};

// Parses and normalizes. Errors name the bad part:
//   invalid reference "Busybox": repository name "Busybox" must be lowercase
Result<Reference> parse_reference(std::string_view text, const ReferenceDefaults& defaults);

// "sha256:" + 64 lowercase hex digits (the only algorithm supported).
bool valid_digest(std::string_view digest);
// True when `s` could be (a prefix of, at least 3 chars) an image id: lowercase hex,
// optionally "sha256:"-prefixed.
bool looks_like_image_id(std::string_view s);

}  // namespace berth::manager
