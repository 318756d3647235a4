// JSON through one module. yajl is used underneath (only json.cpp includes its
// headers, so it can be swapped in one place); above it a small typed DOM.
// Numbers keep their raw text, so 64-bit unsigned values (e.g. memory limits,
// capability masks) are never truncated through a double.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libutil/error.hpp"

namespace berth::json {

class Value {
public:
    enum class Type { Null, Bool, Number, String, Array, Object };
    using Members = std::vector<std::pair<std::string, Value>>;
    using Items = std::vector<Value>;

    Value() = default;  // null
    static Value null() { return Value(); }
    static Value boolean(bool b);
    static Value number(int64_t v);
    static Value number(uint64_t v);
    static Value number(int v) { return number(static_cast<int64_t>(v)); }
    static Value number(unsigned v) { return number(static_cast<uint64_t>(v)); }
    static Value number_text(std::string raw);  // raw JSON number text
    static Value string(std::string s);
    static Value array();
    static Value object();

    Type type() const { return type_; }
    bool is_null() const { return type_ == Type::Null; }
    bool is_bool() const { return type_ == Type::Bool; }
    bool is_number() const { return type_ == Type::Number; }
    bool is_string() const { return type_ == Type::String; }
    bool is_array() const { return type_ == Type::Array; }
    bool is_object() const { return type_ == Type::Object; }
    static const char* type_name(Type t);  // "null", "boolean", "number", ...

    bool as_bool() const { return bool_; }
    const std::string& as_string() const { return text_; }  // String
    const std::string& raw_number() const { return text_; }  // Number
    // Exact integer conversions from the number text; nullopt when the text is
    // not an integer or is out of range.
    std::optional<int64_t> as_int64() const;
    std::optional<uint64_t> as_uint64() const;
    std::optional<double> as_double() const;

    const Items& items() const { return items_; }
    Items& items() { return items_; }
    const Members& members() const { return members_; }
    Members& members() { return members_; }
    // Object member lookup (first match); nullptr when absent or not an object.
    const Value* find(std::string_view key) const;

    // Building: object set (replaces an existing key), array push.
    Value& set(std::string key, Value v);
    Value& push(Value v);

private:
    Type type_ = Type::Null;
    bool bool_ = false;
    std::string text_;
    Items items_;
    Members members_;
};

// Parses one JSON document. Errors name the position: "invalid JSON at
// line 3, column 7: ..." (callers prefix the file name).
Result<Value> parse(std::string_view text);

// Whether `s` is valid UTF-8 (no overlong forms, surrogates or values past
// U+10FFFF): strings that are not come back from write + parse changed.
bool is_utf8(std::string_view s);

// Serialises compactly, or indented with two spaces (like runc's state output).
std::string write(const Value& v, bool pretty = false);

}  // namespace berth::json
