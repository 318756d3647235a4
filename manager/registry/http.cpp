#include "manager/registry/http.hpp"

#include <atomic>
#include <cctype>
#include <cstring>

#include "libutil/log.hpp"
#include "libutil/strings.hpp"

namespace berth::manager::registry {

namespace {

std::once_flag g_curl_init;
std::atomic<bool> g_interrupted{false};

int on_progress(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return g_interrupted.load(std::memory_order_relaxed) ? 1 : 0;
}

struct Transfer {
    CURL* h;
    const HttpRequest* req;
    HttpResponse* resp;
    Error sink_error;
    bool sink_failed = false;
    bool too_big = false;
};

size_t on_header(char* data, size_t size, size_t n, void* ud) {
    auto* t = static_cast<Transfer*>(ud);
    std::string_view line(data, size * n);
    // Every response (a redirect, a 100 Continue, the final one) starts with
    // its status line: only the last response's headers are kept.
    if (line.starts_with("HTTP/")) {
        t->resp->headers.clear();
        return size * n;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return size * n;
    std::string name(line.substr(0, colon));
    for (auto& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    t->resp->headers.emplace(std::move(name), std::string(trim(line.substr(colon + 1))));
    return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* ud) {
    auto* t = static_cast<Transfer*>(ud);
    size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &status);
    if (t->req->sink && status >= 200 && status < 300) {
        if (auto r = t->req->sink(data, len); !r) {
            t->sink_error = r.error();
            t->sink_failed = true;
            return 0;  // aborts the transfer
        }
        return len;
    }
    // Error bodies and collected bodies are small; anything larger is refused.
    size_t limit = t->req->sink ? 64 * 1024 : t->req->max_body;
    if (t->resp->body.size() + len > limit) {
        t->too_big = true;
        return 0;
    }
    t->resp->body.append(data, len);
    return len;
}

}  // namespace

void interrupt_transfers() {
    g_interrupted.store(true);
}
bool transfers_interrupted() {
    return g_interrupted.load();
}

std::string HttpResponse::header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
}

std::string url_escape(std::string_view s) {
    static const char* kHex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
        }
    }
    return out;
}

void HttpClient::lock_cb(CURL*, curl_lock_data d, curl_lock_access, void* self) {
    static_cast<HttpClient*>(self)->share_locks_[d].lock();
}
void HttpClient::unlock_cb(CURL*, curl_lock_data d, void* self) {
    static_cast<HttpClient*>(self)->share_locks_[d].unlock();
}

HttpClient::HttpClient(bool tls_verify) : tls_verify_(tls_verify) {
    std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    share_ = curl_share_init();
    curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, lock_cb);
    curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, unlock_cb);
    curl_share_setopt(share_, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
}

HttpClient::~HttpClient() {
    for (CURL* h : pool_)
        curl_easy_cleanup(h);
    curl_share_cleanup(share_);
}

CURL* HttpClient::acquire() {
    {
        std::lock_guard lk(pool_mu_);
        if (!pool_.empty()) {
            CURL* h = pool_.back();
            pool_.pop_back();
            curl_easy_reset(h);
            return h;
        }
    }
    return curl_easy_init();
}

void HttpClient::release(CURL* h) {
    std::lock_guard lk(pool_mu_);
    pool_.push_back(h);
}

Result<HttpResponse> HttpClient::perform(const HttpRequest& req) {
    CURL* h = acquire();
    if (!h) return Err(req.method, " ", req.url, ": curl: out of memory");
    struct Releaser {
        HttpClient* c;
        CURL* h;
        ~Releaser() { c->release(h); }
    } releaser{this, h};

    HttpResponse resp;
    Transfer t{h, &req, &resp, {}};
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_slist* hdrs = nullptr;
    for (const auto& s : req.headers)
        hdrs = curl_slist_append(hdrs, s.c_str());
    std::unique_ptr<curl_slist, void (*)(curl_slist*)> hdrs_guard(hdrs, curl_slist_free_all);

    curl_easy_setopt(h, CURLOPT_SHARE, share_);
    curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "berth/" PACKAGE_VERSION);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    // A registry that stops sending for 30 s is given up on.
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 30L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, tls_verify_ ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, tls_verify_ ? 2L : 0L);
    if (req.follow_redirects) {
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
        curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        // Credentials stay with the registry's host (curl drops a custom
        // Authorization header on a redirect to another host unless this is set).
        curl_easy_setopt(h, CURLOPT_UNRESTRICTED_AUTH, 0L);
    }
    if (req.method == "HEAD") {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (req.method != "GET") {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
        // Never NULL: curl would read the body from stdin then.
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.upload.empty() ? "" : req.upload.data());
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.upload.size()));
    }
    log::debug(cat("http: ", req.method, " ", req.url));
    CURLcode rc = curl_easy_perform(h);
    if (g_interrupted.load()) return Err(req.method, " ", req.url, ": interrupted");
    if (t.sink_failed) return std::unexpected(t.sink_error);
    if (t.too_big) return Err(req.method, " ", req.url, ": response larger than ", req.max_body, " bytes");
    if (rc != CURLE_OK) return Err(req.method, " ", req.url, ": ", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
    long version = 0;
    curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &version);
    log::debug(cat("http: ", req.method, " ", req.url, ": ", resp.status,
                   version == CURL_HTTP_VERSION_2_0 ? " (HTTP/2)" : " (HTTP/1.1)"));
    return resp;
}

}  // namespace berth::manager::registry
