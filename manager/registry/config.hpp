// registries.conf: which registry short names resolve to, and which
// registries are reached without TLS verification (or over plain HTTP).
// A small TOML subset, like the containers registries.conf:
//
//   # comment
//   default-registry = "127.0.0.1:5000"
//   [[registry]]
//   location = "127.0.0.1:5000"
//   insecure = true
//
// Keys: default-registry (string, top level); in a [[registry]] table
// location (string, "host[:port][/path]") and insecure (bool). Anything else is
// an error naming the file, the line and the key.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libutil/error.hpp"

namespace berth::manager::registry {

constexpr const char* kDefaultRegistriesConf = "/etc/berth/registries.conf";

struct RegistryEntry {
    std::string location;
    bool insecure = false;
};

struct RegistriesConfig {
    std::string default_registry;  // empty: none configured
    std::vector<RegistryEntry> registries;

    // The entry whose location is `repository` ("host:port/path") or a
    // path prefix of it; the longest match wins.
    const RegistryEntry* find(std::string_view repository) const;
};

Result<RegistriesConfig> parse_registries_conf(std::string_view text, const std::string& file);
// Reads FILE; a missing file is an empty configuration only when
// `missing_ok` (the default path), an error otherwise.
Result<RegistriesConfig> load_registries_conf(const std::string& file, bool missing_ok);

}  // namespace berth::manager::registry
