// A client for one repository on an OCI distribution (v2) registry: the
// scheme (https; plain http only when TLS verification is off), the
// authentication (anonymous, Basic, or a Bearer token from the realm a 401
// challenge names), manifests and blobs. Thread-safe: a pull's workers share it.
#pragma once
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "libutil/error.hpp"
#include "manager/registry/auth.hpp"
#include "manager/registry/http.hpp"

namespace berth::manager::registry {

// Every manifest type berth reads: a registry picks among them (Debian's
// registry answers 404 to an OCI manifest when only Docker's types are
// accepted, and converts to schema1 when only OCI's are).
constexpr const char* kManifestAccept =
    "Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

struct Manifest {
    std::string body;
    std::string media_type;  // from Content-Type (or the body's mediaType)
    std::string digest;      // sha256 of the body
};

class RegistryClient {
public:
    // `domain` "host:port", `path` the repository path ("team/app").
    RegistryClient(std::shared_ptr<HttpClient> http, std::string domain, std::string path,
                   std::optional<Credentials> creds);

    // GET /v2/: picks the scheme, learns the auth challenge and checks the
    // credentials (when given). Errors: "127.0.0.1:5000: invalid username or password (401)".
    Result<void> ping();
    Result<Manifest> get_manifest(const std::string& tag_or_digest);
    // Streams a blob's bytes to `sink` (redirects followed).
    Result<void> get_blob(const std::string& digest, const std::function<Result<void>(const char*, size_t)>& sink);
    // Reads a small blob (a config) into memory.
    Result<std::string> get_small_blob(const std::string& digest, size_t max);

    // Push: the token scopes asked for ("pull" by default; "pull,push" to push,
    // plus "pull" on a repository blobs are mounted from).
    void set_scopes(std::vector<std::string> scopes) { scopes_ = std::move(scopes); }
    Result<bool> has_blob(const std::string& digest);
    // Tries a cross-repository mount of `digest` from `from` (a path on the
    // same registry); returns true when mounted.
    Result<bool> mount_blob(const std::string& digest, const std::string& from);
    // Uploads a blob read from `fd` (`size` bytes): one PUT when it is at most
    // `chunk` bytes, else PATCH chunks then the closing PUT. `progress` gets
    // the bytes sent.
    Result<void> upload_blob(const std::string& digest, int fd, uint64_t size, uint64_t chunk,
                             const std::function<void(uint64_t)>& progress);
    Result<void> put_manifest(const std::string& tag, const std::string& media_type, const std::string& body);

private:
    Result<HttpResponse> request(HttpRequest req);
    Result<void> authorize(const HttpResponse& unauthorized);
    Result<std::string> fetch_token(const Challenge& c);
    std::string auth_header();
    Error status_error(const HttpResponse& r, const std::string& what) const;

    std::shared_ptr<HttpClient> http_;
    std::string domain_, path_;
    std::optional<Credentials> creds_;
    std::mutex mu_;
    std::string base_;  // "https://host:port"
    std::string auth_;  // "Authorization: ..." or ""
    std::vector<std::string> scopes_;
    Result<std::string> start_upload(const std::string& query);
    std::string absolute(const std::string& location);
};

}  // namespace berth::manager::registry
