#include "manager/images/reference.hpp"

#include <regex>

namespace berth::manager {

namespace {

// The grammar's pieces, from distribution/reference's regexp.go.
const std::regex kPathComponent("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*");
const std::regex kDomainComponent("[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?");
const std::regex kPort("[0-9]+");
const std::regex kTag("[A-Za-z0-9_][A-Za-z0-9_.-]*");
constexpr size_t kMaxTag = 128;
constexpr size_t kMaxName = 255;

bool is_lower_hex(std::string_view s) {
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

bool full_match(std::string_view s, const std::regex& re) {
    return std::regex_match(s.begin(), s.end(), re);
}

Result<void> check_domain(std::string_view domain) {
    std::string_view host = domain, port;
    if (auto colon = domain.rfind(':'); colon != std::string_view::npos) {
        host = domain.substr(0, colon);
        port = domain.substr(colon + 1);
        if (!full_match(port, kPort)) return Err("invalid port \"", port, "\" in domain \"", domain, "\"");
    }
    size_t start = 0;
    while (true) {
        size_t dot = host.find('.', start);
        std::string_view comp = host.substr(start, dot == std::string_view::npos ? dot : dot - start);
        if (!full_match(comp, kDomainComponent)) return Err("invalid domain \"", domain, "\"");
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    return {};
}

Result<void> check_path(std::string_view path) {
    size_t start = 0;
    while (true) {
        size_t slash = path.find('/', start);
        std::string_view comp = path.substr(start, slash == std::string_view::npos ? slash : slash - start);
        if (!full_match(comp, kPathComponent)) {
            for (char c : comp)
                if (c >= 'A' && c <= 'Z') return Err("repository name \"", path, "\" must be lowercase");
            return Err("invalid repository name component \"", comp, "\"");
        }
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    return {};
}

Result<Reference> parse(std::string_view text, const ReferenceDefaults& defaults) {
    if (text.empty()) return Err("empty");
    Reference ref;
    std::string_view rest = text;
    if (auto at = rest.find('@'); at != std::string_view::npos) {
        ref.digest = rest.substr(at + 1);
        rest = rest.substr(0, at);
        if (!valid_digest(ref.digest))
            return Err("invalid digest \"", ref.digest, "\": want sha256:<64 lowercase hex>");
    }
    // A ':' after the last '/' starts the tag; one before it belongs to a port.
    size_t slash = rest.rfind('/');
    size_t colon = rest.rfind(':');
    if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
        ref.tag = rest.substr(colon + 1);
        rest = rest.substr(0, colon);
        if (ref.tag.size() > kMaxTag)
            return Err("tag \"", ref.tag.substr(0, 20), "...\" is longer than ", kMaxTag, " characters");
        if (!full_match(ref.tag, kTag)) return Err("invalid tag \"", ref.tag, "\"");
    }
    if (rest.empty()) return Err("missing repository name");
    // The first component is a registry when it looks like a host name
    // (a dot, a port, "localhost" or uppercase), as docker decides it.
    std::string_view first = rest.substr(0, rest.find('/'));
    bool has_domain =
        first.size() < rest.size() && (first.find_first_of(".:") != std::string_view::npos || first == "localhost" ||
                                       first.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string_view::npos);
    if (has_domain) {
        ref.domain = first;
        ref.path = rest.substr(first.size() + 1);
    } else {
        if (defaults.registry.empty()) return Err("no registry in the name and no default registry configured");
        ref.domain = defaults.registry;
        ref.path = rest;
        if (!defaults.name_namespace.empty() && rest.find('/') == std::string_view::npos)
            ref.path = defaults.name_namespace + "/" + ref.path;
    }
    TRY(check_domain(ref.domain));
    TRY(check_path(ref.path));
    if (ref.repository().size() > kMaxName) return Err("repository name is longer than ", kMaxName, " characters");
    if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
    return ref;
}

}  // namespace

std::string Reference::str() const {
    std::string s = repository();
    if (!tag.empty()) s += ":" + tag;
    if (!digest.empty()) s += "@" + digest;
    return s;
}

bool valid_digest(std::string_view d) {
    return d.size() == 7 + 64 && d.starts_with("sha256:") && is_lower_hex(d.substr(7));
}

bool looks_like_image_id(std::string_view s) {
    if (s.starts_with("sha256:")) s.remove_prefix(7);
    return s.size() >= 3 && s.size() <= 64 && is_lower_hex(s);
}

Result<Reference> parse_reference(std::string_view text, const ReferenceDefaults& defaults) {
    auto r = parse(text, defaults);
    if (!r) return Wrap(r.error(), "invalid reference \"", text, "\"");
    return r;
}

}  // namespace berth::manager
