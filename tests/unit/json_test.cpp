#include <catch2/catch.hpp>

#include "libutil/json.hpp"

using namespace std::string_literals;
using berth::json::parse;
using berth::json::Value;
using berth::json::write;
using berth::json::is_utf8;

namespace {

std::string parse_error(std::string_view text) {
    auto r = parse(text);
    REQUIRE_FALSE(r);
    return r.error().what();
}

}  // namespace

TEST_CASE("json: the largest uint64 survives a parse/write round trip") {
    auto v = parse(R"({"limit": 18446744073709551615})");
    REQUIRE(v);
    const Value* limit = v->find("limit");
    REQUIRE(limit);
    CHECK(limit->as_uint64() == UINT64_MAX);
    CHECK_FALSE(limit->as_int64());
    CHECK(write(*v) == R"({"limit":18446744073709551615})");
}

TEST_CASE("json: integers are exact, fractions and exponents are not integers") {
    auto v = parse("[-9223372036854775808, 9223372036854775808, 1.5, 1e3, -1, -0]");
    REQUIRE(v);
    const auto& items = v->items();
    CHECK(items[0].as_int64() == INT64_MIN);
    CHECK_FALSE(items[1].as_int64());
    CHECK(items[1].as_uint64() == 9223372036854775808ULL);
    CHECK_FALSE(items[2].as_int64());
    CHECK(items[2].as_double() == 1.5);
    CHECK_FALSE(items[3].as_uint64());
    CHECK(items[3].as_double() == 1000.0);
    CHECK(items[4].as_int64() == -1);
    CHECK_FALSE(items[4].as_uint64());
    CHECK(items[5].as_uint64() == 0);
    CHECK(items[2].raw_number() == "1.5");
}

TEST_CASE("json: a nested document keeps its structure and member order") {
    auto v = parse(R"({"z": {"a": [1, {"b": null}], "t": true}, "a": "x", "f": false})");
    REQUIRE(v);
    REQUIRE(v->is_object());
    REQUIRE(v->members().size() == 3);
    CHECK(v->members()[0].first == "z");
    CHECK(v->members()[1].first == "a");
    const Value* z = v->find("z");
    REQUIRE(z);
    const Value* arr = z->find("a");
    REQUIRE(arr);
    REQUIRE(arr->items().size() == 2);
    CHECK(arr->items()[1].find("b")->is_null());
    CHECK(z->find("t")->as_bool());
    CHECK_FALSE(v->find("f")->as_bool());
    CHECK(v->find("a")->as_string() == "x");
    CHECK(v->find("missing") == nullptr);
    CHECK(write(*v) == R"({"z":{"a":[1,{"b":null}],"t":true},"a":"x","f":false})");
}

TEST_CASE("json: a repeated key keeps the last value, like Go") {
    auto v = parse(R"({"a": 1, "b": 2, "a": 3})");
    REQUIRE(v);
    CHECK(write(*v) == R"({"a":3,"b":2})");
}

TEST_CASE("json: pretty output matches Go's MarshalIndent with two spaces") {
    Value v = Value::object();
    v.set("a", Value::number(1));
    Value list = Value::array();
    list.push(Value::string("x"));
    list.push(Value::object());
    list.push(Value::array());
    v.set("list", std::move(list));
    v.set("empty", Value::object());
    v.set("none", Value());
    CHECK(write(v, true) ==
          "{\n"
          "  \"a\": 1,\n"
          "  \"list\": [\n"
          "    \"x\",\n"
          "    {},\n"
          "    []\n"
          "  ],\n"
          "  \"empty\": {},\n"
          "  \"none\": null\n"
          "}");
    CHECK(write(Value::object(), true) == "{}");
    CHECK(write(Value::array(), true) == "[]");
}

TEST_CASE("json: set replaces an existing key in place") {
    Value v = Value::object();
    v.set("a", Value::number(1));
    v.set("b", Value::number(2));
    v.set("a", Value::string("new"));
    CHECK(write(v) == R"({"a":"new","b":2})");
}

TEST_CASE("json: strings are escaped like Go, but <, > and & stay literal") {
    Value v = Value::string("q\" b\\ n\n t\t r\r \x01 \x1f / <a&b> é");
    CHECK(write(v) == R"("q\" b\\ n\n t\t r\r \u0001 \u001f / <a&b> é")");
}

TEST_CASE("json: escaped strings parse back to the same bytes") {
    std::string s = "line\nnul\0tab\t\"quoted\" \\ \x7f"s;
    auto v = parse(write(Value::string(s)));
    REQUIRE(v);
    CHECK(v->as_string() == s);
}

