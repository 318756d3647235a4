// --format TEMPLATE for ps and inspect: the part of Go's text/template that
// people type with docker: "{{.State.Pid}}", "{{.Name}} {{.Id}}",
// "{{json .Config.Env}}", "{{index .Config.Labels \"key\"}}".
#pragma once
#include <string>
#include <vector>

#include "libutil/error.hpp"
#include "libutil/json.hpp"

namespace berth::manager {

Result<std::string> render_template(const std::string& tmpl, const json::Value& data);

// Rows as docker's tabwriter lays them out: each column as wide as its
// widest cell (counted in characters, not UTF-8 bytes) and three spaces,
// the last one unpadded; a line per row.
std::string format_table(const std::vector<std::vector<std::string>>& rows);

}  // namespace berth::manager
