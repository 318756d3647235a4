// libcurl, loaded when the first registry request needs it instead of when
// berth starts: libcurl and the ~25 libraries it pulls in (TLS, Kerberos,
// LDAP, IDN, ...) cost every berth command ~5 ms of dynamic linking, and
// `run`, `ps` or `stop` never talk to a registry. berth is linked without
// -lcurl; these definitions stand in for the few curl functions it calls and
// forward to the real ones, resolved once with dlopen/dlsym. (The unit tests
// link libcurl directly and leave this file out.)
#include <curl/curl.h>
#include <dlfcn.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace {

void* curl_lib() {
    static void* lib = nullptr;
    static std::once_flag once;
    std::call_once(once, [] {
        lib = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
        if (!lib) {
            // No Result to return through curl's own signatures: this is a
            // broken installation (the package depends on libcurl4).
            std::fprintf(stderr, "berth: load libcurl for the registry client: %s\n", ::dlerror());
            std::exit(125);
        }
    });
    return lib;
}

template <class F>
F resolve(const char* name) {
    void* p = ::dlsym(curl_lib(), name);
    if (!p) {
        std::fprintf(stderr, "berth: libcurl.so.4 has no %s\n", name);
        std::exit(125);
    }
    return reinterpret_cast<F>(p);
}

#define BERTH_CURL_FN(name) static const auto real = resolve<decltype(&::name)>(#name)

}  // namespace

extern "C" {

CURLcode curl_global_init(long flags) {
    BERTH_CURL_FN(curl_global_init);
    return real(flags);
}

CURL* curl_easy_init(void) {
    BERTH_CURL_FN(curl_easy_init);
    return real();
}

void curl_easy_cleanup(CURL* h) {
    BERTH_CURL_FN(curl_easy_cleanup);
    real(h);
}

void curl_easy_reset(CURL* h) {
    BERTH_CURL_FN(curl_easy_reset);
    real(h);
}

CURLcode curl_easy_perform(CURL* h) {
    BERTH_CURL_FN(curl_easy_perform);
    return real(h);
}

const char* curl_easy_strerror(CURLcode c) {
    BERTH_CURL_FN(curl_easy_strerror);
    return real(c);
}

// The one variadic argument is read with the type curl's option number
// says it has (curl/curl.h: CURLOPTTYPE_*), and passed on as that type.
CURLcode curl_easy_setopt(CURL* h, CURLoption opt, ...) {
    BERTH_CURL_FN(curl_easy_setopt);
    va_list ap;
    va_start(ap, opt);
    CURLcode r;
    if (opt < CURLOPTTYPE_OBJECTPOINT)
        r = real(h, opt, va_arg(ap, long));
    else if (opt >= CURLOPTTYPE_OFF_T && opt < CURLOPTTYPE_BLOB)
        r = real(h, opt, va_arg(ap, curl_off_t));
    else
        r = real(h, opt, va_arg(ap, void*));  // object, function and blob pointers
    va_end(ap);
    return r;
}

// Every CURLINFO takes one pointer.
CURLcode curl_easy_getinfo(CURL* h, CURLINFO info, ...) {
    BERTH_CURL_FN(curl_easy_getinfo);
    va_list ap;
    va_start(ap, info);
    void* p = va_arg(ap, void*);
    va_end(ap);
    return real(h, info, p);
}

CURLSH* curl_share_init(void) {
    BERTH_CURL_FN(curl_share_init);
    return real();
}

CURLSHcode curl_share_cleanup(CURLSH* s) {
    BERTH_CURL_FN(curl_share_cleanup);
    return real(s);
}

// CURLSHOPT_SHARE/UNSHARE take an int (curl_lock_data); the rest a pointer.
CURLSHcode curl_share_setopt(CURLSH* s, CURLSHoption opt, ...) {
    BERTH_CURL_FN(curl_share_setopt);
    va_list ap;
    va_start(ap, opt);
    CURLSHcode r;
    if (opt == CURLSHOPT_SHARE || opt == CURLSHOPT_UNSHARE)
        r = real(s, opt, va_arg(ap, int));
    else
        r = real(s, opt, va_arg(ap, void*));
    va_end(ap);
    return r;
}

struct curl_slist* curl_slist_append(struct curl_slist* l, const char* s) {
    BERTH_CURL_FN(curl_slist_append);
    return real(l, s);
}

void curl_slist_free_all(struct curl_slist* l) {
    BERTH_CURL_FN(curl_slist_free_all);
    real(l);
}

}  // extern "C"
