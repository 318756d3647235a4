#!/usr/bin/env bats
# Bad input: every case must fail with a non-zero exit, an error that names
# the file, field or value at fault, and no partial state (no state dir,
# mount, cgroup or process).
#
# assert_error_names checks the naming strictly for berth-runtime only: runc
# 1.1.5 often says just "container does not exist" or "EOF". Substrings that
# runc's messages do contain are checked with assert_output_contains.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

# create_fails: `create` must fail; its output is in $output.
create_fails() {
	run_detached runtime create --bundle "$BUNDLE" "$@" "$ID"
	assert_failure
}

# --- config.json ---------------------------------------------------------

@test "errors: config.json missing" {
	rm "$BUNDLE/config.json"
	create_fails
	assert_output_contains config.json
	assert_no_leftovers
}

@test "errors: config.json is not JSON" {
	echo 'not json {' >"$BUNDLE/config.json"
	create_fails
	assert_error_names config.json
	assert_no_leftovers
}

@test "errors: config.json is empty" {
	: >"$BUNDLE/config.json"
	create_fails
	assert_error_names config.json
	assert_no_leftovers
}

@test "errors: config.json is a directory" {
	rm "$BUNDLE/config.json" && mkdir "$BUNDLE/config.json"
	create_fails
	assert_output_contains config.json
	assert_no_leftovers
}

@test "errors: the bundle directory does not exist" {
	BUNDLE=$BATS_TEST_TMPDIR/no-such-bundle
	create_fails
	assert_output_contains "$BUNDLE"
	assert_no_leftovers
}

@test "errors: process.args is a string, not an array" {
	update_config '.process.args = "sh"'
	create_fails
	assert_output_contains process.args
	assert_no_leftovers
}

@test "errors: process.user.uid is a string" {
	update_config '.process.user.uid = "0"'
	create_fails
	assert_output_contains process.user.uid
	assert_no_leftovers
}

@test "errors: process.user.uid does not fit in 32 bits" {
	update_config '.process.user.uid = 4294967296'
	create_fails
	assert_output_contains process.user.uid
	assert_no_leftovers
}

@test "errors: ociVersion with an unsupported major version" {
	skip_if_runc "runc 1.1.5 does not check ociVersion"
	update_config '.ociVersion = "2.0.0"'
	create_fails
	assert_output_contains ociVersion 2.0.0
	assert_no_leftovers
}

@test "errors: process is missing" {
	update_config 'del(.process)'
	create_fails
	assert_output_contains process
	assert_no_leftovers
}

@test "errors: process.args is empty" {
	update_config '.process.args = []'
	create_fails
	assert_output_contains args
	assert_no_leftovers
}

@test "errors: process.cwd is relative" {
	update_config '.process.cwd = "relative/dir"'
	create_fails
	assert_output_contains_i cwd
	assert_no_leftovers
}

@test "errors: root is missing" {
	update_config 'del(.root)'
	create_fails
	assert_output_contains root
	assert_no_leftovers
}

@test "errors: the rootfs does not exist" {
	update_config '.root.path = "no-such-rootfs"'
	create_fails
	assert_output_contains no-such-rootfs
	assert_no_leftovers
}

@test "errors: the rootfs is a file" {
	rm -rf "$BUNDLE/rootfs" && touch "$BUNDLE/rootfs"
	create_fails
	assert_error_names rootfs
	assert_no_leftovers
}

@test "errors: an unknown rlimit type" {
	update_config '.process.rlimits = [{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]'
	create_fails
	assert_output_contains RLIMIT_BOGUS
	assert_no_leftovers
}

@test "errors: an rlimit whose soft limit exceeds its hard limit" {
	update_config '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 50}]'
	create_fails
	assert_error_names RLIMIT_NOFILE
	assert_no_leftovers
}

@test "errors: process.terminal without a console socket" {
	update_config '.process.terminal = true'
	create_fails
	# Naming the field (process.terminal) or the missing flag
	# (--console-socket) both tell the user what to fix.
	[[ ${output,,} =~ terminal|console.socket ]] || fail "names neither terminal nor console socket:" "$output"
	assert_no_leftovers
}

# --- ids -----------------------------------------------------------------

@test "errors: invalid container ids" {
	for id in "a/b" ".." "." "a b" "../$ID-escape"; do
		run_detached runtime create --bundle "$BUNDLE" "$id"
		assert_failure
		assert_output_contains_i id
		[ -z "$(ls -A "$ROOT")" ] || fail "id '$id' left:" "$(ls -A "$ROOT")"
	done
	[ ! -e "$ROOT/../$ID-escape" ] && [ ! -e "$ROOT/../state.json" ] ||
		fail "an id escaped the state root"
	assert_no_leftovers
}

@test "errors: an empty container id" {
	run_detached runtime create --bundle "$BUNDLE" ""
	assert_failure
	assert_output_contains_i id
	assert_no_leftovers
}

