#!/usr/bin/env bats
# The command line itself: version, help, spec, features, list.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

@test "cli: --version prints the version and the spec version" {
	run "$RUNTIME" --version
	assert_success
	assert_output_contains "version"
	[[ $output =~ spec:\ [0-9]+\.[0-9]+\.[0-9]+ ]] || fail "no 'spec: X.Y.Z' line:" "$output"
}

@test "cli: --help lists the commands" {
	run "$RUNTIME" --help
	assert_success
	assert_output_contains create start run state kill delete list spec features
}

@test "cli: an unknown command fails and names it" {
	run "$RUNTIME" --root "$ROOT" frobnicate
	assert_failure
	assert_output_contains frobnicate
}

@test "cli: a command missing its container id fails" {
	run runtime state
	assert_failure
	[ -n "$output" ] || fail "no usage error printed"
}

@test "spec: writes a default config.json in the current directory" {
	mkdir "$BATS_TEST_TMPDIR/s" && cd "$BATS_TEST_TMPDIR/s"
	run "$RUNTIME" spec
	assert_success
	[ -s config.json ] || fail "no config.json written"
	run jq -r '.ociVersion, .root.path, (.process.args | join(" ")), .process.cwd' config.json
	assert_success
	[[ ${lines[0]} =~ ^1\.[0-9]+\.[0-9]+ ]] || fail "ociVersion '${lines[0]}' is not 1.x.y"
	assert_equal "${lines[1]}" rootfs
	assert_equal "${lines[2]}" sh
	assert_equal "${lines[3]}" /
	run jq -r '.linux.namespaces[].type' config.json
	assert_output_contains pid network ipc uts mount
	run jq -r '.mounts[].destination' config.json
	assert_output_contains /proc /dev /dev/pts /dev/shm /dev/mqueue /sys
}

@test "spec: --bundle writes config.json into that directory" {
	mkdir "$BATS_TEST_TMPDIR/s"
	run "$RUNTIME" spec --bundle "$BATS_TEST_TMPDIR/s"
	assert_success
	jq -e .process "$BATS_TEST_TMPDIR/s/config.json" >/dev/null
}

@test "spec: refuses to overwrite an existing config.json" {
	mkdir "$BATS_TEST_TMPDIR/s" && cd "$BATS_TEST_TMPDIR/s"
	echo '{"mine": true}' >config.json
	run "$RUNTIME" spec
	assert_failure
	assert_output_contains config.json
	assert_equal "$(cat config.json)" '{"mine": true}'
}

@test "spec: --rootless adds a user namespace mapping the current user" {
	mkdir "$BATS_TEST_TMPDIR/s" && cd "$BATS_TEST_TMPDIR/s"
	run "$RUNTIME" spec --rootless
	assert_success
	run jq -r '.linux.namespaces[].type' config.json
	assert_output_contains user
	assert_output_not_contains network
	run jq -r '.linux.uidMappings[0] | "\(.containerID) \(.hostID) \(.size)"' config.json
	assert_output "0 $(id -u) 1"
	run jq -r '.linux.gidMappings[0] | "\(.containerID) \(.hostID) \(.size)"' config.json
	assert_output "0 $(id -g) 1"
}

@test "spec: the default config runs as is" {
	# Only args differ from `spec`: terminal is off and the command exits.
	set_args echo hello
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output hello
}

@test "features: prints JSON with ociVersionMin and ociVersionMax" {
	run "$RUNTIME" features
	assert_success
	run jq -r '.ociVersionMin, .ociVersionMax' <<<"$output"
	assert_success
	[[ ${lines[0]} =~ ^1\.0\.[0-9]+ ]] || fail "ociVersionMin '${lines[0]}'"
	[[ ${lines[1]} =~ ^1\.[0-9]+\.[0-9]+ ]] || fail "ociVersionMax '${lines[1]}'"
}

@test "features: lists hooks, mount options and namespaces" {
	run "$RUNTIME" features
	assert_success
	run jq -r '.hooks[]' <<<"$output"
	assert_output_contains prestart createRuntime createContainer startContainer poststart poststop
	run "$RUNTIME" features
	run jq -r '.mountOptions[]' <<<"$output"
	assert_output_contains bind rbind ro nosuid nodev noexec
	run "$RUNTIME" features
	run jq -r '.linux.namespaces[]' <<<"$output"
	assert_output_contains pid network ipc uts mount user cgroup
}

@test "list: with no containers prints only the header" {
	run runtime list
	assert_success
	assert_equal "${#lines[@]}" 1
	assert_equal "$(echo "${lines[0]}" | awk '{ print $1, $2, $3, $4, $5, $6 }')" \
		"ID PID STATUS BUNDLE CREATED OWNER"
}

@test "list: --format json with no containers is empty" {
	run runtime list --format json
	assert_success
	# runc prints null, an empty array is as good.
	jq -e 'length == 0' <<<"$output" >/dev/null || fail "not empty:" "$output"
}

@test "list: shows a created container with pid, status and bundle" {
	set_args sleep 100
	create_container
	pid=$(container_pid)
	run runtime list
	assert_success
	assert_equal "${#lines[@]}" 2
	read -r id lpid status bundle created owner <<<"${lines[1]}"
	assert_equal "$id" "$ID"
	assert_equal "$lpid" "$pid"
	assert_equal "$status" created
	assert_equal "$bundle" "$BUNDLE"
	[[ $created =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T ]] || fail "created '$created' is not RFC 3339"
	assert_equal "$owner" root
}

@test "list: --format json has id, pid, status, bundle and created" {
	set_args sleep 100
	create_container
	pid=$(container_pid)
	run runtime list --format json
	assert_success
	run jq -r '.[] | "\(.id) \(.pid) \(.status) \(.bundle) \(.created != null)"' <<<"$output"
	assert_output "$ID $pid created $BUNDLE true"
}

@test "list: -q prints only the ids" {
	set_args sleep 100
	create_container "$ID-a"
	create_container "$ID-b"
	run runtime list -q
	assert_success
	assert_equal "$(sort <<<"$output")" "$(printf '%s\n' "$ID-a" "$ID-b")"
}

@test "list: a container whose process exited is listed as stopped" {
	set_args true
	create_container
	start_container
	wait_for_status stopped
	run runtime list
	assert_success
	read -r id lpid status _ <<<"${lines[1]}"
	assert_equal "$id" "$ID"
	assert_equal "$status" stopped
}

@test "tools/make-bundle: a relative RUNTIME works (spec runs in the bundle's dir)" {
	local rel
	rel=$(realpath --relative-to="$BATS_TEST_TMPDIR" "$RUNTIME")
	cd "$BATS_TEST_TMPDIR"
	run env RUNTIME="$rel" "$BERTH_SRCDIR/tools/make-bundle" "$BATS_TEST_TMPDIR/rel-bundle"
	assert_success
	[ -s "$BATS_TEST_TMPDIR/rel-bundle/config.json" ] || fail "no config.json"
	[ -x "$BATS_TEST_TMPDIR/rel-bundle/rootfs/bin/busybox" ] || fail "no busybox in the rootfs"
}
