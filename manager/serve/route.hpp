// The routing of berth serve, apart from the handlers so it is unit-tested:
// a path's segments, a route pattern matched against them, and the API
// version a path may start with.
#pragma once
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "manager/serve/http.hpp"

namespace berth::manager::serve {

// "/a//b/" -> {"a", "b"}.
std::vector<std::string> segments(std::string_view path);
// Matches `have` (from segment hi on) against `pat` (from pi on): "{x}" takes
// one segment, "{x*}" as many as leave the rest of the pattern to match
// (image names have slashes); the parameters are appended to `args`.
bool match(const std::vector<std::string>& pat, size_t pi, const std::vector<std::string>& have, size_t hi,
           std::vector<std::string>& args);
// "1.41" -> 141 (major * 100 + minor); 0 when it is no version.
int version_number(std::string_view v);
// "/v1.41/containers/json" -> "/containers/json"; a version above
// kApiVersion or below kMinApiVersion is a 400 with docker's words; a path
// without a version is returned as it is.
std::expected<std::string, HttpError> strip_version(const std::string& path);

}  // namespace berth::manager::serve