@test "errors: a duplicate container id" {
	set_args sleep 100
	create_container
	pid=$(container_pid)
	create_fails
	assert_error_names "$ID"
	# The first container is untouched; once it is gone, nothing is left.
	assert_equal "$(container_status)" created
	assert_equal "$(container_pid)" "$pid"
	runtime delete --force "$ID"
	assert_no_leftovers
}

@test "errors: an unknown id for state, start, kill and delete" {
	for cmd in state start "kill" delete; do
		run runtime $cmd "$ID"
		assert_failure
		assert_error_names "$ID"
	done
	assert_no_leftovers
}

# --- signals -------------------------------------------------------------

@test "errors: an unknown signal name" {
	set_args sleep 100
	run_container_detached
	run runtime kill "$ID" SIGFOO
	assert_failure
	assert_output_contains SIGFOO
	assert_equal "$(container_status)" running
}

@test "errors: a signal number out of range" {
	set_args sleep 100
	run_container_detached
	run runtime kill "$ID" 99
	assert_failure
	assert_error_names 99
	assert_equal "$(container_status)" running
}

# --- namespaces ----------------------------------------------------------

@test "errors: a namespace path that is not a namespace" {
	touch "$BATS_TEST_TMPDIR/not-a-namespace"
	add_namespace network "$BATS_TEST_TMPDIR/not-a-namespace"
	create_fails
	assert_error_names "$BATS_TEST_TMPDIR/not-a-namespace"
	assert_no_leftovers
}

@test "errors: a namespace path that does not exist" {
	add_namespace network "$BATS_TEST_TMPDIR/no-such-namespace"
	create_fails
	assert_output_contains "$BATS_TEST_TMPDIR/no-such-namespace"
	assert_no_leftovers
}

@test "errors: an unknown namespace type" {
	update_config '.linux.namespaces += [{"type": "bogus"}]'
	create_fails
	assert_output_contains bogus
	assert_no_leftovers
}

@test "errors: a namespace type given twice" {
	update_config '.linux.namespaces += [{"type": "pid"}]'
	create_fails
	assert_output_contains pid
	assert_no_leftovers
}

@test "errors: hostname without a uts namespace" {
	remove_namespace uts
	update_config '.hostname = "berth"'
	create_fails
	assert_output_contains hostname
	[ "$(hostname)" != berth ] || fail "the host's hostname was changed"
	assert_no_leftovers
}

@test "errors: domainname without a uts namespace" {
	skip_if_runc "runc 1.1.5 ignores domainname"
	remove_namespace uts
	update_config 'del(.hostname) | .domainname = "berth.example"'
	create_fails
	assert_output_contains domainname
	assert_no_leftovers
}

@test "errors: a user namespace without uid mappings" {
	add_namespace user
	create_fails
	assert_error_names uidMappings
	assert_no_leftovers
}

# --- process -------------------------------------------------------------

@test "errors: a missing executable" {
	set_args /nope
	create_fails
	assert_output_contains /nope
	assert_output_contains_i "no such file"
	assert_no_leftovers
}

@test "errors: args[0] is a directory" {
	set_args /etc
	create_fails
	assert_output_contains /etc
	assert_output_contains_i "permission denied"
	assert_no_leftovers
}

# --- mounts --------------------------------------------------------------

@test "errors: a bind mount source that does not exist" {
	add_bind_mount "$BATS_TEST_TMPDIR/no-such-source" /data bind
	create_fails
	assert_output_contains "$BATS_TEST_TMPDIR/no-such-source"
	assert_no_leftovers
}

@test "errors: an unknown filesystem type" {
	update_config '.mounts += [{"destination": "/x", "type": "berthfs", "source": "none"}]'
	create_fails
	assert_output_contains /x
	assert_error_names berthfs
	assert_no_leftovers
}

@test "errors: a tmpfs option the kernel rejects" {
	update_config '.mounts += [{"destination": "/x", "type": "tmpfs", "source": "tmpfs", "options": ["size=bogus"]}]'
	create_fails
	assert_output_contains /x size=bogus
	assert_no_leftovers
}

# --- hooks ---------------------------------------------------------------

@test "errors: a hook whose path does not exist" {
	update_config '.hooks.createRuntime = [{"path": "/no/such/hook"}]'
	create_fails
	assert_output_contains /no/such/hook
	assert_no_leftovers
}

@test "errors: a failing prestart hook" {
	add_hook prestart 'echo the-hook-failed >&2; exit 1'
	create_fails
	assert_output_contains_i hook
	assert_output_contains the-hook-failed
	assert_no_leftovers
}

# --- the command line ----------------------------------------------------

@test "errors: a --pid-file that cannot be written" {
	set_args sleep 100
	create_fails --pid-file "$BATS_TEST_TMPDIR/no-such-dir/pid"
	assert_output_contains "$BATS_TEST_TMPDIR/no-such-dir"
	assert_no_leftovers
}
