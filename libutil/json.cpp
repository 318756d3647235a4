#include "libutil/json.hpp"

#include <yajl/yajl_parse.h>

#include <charconv>
#include <memory>
#include <string_view>
#include <unordered_map>

namespace berth::json {

// ---- Value ----------------------------------------------------------------

Value Value::boolean(bool b) {
    Value v;
    v.type_ = Type::Bool;
    v.bool_ = b;
    return v;
}

Value Value::number(int64_t n) { return number_text(std::to_string(n)); }
Value Value::number(uint64_t n) { return number_text(std::to_string(n)); }

Value Value::number_text(std::string raw) {
    Value v;
    v.type_ = Type::Number;
    v.text_ = std::move(raw);
    return v;
}

Value Value::string(std::string s) {
    Value v;
    v.type_ = Type::String;
    v.text_ = std::move(s);
    return v;
}

Value Value::array() {
    Value v;
    v.type_ = Type::Array;
    return v;
}

Value Value::object() {
    Value v;
    v.type_ = Type::Object;
    return v;
}

const char* Value::type_name(Type t) {
    switch (t) {
        case Type::Null: return "null";
        case Type::Bool: return "boolean";
        case Type::Number: return "number";
        case Type::String: return "string";
        case Type::Array: return "array";
        case Type::Object: return "object";
    }
    return "unknown";
}

namespace {

// JSON integers only ("-12", "0"): no fraction, no exponent, as Go requires
// when decoding into an integer field.
bool is_integer_text(std::string_view s) {
    if (!s.empty() && s.front() == '-') s.remove_prefix(1);
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

template <class T>
std::optional<T> parse_exact(std::string_view s) {
    T out{};
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return out;
}

}  // namespace

std::optional<int64_t> Value::as_int64() const {
    if (type_ != Type::Number || !is_integer_text(text_)) return std::nullopt;
    return parse_exact<int64_t>(text_);
}

std::optional<uint64_t> Value::as_uint64() const {
    if (type_ != Type::Number || !is_integer_text(text_)) return std::nullopt;
    if (text_.front() == '-') {
        // "-0" is zero; any other negative number is out of range.
        if (text_.find_first_not_of("-0") == std::string::npos) return 0;
        return std::nullopt;
    }
    return parse_exact<uint64_t>(text_);
}

std::optional<double> Value::as_double() const {
    if (type_ != Type::Number) return std::nullopt;
    return parse_exact<double>(text_);
}

const Value* Value::find(std::string_view key) const {
    if (type_ != Type::Object) return nullptr;
    for (const auto& [k, v] : members_)
        if (k == key) return &v;
    return nullptr;
}

Value& Value::set(std::string key, Value v) {
    if (type_ == Type::Null) type_ = Type::Object;
    for (auto& [k, old] : members_) {
        if (k == key) {
            old = std::move(v);
            return old;
        }
    }
    members_.emplace_back(std::move(key), std::move(v));
    return members_.back().second;
}

Value& Value::push(Value v) {
    if (type_ == Type::Null) type_ = Type::Array;
    items_.push_back(std::move(v));
    return items_.back();
}

// ---- UTF-8 ------------------------------------------------------------------

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 when it is invalid
// (overlong forms, surrogates and values past U+10FFFF are invalid).
size_t utf8_len(std::string_view s, size_t i) {
    auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = at(i);
    if (c < 0x80) return 1;
    size_t n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    uint32_t cp = c & (0x7Fu >> n);
    for (size_t k = 1; k < n; ++k) {
        if ((at(i + k) & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (at(i + k) & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

// How many bytes at s[i] (not valid UTF-8) one U+FFFD replaces: a surrogate
// encoded in three bytes (what yajl makes of a lone "\udc00") is one
// character, as Go's decoder sees the escape; otherwise one byte.
size_t invalid_len(std::string_view s, size_t i) {
    auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    if (i + 2 < s.size() && at(i) == 0xED && (at(i + 1) & 0xE0) == 0xA0 && (at(i + 2) & 0xC0) == 0x80)
        return 3;
    return 1;
}

// `s` with every invalid UTF-8 sequence replaced by U+FFFD, as Go's
// encoding/json decodes strings. yajl's check lets overlong forms and
// escaped surrogates through; without this, strings that differ only there
// would become equal when written (two keys of an object merged).
// Length of the valid UTF-8 prefix of `s`.
size_t utf8_prefix(std::string_view s) {
    size_t i = 0;
    for (size_t n; i < s.size() && (n = utf8_len(s, i)) != 0;) i += n;
    return i;
}

std::string valid_utf8(std::string_view s) {
    size_t i = utf8_prefix(s);
    if (i == s.size()) return std::string(s);  // the usual case
    std::string out(s.substr(0, i));
    out.reserve(s.size() + 8);
    while (i < s.size()) {
        size_t n = utf8_len(s, i);
        if (n == 0) {
            out.append("\ufffd");
            i += invalid_len(s, i);
            continue;
        }
        out.append(s.substr(i, n));
        i += n;
    }
    return out;
}

}  // namespace

bool is_utf8(std::string_view s) { return utf8_prefix(s) == s.size(); }

// ---- parse ----------------------------------------------------------------

namespace {

// Deeper documents are refused rather than risking the stack in the
// recursive writer and destructors (Go's decoder has the same kind of limit).
constexpr size_t kMaxDepth = 10000;

struct Builder {
    struct Frame {
        Value container;
        std::string key;  // pending member name while inside an object
    };
    std::vector<Frame> stack;
    std::optional<Value> root;
    const char* own_error = nullptr;

    int add(Value v) {
        if (stack.empty()) {
            root = std::move(v);
            return 1;
        }
        Frame& top = stack.back();
        if (top.container.is_object())
            top.container.members().emplace_back(std::move(top.key), std::move(v));
        else
            top.container.items().push_back(std::move(v));
        return 1;
    }

    int open(Value container) {
        if (stack.size() >= kMaxDepth) {
            own_error = "nesting too deep";
            return 0;
        }
        stack.push_back(Frame{std::move(container), {}});
        return 1;
    }

    int close() {
        Value done = std::move(stack.back().container);
        stack.pop_back();
        if (done.is_object()) dedupe(done.members());
        return add(std::move(done));
    }

    // A repeated key keeps its first position and its last value, as Go's
    // decoder does (it assigns each occurrence in turn).
    static void dedupe(Value::Members& members) {
        if (members.size() < 2) return;
        std::unordered_map<std::string_view, size_t> first;
        std::vector<bool> drop(members.size(), false);
        bool any = false;
        for (size_t i = 0; i < members.size(); ++i) {
            auto [it, inserted] = first.emplace(members[i].first, i);
            if (!inserted) {
                members[it->second].second = std::move(members[i].second);
                drop[i] = any = true;
            }
        }
        if (!any) return;
        Value::Members kept;
        for (size_t i = 0; i < members.size(); ++i)
            if (!drop[i]) kept.push_back(std::move(members[i]));
        members = std::move(kept);
    }
};

Builder& builder(void* ctx) { return *static_cast<Builder*>(ctx); }

int on_null(void* ctx) { return builder(ctx).add(Value()); }
int on_boolean(void* ctx, int b) { return builder(ctx).add(Value::boolean(b != 0)); }
int on_number(void* ctx, const char* s, size_t n) {
    return builder(ctx).add(Value::number_text(std::string(s, n)));
}
int on_string(void* ctx, const unsigned char* s, size_t n) {
    return builder(ctx).add(Value::string(valid_utf8({reinterpret_cast<const char*>(s), n})));
}
int on_start_map(void* ctx) { return builder(ctx).open(Value::object()); }
int on_map_key(void* ctx, const unsigned char* s, size_t n) {
    builder(ctx).stack.back().key = valid_utf8({reinterpret_cast<const char*>(s), n});
    return 1;
}
int on_end(void* ctx) { return builder(ctx).close(); }
int on_start_array(void* ctx) { return builder(ctx).open(Value::array()); }

constexpr yajl_callbacks kCallbacks = {
    on_null,      on_boolean, nullptr, nullptr,        on_number, on_string,
    on_start_map, on_map_key, on_end,  on_start_array, on_end,
};

// yajl's non-verbose message is "parse error: REASON\n" or
// "lexical error: REASON.\n"; keep only REASON.
std::string reason_of(yajl_handle h, std::string_view text) {
    unsigned char* raw =
        yajl_get_error(h, 0, reinterpret_cast<const unsigned char*>(text.data()), text.size());
    std::string msg = raw ? reinterpret_cast<const char*>(raw) : "syntax error";
    if (raw) yajl_free_error(h, raw);
    for (std::string_view prefix : {"parse error: ", "lexical error: "}) {
        if (msg.starts_with(prefix)) {
            msg.erase(0, prefix.size());
            break;
        }
    }
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == '.' || msg.back() == ' '))
        msg.pop_back();
    return msg;
}

std::unexpected<Error> error_at(std::string_view text, size_t offset, std::string_view reason) {
    offset = std::min(offset, text.size());
    size_t line = 1, line_start = 0;
    for (size_t i = 0; i < offset; ++i) {
        if (text[i] == '\n') {
            ++line;
            line_start = i + 1;
        }
    }
    return Err("invalid JSON at line ", line, ", column ", offset - line_start + 1, ": ", reason);
}

}  // namespace

Result<Value> parse(std::string_view text) {
    Builder b;
    std::unique_ptr<yajl_handle_t, void (*)(yajl_handle)> h(yajl_alloc(&kCallbacks, nullptr, &b),
                                                            yajl_free);
    if (!h) return Err("invalid JSON: out of memory");

    auto st = yajl_parse(h.get(), reinterpret_cast<const unsigned char*>(text.data()), text.size());
    if (st != yajl_status_ok) {
        // yajl reports the offset just past the token it stopped at; point at
        // that token's last character.
        size_t consumed = yajl_get_bytes_consumed(h.get());
        size_t at = consumed > 0 ? consumed - 1 : 0;
        return error_at(text, at, b.own_error ? b.own_error : reason_of(h.get(), text));
    }
    if (yajl_complete_parse(h.get()) != yajl_status_ok || !b.root) {
        // Premature end: the position is the end of the text.
        std::string reason = b.root ? reason_of(h.get(), text) : "unexpected end of input";
        return error_at(text, text.size(), reason);
    }
    return std::move(*b.root);
}

// ---- write ----------------------------------------------------------------

namespace {

// Escapes like Go's encoding/json, except that <, > and & stay literal.
// Invalid UTF-8 becomes U+FFFD so the output is always valid JSON.
void write_string(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out.push_back('"');
    for (size_t i = 0; i < s.size();) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            size_t n = utf8_len(s, i);
            if (n == 0) {
                out.append("\ufffd");
                i += invalid_len(s, i);
                continue;
            }
            std::string_view seq = s.substr(i, n);
            // U+2028/U+2029 break JavaScript parsers; Go escapes them too.
            if (seq == "\u2028" || seq == "\u2029")
                out.append(seq == "\u2028" ? "\\u2028" : "\\u2029");
            else
                out.append(seq);
            i += n;
            continue;
        }
        switch (c) {
            case '"': out.append("\\\""); break;
            case '\\': out.append("\\\\"); break;
            case '\n': out.append("\\n"); break;
            case '\r': out.append("\\r"); break;
            case '\t': out.append("\\t"); break;
            case '\b': out.append("\\b"); break;
            case '\f': out.append("\\f"); break;
            default:
                if (c < 0x20) {
                    out.append("\\u00");
                    out.push_back(kHex[c >> 4]);
                    out.push_back(kHex[c & 0xF]);
                } else {
                    out.push_back(static_cast<char>(c));
                }
        }
        ++i;
    }
    out.push_back('"');
}

void newline(std::string& out, bool pretty, int depth) {
    if (!pretty) return;
    out.push_back('\n');
    out.append(static_cast<size_t>(depth) * 2, ' ');
}

void write_value(std::string& out, const Value& v, bool pretty, int depth) {
    switch (v.type()) {
        case Value::Type::Null: out.append("null"); break;
        case Value::Type::Bool: out.append(v.as_bool() ? "true" : "false"); break;
        case Value::Type::Number: out.append(v.raw_number()); break;
        case Value::Type::String: write_string(out, v.as_string()); break;
        case Value::Type::Array: {
            out.push_back('[');
            bool first = true;
            for (const auto& item : v.items()) {
                if (!first) out.push_back(',');
                first = false;
                newline(out, pretty, depth + 1);
                write_value(out, item, pretty, depth + 1);
            }
            if (!first) newline(out, pretty, depth);
            out.push_back(']');
            break;
        }
        case Value::Type::Object: {
            out.push_back('{');
            bool first = true;
            for (const auto& [key, item] : v.members()) {
                if (!first) out.push_back(',');
                first = false;
                newline(out, pretty, depth + 1);
                write_string(out, key);
                out.append(pretty ? ": " : ":");
                write_value(out, item, pretty, depth + 1);
            }
            if (!first) newline(out, pretty, depth);
            out.push_back('}');
            break;
        }
    }
}

}  // namespace

std::string write(const Value& v, bool pretty) {
    std::string out;
    write_value(out, v, pretty, 0);
    return out;
}

}  // namespace berth::json
