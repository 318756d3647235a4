#include "manager/registry/client.hpp"

#include <unistd.h>

#include <algorithm>

#include "libutil/json.hpp"
#include "libutil/log.hpp"
#include "libutil/strings.hpp"
#include "manager/images/blob_store.hpp"

namespace berth::manager::registry {

RegistryClient::RegistryClient(std::shared_ptr<HttpClient> http, std::string domain, std::string path,
                               std::optional<Credentials> creds)
    : http_(std::move(http)), domain_(std::move(domain)), path_(std::move(path)), creds_(std::move(creds)) {}

std::string RegistryClient::auth_header() {
    std::lock_guard lk(mu_);
    return auth_;
}

Error RegistryClient::status_error(const HttpResponse& r, const std::string& what) const {
    // The distribution spec's error body: {"errors":[{"code":..,"message":..}]}.
    std::string msg;
    if (auto v = json::parse(r.body); v && v->is_object())
        if (const json::Value* errs = v->find("errors"); errs && errs->is_array() && !errs->items().empty()) {
            const json::Value& e = errs->items()[0];
            if (const json::Value* m = e.find("message"); m && m->is_string()) msg = m->as_string();
            if (msg.empty())
                if (const json::Value* c = e.find("code"); c && c->is_string()) msg = c->as_string();
        }
    if (msg.empty()) msg = r.status == 401 ? "authentication required" : "unexpected answer";
    return Error{0, what.empty() ? cat(msg, " (", r.status, ")") : cat(what, ": ", msg, " (", r.status, ")")};
}

Result<std::string> RegistryClient::fetch_token(const Challenge& c) {
    std::string realm = c.param("realm");
    if (!realm.starts_with("https://") && !realm.starts_with("http://"))
        return Err(domain_, ": token realm ", quote(realm), " is not an http(s) URL");
    // Ours (one repository: pull; pull,push to push) and the challenge's.
    std::vector<std::string> scopes;
    if (!path_.empty()) {
        if (scopes_.empty()) scopes.push_back("repository:" + path_ + ":pull");
        for (const auto& sc : scopes_)
            scopes.push_back(sc);
    }
    if (std::string cs = c.param("scope"); !cs.empty() && std::find(scopes.begin(), scopes.end(), cs) == scopes.end())
        scopes.push_back(cs);
    HttpRequest req;
    req.url = realm + (realm.find('?') == std::string::npos ? "?" : "&");
    std::string service = c.param("service");
    if (!service.empty()) req.url += "service=" + url_escape(service) + "&";
    for (const auto& sc : scopes)
        req.url += "scope=" + url_escape(sc) + "&";
    if (req.url.back() == '&' || req.url.back() == '?') req.url.pop_back();
    if (creds_)
        req.headers.push_back("Authorization: Basic " + base64_encode(creds_->username + ":" + creds_->password));
    req.max_body = 1 << 20;
    auto r = TRY(http_->perform(req));
    if (r.status == 401 || r.status == 403)
        return std::unexpected(
            Error{0, cat(domain_, ": token server ", realm, ": invalid username or password (", r.status, ")")});
    if (r.status != 200) return std::unexpected(status_error(r, cat(domain_, ": token server ", realm)));
    auto v = TRY_CTX(json::parse(r.body), domain_, ": token server ", realm);
    for (const char* k : {"token", "access_token"})
        if (const json::Value* t = v.find(k); t && t->is_string() && !t->as_string().empty()) return t->as_string();
    return Err(domain_, ": token server ", realm, ": no token in the answer");
}

Result<void> RegistryClient::authorize(const HttpResponse& unauthorized) {
    std::string h = unauthorized.header("www-authenticate");
    if (h.empty()) return std::unexpected(status_error(unauthorized, domain_));
    auto c = TRY_CTX(parse_challenge(h), domain_);
    std::string header;
    if (c.scheme == "bearer") {
        header = "Authorization: Bearer " + TRY(fetch_token(c));
    } else if (c.scheme == "basic") {
        if (!creds_) return Err(domain_, ": authentication required (401): use berth login or --creds");
        header = "Authorization: Basic " + base64_encode(creds_->username + ":" + creds_->password);
    } else {
        return Err(domain_, ": unsupported authentication scheme ", quote(c.scheme));
    }
    std::lock_guard lk(mu_);
    auth_ = header;
    return {};
}

Result<HttpResponse> RegistryClient::request(HttpRequest req) {
    std::string base;
    {
        std::lock_guard lk(mu_);
        base = base_;
    }
    if (!req.url.starts_with("http://") && !req.url.starts_with("https://")) req.url = base + req.url;
    size_t plain_headers = req.headers.size();
    for (int attempt = 0;; ++attempt) {
        req.headers.resize(plain_headers);
        if (std::string a = auth_header(); !a.empty()) req.headers.push_back(a);
        auto r = TRY(http_->perform(req));
        if (r.status != 401 || attempt > 0) {
            if (r.status == 401 && creds_) return Err(domain_, ": invalid username or password (401)");
            return r;
        }
        // A token expired or is for another scope: one new one.
        TRY(authorize(r));
    }
}

Result<void> RegistryClient::ping() {
    HttpRequest req;
    req.url = "https://" + domain_ + "/v2/";
    auto r = http_->perform(req);
    if (!r && !http_->tls_verify()) {
        // TLS verification off (--tls-verify=false, or insecure = true) also
        // allows plain HTTP, as podman does.
        req.url = "http://" + domain_ + "/v2/";
        auto plain = http_->perform(req);
        if (plain) {
            r = std::move(plain);
            log::debug(cat("registry ", domain_, ": plain HTTP"));
        }
    }
    if (!r) return std::unexpected(r.error());
    {
        std::lock_guard lk(mu_);
        base_ = req.url.substr(0, req.url.size() - 4);
    }
    if (r->status == 401) {
        TRY(authorize(*r));
        HttpRequest again_req;
        again_req.url = "/v2/";
        auto again = TRY(request(std::move(again_req)));
        if (again.status == 401) return Err(domain_, ": invalid username or password (401)");
        if (again.status != 200) return std::unexpected(status_error(again, domain_));
        return {};
    }
    if (r->status != 200) return std::unexpected(status_error(*r, domain_ + " /v2/"));
    return {};
}

Result<Manifest> RegistryClient::get_manifest(const std::string& ref) {
    HttpRequest req;
    req.url = cat("/v2/", path_, "/manifests/", ref);
    req.headers.push_back(kManifestAccept);
    auto r = TRY(request(std::move(req)));
    // The reference is in the caller's context: "pull HOST/NAME:TAG: manifest unknown (404)".
    if (r.status != 200) return std::unexpected(status_error(r, ""));
    Manifest m;
    m.body = std::move(r.body);
    m.digest = sha256_digest(m.body);
    m.media_type = r.header("content-type");
    if (auto semi = m.media_type.find(';'); semi != std::string::npos) m.media_type.resize(semi);
    if (auto v = json::parse(m.body); v && v->is_object())
        if (const json::Value* mt = v->find("mediaType"); mt && mt->is_string() && !mt->as_string().empty())
            m.media_type = mt->as_string();
    return m;
}

Result<void> RegistryClient::get_blob(const std::string& digest,
                                      const std::function<Result<void>(const char*, size_t)>& sink) {
    HttpRequest req;
    req.url = cat("/v2/", path_, "/blobs/", digest);
    req.follow_redirects = true;
    req.sink = sink;
    auto r = TRY_CTX(request(std::move(req)), "blob ", digest);
    if (r.status != 200) return std::unexpected(status_error(r, "blob " + digest));
    return {};
}

Result<std::string> RegistryClient::get_small_blob(const std::string& digest, size_t max) {
    std::string body;
    TRY(get_blob(digest, [&](const char* p, size_t n) -> Result<void> {
        if (body.size() + n > max) return Err("blob ", digest, ": larger than ", max, " bytes");
        body.append(p, n);
        return {};
    }));
    return body;
}

Result<bool> RegistryClient::has_blob(const std::string& digest) {
    HttpRequest req;
    req.method = "HEAD";
    req.url = cat("/v2/", path_, "/blobs/", digest);
    auto r = TRY_CTX(request(std::move(req)), "blob ", digest);
    if (r.status == 200) return true;
    if (r.status == 404) return false;
    return std::unexpected(status_error(r, "blob " + digest));
}

std::string RegistryClient::absolute(const std::string& location) {
    if (location.starts_with("http://") || location.starts_with("https://")) return location;
    std::lock_guard lk(mu_);
    return base_ + (location.starts_with("/") ? "" : "/") + location;
}

Result<std::string> RegistryClient::start_upload(const std::string& query) {
    HttpRequest req;
    req.method = "POST";
    req.url = cat("/v2/", path_, "/blobs/uploads/", query);
    req.headers.push_back("Content-Type: application/octet-stream");
    auto r = TRY(request(std::move(req)));
    if (r.status == 201) return std::string();  // mounted
    if (r.status != 202) return std::unexpected(status_error(r, "start an upload"));
    std::string loc = r.header("location");
    if (loc.empty()) return Err("start an upload: no Location in the answer");
    return absolute(loc);
}

Result<bool> RegistryClient::mount_blob(const std::string& digest, const std::string& from) {
    auto loc = TRY_CTX(start_upload(cat("?mount=", url_escape(digest), "&from=", url_escape(from))), "blob ", digest);
    if (loc.empty()) return true;
    // Not mounted: the registry opened an upload instead; it is left to expire.
    return false;
}

namespace {

Result<void> read_exact(int fd, std::string& buf, size_t n) {
    buf.resize(n);
    size_t got = 0;
    while (got < n) {
        ssize_t r = ::read(fd, buf.data() + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return ErrnoErr("read");
        if (r == 0) return Err("read: the blob is shorter than its size");
        got += static_cast<size_t>(r);
    }
    return {};
}

std::string with_query(const std::string& url, const std::string& q) {
    return url + (url.find('?') == std::string::npos ? "?" : "&") + q;
}

}  // namespace

Result<void> RegistryClient::upload_blob(const std::string& digest, int fd, uint64_t size, uint64_t chunk,
                                         const std::function<void(uint64_t)>& progress) {
    std::string loc = TRY_CTX(start_upload(""), "blob ", digest);
    if (loc.empty()) return {};
    std::string buf;
    uint64_t off = 0;
    // Chunks (PATCH) when the blob is larger than one; the last bytes go with the PUT.
    while (size - off > chunk) {
        TRY_CTX(read_exact(fd, buf, chunk), "blob ", digest);
        HttpRequest req;
        req.method = "PATCH";
        req.url = loc;
        req.upload = buf;
        req.headers = {"Content-Type: application/octet-stream", cat("Content-Range: ", off, "-", off + chunk - 1),
                       "Expect:"};
        auto r = TRY_CTX(request(std::move(req)), "blob ", digest);
        if (r.status != 202) return std::unexpected(status_error(r, "blob " + digest + ": upload"));
        std::string next = r.header("location");
        if (!next.empty()) loc = absolute(next);
        off += chunk;
        progress(chunk);
    }
    TRY_CTX(read_exact(fd, buf, size - off), "blob ", digest);
    HttpRequest req;
    req.method = "PUT";
    req.url = with_query(loc, "digest=" + url_escape(digest));
    req.upload = buf;
    req.headers = {"Content-Type: application/octet-stream", "Expect:"};
    auto r = TRY_CTX(request(std::move(req)), "blob ", digest);
    if (r.status != 201) return std::unexpected(status_error(r, "blob " + digest + ": upload"));
    progress(size - off);
    return {};
}

Result<void> RegistryClient::put_manifest(const std::string& tag, const std::string& media_type,
                                          const std::string& body) {
    HttpRequest req;
    req.method = "PUT";
    req.url = cat("/v2/", path_, "/manifests/", tag);
    req.upload = body;
    req.headers = {"Content-Type: " + media_type};
    auto r = TRY(request(std::move(req)));
    if (r.status != 201) return std::unexpected(status_error(r, "manifest"));
    return {};
}

}  // namespace berth::manager::registry