TEST_CASE("json: invalid UTF-8 is written as U+FFFD") {
    std::string invalid = std::string("a\xff") + "b";
    CHECK(write(Value::string(invalid)) == "\"a\uFFFDb\"");
}

// Found by tests/fuzz (fuzz-spec): yajl lets overlong forms and escaped
// surrogates through; written out they became U+FFFD, so two keys that
// differed only there were merged when the document was read back (e.g. the
// config kept in state.json lost an annotation).
TEST_CASE("json: invalid UTF-8 and lone surrogates parse as U+FFFD, as Go decodes them") {
    auto v = parse("{\"a\xc0\xbb\": 1, \"a\xc0\xba\": 2, \"\\udc00\": 3, \"\\udc01x\": 4}");
    REQUIRE(v);
    REQUIRE(v->members().size() == 3);
    CHECK(v->members()[0].first == "a\uFFFD\uFFFD");
    CHECK(v->members()[0].second.raw_number() == "2");  // the last value of a repeated key
    CHECK(v->members()[1].first == "\uFFFD");
    CHECK(v->members()[2].first == "\uFFFDx");
    // Written and read back: the same document.
    auto back = parse(write(*v));
    REQUIRE(back);
    CHECK(write(*back) == write(*v));
    // Valid text is kept as it is.
    auto ok = parse("[\"h\u00e9\\ud83d\\ude00\"]");
    REQUIRE(ok);
    CHECK(ok->items()[0].as_string() == "h\u00e9\U0001F600");
}

TEST_CASE("json: a syntax error names its line and column") {
    CHECK(parse_error("{x") == "invalid JSON at line 1, column 2: invalid char in json text");
    CHECK(parse_error("{\n  \"a\": 1,\n  \"b\" 2\n}") ==
          "invalid JSON at line 3, column 7: object key and value must be separated by a colon "
          "(':')");
    CHECK(parse_error("[1,]") ==
          "invalid JSON at line 1, column 4: unallowed token at this point in JSON text");
}

TEST_CASE("json: a truncated document is an error at its end") {
    CHECK(parse_error("{\"a\": [1, 2") ==
          "invalid JSON at line 1, column 12: unexpected end of input");
    CHECK(parse_error("") == "invalid JSON at line 1, column 1: unexpected end of input");
    CHECK(parse_error("  \n ") == "invalid JSON at line 2, column 2: unexpected end of input");
}

TEST_CASE("json: trailing garbage after the document is rejected") {
    CHECK(parse_error("{\"a\": 1} x") == "invalid JSON at line 1, column 10: trailing garbage");
    CHECK(parse_error("{}}") == "invalid JSON at line 1, column 3: trailing garbage");
    CHECK(parse_error("{} {}") == "invalid JSON at line 1, column 4: trailing garbage");
    CHECK(parse("{}  \n\t").has_value());
}

TEST_CASE("json: absurdly deep nesting is refused instead of exhausting the stack") {
    CHECK(parse_error(std::string(20000, '[')) ==
          "invalid JSON at line 1, column 10001: nesting too deep");
    std::string deep_ok = std::string(1000, '[') + std::string(1000, ']');
    CHECK(parse(deep_ok).has_value());
}

TEST_CASE("json: errors are one line") {
    std::string msg = parse_error("{\n\"a\": [1 2]\n}");
    CHECK(msg.find('\n') == std::string::npos);
}

TEST_CASE("json: scalars are documents too") {
    CHECK(parse("null")->is_null());
    CHECK(parse("true")->as_bool());
    CHECK(parse("\"s\"")->as_string() == "s");
    CHECK(parse("-12")->as_int64() == -12);
}

TEST_CASE("json: type names read as in error messages") {
    CHECK(std::string(Value::type_name(Value::Type::Bool)) == "boolean");
    CHECK(std::string(Value::type_name(Value::Type::Number)) == "number");
    CHECK(std::string(Value::type_name(Value::Type::Object)) == "object");
}

TEST_CASE("json: is_utf8") {
    CHECK(is_utf8(""));
    CHECK(is_utf8("caf\xc3\xa9 \xf0\x9f\x99\x82"));
    CHECK_FALSE(is_utf8("a\xff"));
    CHECK_FALSE(is_utf8("\xc0\xaf"));          // overlong
    CHECK_FALSE(is_utf8("\xed\xa0\x80"));      // surrogate
    CHECK_FALSE(is_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
    CHECK_FALSE(is_utf8("\xe2\x82"));          // cut short
}
