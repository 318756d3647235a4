// Registry credentials and authentication challenges.
//
// The auth file is docker's config.json format, as podman and skopeo use it:
//   {"auths": {"127.0.0.1:5000": {"auth": "base64(user:password)"}}}
// Its default is $REGISTRY_AUTH_FILE, else ${XDG_CONFIG_HOME:-$HOME/.config}/berth/auth.json.
// It is written 0600, atomically (temp file, fsync, rename), and entries for
// other registries (and other top-level keys) are kept.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "libutil/error.hpp"

namespace berth::manager::registry {

struct Credentials {
    std::string username;
    std::string password;
};

// A WWW-Authenticate challenge: `Bearer realm="...",service="...",scope="..."`
// or `Basic realm="..."`. The scheme is lowercased.
struct Challenge {
    std::string scheme;                         // "bearer", "basic"
    std::map<std::string, std::string> params;  // lowercase names
    std::string param(const std::string& k) const {
        auto it = params.find(k);
        return it == params.end() ? "" : it->second;
    }
};
Result<Challenge> parse_challenge(std::string_view header);

std::string base64_encode(std::string_view s);
std::optional<std::string> base64_decode(std::string_view s);

std::string default_auth_file();

// USER[:PASS] as --creds takes it.
Result<Credentials> parse_creds(std::string_view s);

// The credentials stored for `registry` ("host:port"); nullopt when the file
// or the entry is missing. A malformed file is an error naming it.
Result<std::optional<Credentials>> lookup_auth(const std::string& file, const std::string& registry);
Result<void> store_auth(const std::string& file, const std::string& registry, const Credentials& c);
// Removes one entry (false when there was none), or all with `registry` empty.
Result<bool> remove_auth(const std::string& file, const std::string& registry);

}  // namespace berth::manager::registry
