#include "manager/registry/auth.hpp"

#include <openssl/evp.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "libutil/json.hpp"
#include "libutil/strings.hpp"

namespace berth::manager::registry {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// The auth file as a JSON object; a missing file is an empty one.
Result<json::Value> read_auth_file(const std::string& file) {
    auto text = read_file(file);
    if (!text) {
        if (text.error().code == ENOENT) return json::Value::object();
        return std::unexpected(text.error());
    }
    if (trim(*text).empty()) return json::Value::object();
    auto v = TRY_CTX(json::parse(*text), file);
    if (!v.is_object()) return Err(file, ": not a JSON object");
    if (const json::Value* a = v.find("auths"); a && !a->is_object()) return Err(file, ": auths: not a JSON object");
    return v;
}

// docker also keys entries by URL ("https://host:port/v1/").
std::string entry_host(std::string_view key) {
    if (auto p = key.find("://"); p != std::string_view::npos) key = key.substr(p + 3);
    if (auto p = key.find('/'); p != std::string_view::npos) key = key.substr(0, p);
    return std::string(key);
}

}  // namespace

Result<Challenge> parse_challenge(std::string_view h) {
    h = trim(h);
    auto sp = h.find(' ');
    Challenge c;
    c.scheme = lower(h.substr(0, sp));
    if (c.scheme.empty()) return Err("WWW-Authenticate: no scheme");
    if (sp == std::string_view::npos) return c;
    std::string_view rest = h.substr(sp + 1);
    size_t i = 0;
    while (i < rest.size()) {
        while (i < rest.size() && (rest[i] == ' ' || rest[i] == ','))
            ++i;
        if (i >= rest.size()) break;
        auto eq = rest.find('=', i);
        if (eq == std::string_view::npos) return Err("WWW-Authenticate: expected NAME=VALUE in ", quote(h));
        std::string name = lower(trim(rest.substr(i, eq - i)));
        i = eq + 1;
        while (i < rest.size() && rest[i] == ' ')
            ++i;
        std::string value;
        if (i < rest.size() && rest[i] == '"') {
            ++i;
            while (i < rest.size() && rest[i] != '"') {
                if (rest[i] == '\\' && i + 1 < rest.size()) ++i;
                value.push_back(rest[i++]);
            }
            if (i >= rest.size()) return Err("WWW-Authenticate: unterminated quoted value in ", quote(h));
            ++i;
        } else {
            while (i < rest.size() && rest[i] != ',')
                value.push_back(rest[i++]);
            value = std::string(trim(value));
        }
        if (name.empty()) return Err("WWW-Authenticate: empty parameter name in ", quote(h));
        c.params[name] = value;
    }
    return c;
}

std::string base64_encode(std::string_view s) {
    std::string out(4 * ((s.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
    out.resize(static_cast<size_t>(n));
    return out;
}

std::optional<std::string> base64_decode(std::string_view s) {
    if (s.size() % 4 != 0) return std::nullopt;
    std::string out(3 * s.size() / 4 + 1, '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
    if (n < 0) return std::nullopt;
    // EVP_DecodeBlock counts the padding as zero bytes.
    size_t len = static_cast<size_t>(n);
    if (s.ends_with("=="))
        len -= 2;
    else if (s.ends_with("="))
        len -= 1;
    out.resize(len);
    return out;
}

std::string default_auth_file() {
    if (const char* f = std::getenv("REGISTRY_AUTH_FILE"); f && *f) return f;
    if (const char* x = std::getenv("XDG_CONFIG_HOME"); x && *x) return path_join(x, "berth/auth.json");
    const char* home = std::getenv("HOME");
    return path_join(path_join(home && *home ? home : "/root", ".config"), "berth/auth.json");
}

Result<Credentials> parse_creds(std::string_view s) {
    auto colon = s.find(':');
    Credentials c{std::string(s.substr(0, colon)),
                  colon == std::string_view::npos ? "" : std::string(s.substr(colon + 1))};
    if (c.username.empty()) return Err("--creds: the user name must not be empty");
    return c;
}

Result<std::optional<Credentials>> lookup_auth(const std::string& file, const std::string& registry) {
    auto doc = TRY(read_auth_file(file));
    const json::Value* auths = doc.find("auths");
    if (!auths) return std::nullopt;
    for (const auto& [key, entry] : auths->members()) {
        if (entry_host(key) != registry) continue;
        const json::Value* a = entry.find("auth");
        if (!a || !a->is_string()) return Err(file, ": auths.", key, ".auth: missing");
        auto raw = base64_decode(a->as_string());
        if (!raw) return Err(file, ": auths.", key, ".auth: invalid base64");
        auto colon = raw->find(':');
        if (colon == std::string::npos) return Err(file, ": auths.", key, ".auth: not USER:PASSWORD");
        return Credentials{raw->substr(0, colon), raw->substr(colon + 1)};
    }
    return std::nullopt;
}

Result<void> store_auth(const std::string& file, const std::string& registry, const Credentials& c) {
    auto doc = TRY(read_auth_file(file));
    json::Value auths = doc.find("auths") ? *doc.find("auths") : json::Value::object();
    json::Value entry = json::Value::object();
    entry.set("auth", json::Value::string(base64_encode(c.username + ":" + c.password)));
    auths.set(registry, std::move(entry));
    doc.set("auths", std::move(auths));
    auto slash = file.rfind('/');
    if (slash != std::string::npos && slash > 0) TRY(mkdir_all(file.substr(0, slash), 0700));
    return write_file_atomic(file, json::write(doc, true) + "\n", 0600);
}

Result<bool> remove_auth(const std::string& file, const std::string& registry) {
    auto doc = TRY(read_auth_file(file));
    const json::Value* old = doc.find("auths");
    if (!old) return false;
    json::Value auths = json::Value::object();
    bool removed = false;
    for (const auto& [key, entry] : old->members()) {
        if (registry.empty() || entry_host(key) == registry)
            removed = true;
        else
            auths.set(key, entry);
    }
    if (!removed) return false;
    doc.set("auths", std::move(auths));
    TRY(write_file_atomic(file, json::write(doc, true) + "\n", 0600));
    return true;
}

}  // namespace berth::manager::registry
