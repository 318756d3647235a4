#include "manager/serve/route.hpp"

#include <cctype>

#include "libutil/strings.hpp"
#include "manager/serve/api.hpp"

namespace berth::manager::serve {

std::vector<std::string> segments(std::string_view path) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < path.size()) {
        while (i < path.size() && path[i] == '/') ++i;
        size_t j = path.find('/', i);
        if (j == std::string_view::npos) j = path.size();
        if (j > i) out.emplace_back(path.substr(i, j - i));
        i = j;
    }
    return out;
}

bool match(const std::vector<std::string>& pat, size_t pi, const std::vector<std::string>& have, size_t hi,
           std::vector<std::string>& args) {
    if (pi == pat.size()) return hi == have.size();
    const std::string& p = pat[pi];
    if (p.ends_with("*}")) {
        for (size_t n = have.size() - hi; n >= 1 && hi + n <= have.size(); --n) {
            std::vector<std::string> part(have.begin() + static_cast<long>(hi), have.begin() + static_cast<long>(hi + n));
            args.push_back(join(part, "/"));
            if (match(pat, pi + 1, have, hi + n, args)) return true;
            args.pop_back();
        }
        return false;
    }
    if (hi == have.size()) return false;
    bool param = p.starts_with("{");
    if (!param && p != have[hi]) return false;
    if (param) args.push_back(have[hi]);
    if (match(pat, pi + 1, have, hi + 1, args)) return true;
    if (param) args.pop_back();
    return false;
}

int version_number(std::string_view v) {
    size_t dot = v.find('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == v.size()) return 0;
    int major = 0, minor = 0;
    for (size_t i = 0; i < v.size(); ++i) {
        if (i == dot) continue;
        if (!std::isdigit(static_cast<unsigned char>(v[i]))) return 0;
        int& n = i < dot ? major : minor;
        n = n * 10 + (v[i] - '0');
        if (n > 10000) return 0;
    }
    return major * 100 + minor;
}

std::expected<std::string, HttpError> strip_version(const std::string& path) {
    if (!path.starts_with("/v")) return path;
    size_t slash = path.find('/', 2);
    std::string v = path.substr(2, slash == std::string::npos ? std::string::npos : slash - 2);
    int n = version_number(v);
    if (n == 0) return path;  // not a version: no route will match it
    if (n > version_number(kApiVersion))
        return std::unexpected(HttpError{400, cat("client version ", v, " is too new. Maximum supported API version is ",
                                                   kApiVersion)});
    if (n < version_number(kMinApiVersion))
        return std::unexpected(HttpError{400, cat("client version ", v, " is too old. Minimum supported API version is ",
                                                   kMinApiVersion, ", please upgrade your client to a newer version")});
    return slash == std::string::npos ? std::string("/") : path.substr(slash);
}

}  // namespace berth::manager::serve
