// HTTP for the registry client, on libcurl. One HttpClient is shared by the
// threads of a pull: its easy handles are pooled and reused, and one curl
// share object holds the connection cache, DNS and TLS sessions, so requests
// to the same registry reuse connections. HTTP/2 is negotiated over TLS
// (ALPN) where the server offers it; TLS is OpenSSL's, verified by default.
#pragma once
#include <curl/curl.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "libutil/error.hpp"

namespace berth::manager::registry {

struct HttpRequest {
    std::string method = "GET";
    std::string url;
    std::vector<std::string> headers;  // "Name: value"
    // Blob downloads follow redirects (to blob storage); curl never sends
    // the Authorization header to another host than the one asked.
    bool follow_redirects = false;
    // Where a 2xx body goes; when empty the body is collected (up to max_body).
    std::function<Result<void>(const char*, size_t)> sink;
    size_t max_body = 4 << 20;
    std::string_view upload;  // request body (PUT/POST/PATCH)
};

struct HttpResponse {
    long status = 0;
    std::string body;                                         // when no sink took it (and error bodies)
    std::multimap<std::string, std::string> headers;          // lowercase names, of the final response
    std::string header(const std::string& lower_name) const;  // first value or ""
};

class HttpClient {
public:
    explicit HttpClient(bool tls_verify);
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    bool tls_verify() const { return tls_verify_; }
    // Thread-safe. Transport failures are errors ("GET URL: <curl's reason>");
    // any HTTP status is a response.
    Result<HttpResponse> perform(const HttpRequest& req);

private:
    CURL* acquire();
    void release(CURL* h);
    bool tls_verify_;
    CURLSH* share_ = nullptr;
    std::mutex share_locks_[CURL_LOCK_DATA_LAST];
    std::mutex pool_mu_;
    std::vector<CURL*> pool_;
    static void lock_cb(CURL*, curl_lock_data d, curl_lock_access, void* self);
    static void unlock_cb(CURL*, curl_lock_data d, void* self);
};

// Makes every running and later transfer fail with "interrupted" (from a
// signal handler: it only sets a flag), so an interrupted pull cleans up.
void interrupt_transfers();
bool transfers_interrupted();

// Percent-encodes a query value.
std::string url_escape(std::string_view s);

}  // namespace berth::manager::registry
