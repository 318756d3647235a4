// --format TEMPLATE for ps and inspect: the part of Go's text/template that
// people type with docker: "{{.State.Pid}}", "{{.Name}} {{.Id}}",
// "{{json .Config.Env}}", "{{index .Config.Labels \"key\"}}".
#pragma once
#include <string>

#include "libutil/error.hpp"
#include "libutil/json.hpp"

namespace berth::manager {

Result<std::string> render_template(const std::string& tmpl, const json::Value& data);

}  // namespace berth::manager
