#include "manager/images/import.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "manager/images/layer_stream.hpp"

using namespace berth;
using namespace berth::manager;

namespace {
std::string changed(std::initializer_list<const char*> changes) {
    json::Value c = json::Value::object();
    for (const char* s : changes) {
        auto r = apply_change(c, s);
        if (!r) return "error: " + r.error().what();
    }
    return json::write(c);
}
}  // namespace

TEST_CASE("import --change: CMD and ENTRYPOINT as JSON arrays or shell strings") {
    CHECK(changed({R"(CMD=["/bin/sh","-l"])"}) == R"({"Cmd":["/bin/sh","-l"]})");
    CHECK(changed({"ENTRYPOINT echo hi"}) == R"({"Entrypoint":["/bin/sh","-c","echo hi"]})");
    CHECK(changed({"cmd=true", "CMD=false"}) == R"({"Cmd":["/bin/sh","-c","false"]})");
    CHECK(changed({R"(CMD=[1])"}).starts_with("error: --change \"CMD=[1]\": not a JSON array of strings"));
}

TEST_CASE("import --change: ENV, LABEL, EXPOSE, USER, WORKDIR, VOLUME") {
    CHECK(changed({"ENV=A=1", "ENV B 2", "ENV=A=3"}) == R"({"Env":["A=3","B=2"]})");
    CHECK(changed({"LABEL=k=v", R"(LABEL x="y z")"}) == R"({"Labels":{"k":"v","x":"y z"}})");
    CHECK(changed({"EXPOSE=80 53/udp"}) == R"({"ExposedPorts":{"80/tcp":{},"53/udp":{}}})");
    CHECK(changed({"USER=1000:1000", "WORKDIR=/srv", "VOLUME=/data"}) ==
          R"({"User":"1000:1000","WorkingDir":"/srv","Volumes":{"/data":{}}})");
}

TEST_CASE("import --change: bad instructions are named") {
    CHECK(changed({"FROM=x"}) ==
          "error: --change \"FROM=x\": unknown instruction FROM (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, "
          "VOLUME, WORKDIR)");
    CHECK(changed({"CMD"}) == "error: --change \"CMD\": expected INSTRUCTION=VALUE");
    CHECK(changed({"EXPOSE=99999"}) == "error: --change \"EXPOSE=99999\": invalid port \"99999\"");
    CHECK(changed({"EXPOSE=80/icmp"}) == "error: --change \"EXPOSE=80/icmp\": invalid port \"80/icmp\"");
    CHECK(changed({"ENV=NOVALUE"}) == "error: --change \"ENV=NOVALUE\": expected KEY=VALUE");
    CHECK(changed({"VOLUME=rel"}) == "error: --change \"VOLUME=rel\": not an absolute path");
}

TEST_CASE("import: the host architecture in GOARCH names") {
    std::string a = host_arch();
    CHECK_FALSE(a.empty());
    CHECK(a != "x86_64");
    CHECK(a != "aarch64");
}

TEST_CASE("layer size limit: sizes with suffixes") {
    CHECK(parse_size("1024") == 1024u);
    CHECK(parse_size("4K") == 4096u);
    CHECK(parse_size("2m") == 2u << 20);
    CHECK(parse_size("64G") == 64ULL << 30);
    CHECK(parse_size("1T") == 1ULL << 40);
    CHECK_FALSE(parse_size(""));
    CHECK_FALSE(parse_size("G"));
    CHECK_FALSE(parse_size("12X"));
    CHECK_FALSE(parse_size("-1"));
    CHECK_FALSE(parse_size("99999999999T"));
}
