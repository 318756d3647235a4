#include "manager/cli/format.hpp"

#include <algorithm>

#include "libutil/strings.hpp"

namespace berth::manager {

namespace {

// ".A.B" → the value there; nullptr when a key is missing.
const json::Value* lookup(const json::Value& data, std::string_view path) {
    if (path == ".") return &data;
    const json::Value* v = &data;
    for (const auto& key : split(path.substr(1), '.')) {
        if (!v->is_object()) return nullptr;
        v = v->find(key);
        if (!v) return nullptr;
    }
    return v;
}

std::string plain(const json::Value& v) {
    switch (v.type()) {
    case json::Value::Type::String: return v.as_string();
    case json::Value::Type::Number: return v.raw_number();
    case json::Value::Type::Bool: return v.as_bool() ? "true" : "false";
    case json::Value::Type::Null: return "<no value>";
    case json::Value::Type::Array: {
        std::vector<std::string> parts;
        for (const auto& i : v.items()) parts.push_back(plain(i));
        return "[" + join(parts, " ") + "]";
    }
    case json::Value::Type::Object: {
        std::vector<std::string> parts;
        for (const auto& [k, i] : v.members()) parts.push_back(k + ":" + plain(i));
        return "map[" + join(parts, " ") + "]";
    }
    }
    return "";
}

// docker's templates turn the "\n" and "\t" people write in shell strings
// into the characters.
std::string literal(const std::string& s) {
    std::string out;
    for (size_t k = 0; k < s.size(); ++k) {
        if (s[k] == '\\' && k + 1 < s.size() && (s[k + 1] == 'n' || s[k + 1] == 't')) {
            out.push_back(s[k + 1] == 'n' ? '\n' : '\t');
            ++k;
        } else {
            out.push_back(s[k]);
        }
    }
    return out;
}

}  // namespace

Result<std::string> render_template(const std::string& tmpl, const json::Value& data) {
    std::string out;
    size_t i = 0;
    while (i < tmpl.size()) {
        size_t open = tmpl.find("{{", i);
        if (open == std::string::npos) {
            out += literal(tmpl.substr(i));
            break;
        }
        out += literal(tmpl.substr(i, open - i));
        size_t close = tmpl.find("}}", open);
        if (close == std::string::npos) return Err("--format: unclosed \"{{\" in ", quote(tmpl));
        std::string expr(trim(std::string_view(tmpl).substr(open + 2, close - open - 2)));
        auto words = split(expr, ' ');
        std::erase(words, "");
        if (words.empty()) return Err("--format: empty action in ", quote(tmpl));
        if (words[0] == "json" && words.size() == 2) {
            const json::Value* v = lookup(data, words[1]);
            out += v ? json::write(*v) : "null";
        } else if (words[0] == "index" && words.size() == 3) {
            const json::Value* v = lookup(data, words[1]);
            std::string key = words[2];
            if (key.size() >= 2 && key.front() == '"' && key.back() == '"') key = key.substr(1, key.size() - 2);
            const json::Value* item = v && v->is_object() ? v->find(key) : nullptr;
            out += item ? plain(*item) : "<no value>";
        } else if (words.size() == 1 && words[0][0] == '.') {
            const json::Value* v = lookup(data, words[0]);
            if (!v) return Err("--format: ", quote(words[0]), ": no such field");
            out += plain(*v);
        } else {
            return Err("--format: unsupported action ", quote(expr));
        }
        i = close + 2;
    }
    return out;
}

std::string format_table(const std::vector<std::vector<std::string>>& rows) {
    auto width = [](const std::string& s) {
        size_t n = 0;
        for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;
        return n;
    };
    std::vector<size_t> widths;
    for (const auto& r : rows)
        for (size_t i = 0; i < r.size(); ++i) {
            if (widths.size() <= i) widths.push_back(0);
            widths[i] = std::max(widths[i], width(r[i]));
        }
    std::string out;
    for (const auto& r : rows) {
        std::string line;
        for (size_t i = 0; i < r.size(); ++i) {
            line += r[i];
            if (i + 1 < r.size()) line.append(widths[i] - width(r[i]) + 3, ' ');
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out += line + "\n";
    }
    return out;
}

}  // namespace berth::manager
