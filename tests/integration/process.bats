#!/usr/bin/env bats
# config.json's process: args, env, cwd, user, umask, capabilities, rlimits,
# noNewPrivileges, oomScoreAdj, and the stdio and fds it inherits.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

# status_field NAME: the value of NAME from the container's /proc/self/status,
# given the test's $output holds that file.
status_field() {
	awk -v k="$1:" '$1 == k { $1 = ""; sub(/^ +/, ""); print; exit }' <<<"$output"
}

# run_in_container SCRIPT: runs sh -c SCRIPT in a fresh container with `run`.
run_in_container() {
	set_cmd "$1"
	run --separate-stderr runtime run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 0 ] || fail "run failed with status $status:" "$output" "$stderr"
}

@test "process: args are passed as they are" {
	set_args printf '[%s]\n' a 'b c' '' '$HOME' '*'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output "$(printf '[%s]\n' a 'b c' '' '$HOME' '*')"
}

@test "process: args[0] is looked up in the container's PATH" {
	set_args echo found
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output found
}

@test "process: env is the container's environment" {
	update_config '.process.env = ["PATH=/bin", "FOO=bar baz", "EMPTY="]'
	run_in_container 'env'
	assert_output_contains $'PATH=/bin\n' 'FOO=bar baz' 'EMPTY='
	# Nothing leaks from the runtime's own environment.
	assert_output_not_contains BATS_ BERTH_
}

@test "process: HOME defaults to the user's home in the container's /etc/passwd" {
	update_config '.process.user = {"uid": 65534, "gid": 65534}'
	run_in_container 'echo "$HOME"'
	assert_output /nonexistent
}

@test "process: HOME from env is kept" {
	update_config '.process.env += ["HOME=/home/me"]'
	run_in_container 'echo "$HOME"'
	assert_output /home/me
}

@test "process: cwd is the working directory" {
	update_config '.process.cwd = "/etc"'
	run_in_container 'pwd'
	assert_output /etc
}

@test "process: a cwd that does not exist is created" {
	update_config '.process.cwd = "/does/not/exist"'
	run_in_container 'pwd'
	assert_output /does/not/exist
}

@test "process: user uid, gid and additionalGids" {
	update_config '.process.user = {"uid": 1000, "gid": 1001, "additionalGids": [10, 20]}'
	run_in_container 'cat /proc/self/status'
	assert_equal "$(status_field Uid)" "1000 1000 1000 1000"
	assert_equal "$(status_field Gid)" "1001 1001 1001 1001"
	assert_equal "$(status_field Groups | xargs)" "10 20"
	run_in_container 'id -u; id -g; id -G'
	assert_equal "$output" $'1000\n1001\n1001 10 20'
}

@test "process: no supplementary groups without additionalGids" {
	update_config '.process.user = {"uid": 0, "gid": 0}'
	run_in_container 'cat /proc/self/status'
	assert_equal "$(status_field Groups | xargs)" ""
}

@test "process: umask is applied" {
	update_config '.process.user.umask = 63' # 0077
	run_in_container 'umask'
	assert_output 0077
}

@test "process: the default umask is 0022" {
	run_in_container 'umask'
	assert_output 0022
}

@test "process: capabilities of a non-root user are exactly the configured sets" {
	# For a non-root user without file caps, permitted and effective after
	# execve are the ambient set; the others are kept as configured.
	update_config '.process.user = {"uid": 1000, "gid": 1000}
		| .process.capabilities = {
			"bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"permitted": ["CAP_CHOWN", "CAP_KILL"],
			"effective": ["CAP_CHOWN", "CAP_KILL"],
			"inheritable": ["CAP_KILL"],
			"ambient": ["CAP_KILL"]}'
	run_in_container 'cat /proc/self/status'
	assert_equal "$(status_field CapBnd)" 0000000000000421
	assert_equal "$(status_field CapInh)" 0000000000000020
	assert_equal "$(status_field CapAmb)" 0000000000000020
	assert_equal "$(status_field CapPrm)" 0000000000000020
	assert_equal "$(status_field CapEff)" 0000000000000020
}

@test "process: capabilities of root follow the bounding and permitted sets" {
	# Root gains the bounding set at execve, limited by no_new_privs to
	# the permitted set the runtime left.
	update_config '.process.capabilities = {
			"bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"permitted": ["CAP_CHOWN", "CAP_KILL"],
			"effective": ["CAP_CHOWN"],
			"inheritable": [],
			"ambient": []}'
	run_in_container 'cat /proc/self/status'
	assert_equal "$(status_field CapBnd)" 0000000000000421
	assert_equal "$(status_field CapInh)" 0000000000000000
	assert_equal "$(status_field CapAmb)" 0000000000000000
	assert_equal "$(status_field CapPrm)" 0000000000000021
	assert_equal "$(status_field CapEff)" 0000000000000021
}

@test "process: the default spec's capabilities" {
	run_in_container 'cat /proc/self/status'
	# CAP_AUDIT_WRITE (29), CAP_KILL (5), CAP_NET_BIND_SERVICE (10)
	assert_equal "$(status_field CapBnd)" 0000000020000420
	assert_equal "$(status_field CapEff)" 0000000020000420
}

@test "process: an unknown capability name is ignored with a warning naming it" {
	# runtime-spec: capabilities that cannot be granted MUST be logged as
	# a warning, and runtimes SHOULD NOT fail.
	update_config '.process.capabilities.bounding += ["CAP_BERTH_NONSENSE"]'
	set_cmd 'grep CapBnd /proc/self/status'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_contains CAP_BERTH_NONSENSE "$(printf 'CapBnd:\t0000000020000420')"
}

@test "process: rlimits set the soft and hard limits" {
	update_config '.process.rlimits = [
		{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200},
		{"type": "RLIMIT_NPROC", "soft": 300, "hard": 400},
		{"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]'
	run_in_container 'ulimit -n; ulimit -Hn; cat /proc/self/limits'
	assert_equal "${lines[0]}" 100
	assert_equal "${lines[1]}" 200
	assert_output_contains "$(printf '%-26s%-21s%-21s' 'Max processes' 300 400)"
	assert_output_contains "$(printf '%-26s%-21s%-21s' 'Max core file size' 0 0)"
}

@test "process: noNewPrivileges true sets NoNewPrivs" {
	update_config '.process.noNewPrivileges = true'
	run_in_container 'cat /proc/self/status'
	assert_equal "$(status_field NoNewPrivs)" 1
}

@test "process: noNewPrivileges false leaves NoNewPrivs unset" {
	update_config '.process.noNewPrivileges = false'
	run_in_container 'cat /proc/self/status'
	assert_equal "$(status_field NoNewPrivs)" 0
}

@test "process: oomScoreAdj is applied" {
	update_config '.process.oomScoreAdj = 500'
	run_in_container 'cat /proc/self/oom_score_adj'
	assert_output 500
}

@test "process: stdin is passed through" {
	set_args cat
	output=$(printf 'line one\nline two\n' | runtime run --bundle "$BUNDLE" "$ID")
	assert_output $'line one\nline two'
}

@test "process: stdout and stderr are passed through separately" {
	run_in_container 'echo to-out; echo to-err >&2'
	assert_equal "$output" to-out
	assert_equal "$stderr" to-err
}

@test "process: --preserve-fds N passes fds 3 to 3+N-1" {
	echo three >"$BATS_TEST_TMPDIR/f3"
	echo four >"$BATS_TEST_TMPDIR/f4"
	echo five >"$BATS_TEST_TMPDIR/f5"
	set_cmd 'cat <&3; cat <&4; [ -e /proc/$$/fd/5 ] && echo fd5-leaked; true'
	run runtime run --preserve-fds 2 --bundle "$BUNDLE" "$ID" \
		3<"$BATS_TEST_TMPDIR/f3" 4<"$BATS_TEST_TMPDIR/f4" 5<"$BATS_TEST_TMPDIR/f5"
	assert_success
	assert_output $'three\nfour'
}

@test "process: no fd beyond stdio leaks in without --preserve-fds" {
	echo three >"$BATS_TEST_TMPDIR/f3"
	# Not the last command, so that sh does not exec ls (whose own dir fd
	# would show up).
	set_cmd 'ls /proc/$$/fd; true'
	run runtime run --bundle "$BUNDLE" "$ID" 3<"$BATS_TEST_TMPDIR/f3"
	assert_success
	assert_equal "$(xargs <<<"$output")" "0 1 2"
}

@test "process: LISTEN_FDS from socket activation are passed on" {
	echo listen >"$BATS_TEST_TMPDIR/f3"
	set_cmd 'echo "$LISTEN_FDS $LISTEN_PID"; cat <&3'
	run bash -c 'export LISTEN_PID=$$ LISTEN_FDS=1; exec "$@"' _ \
		"$RUNTIME" --root "$ROOT" run --bundle "$BUNDLE" "$ID" 3<"$BATS_TEST_TMPDIR/f3"
	assert_success
	assert_output $'1 1\nlisten'
}

@test "process: a missing executable fails at create and leaves nothing" {
	set_args /nope
	run_detached runtime create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains /nope
	assert_output_contains_i "no such file"
	assert_no_leftovers
}

@test "process: a command not in PATH fails at create and leaves nothing" {
	set_args berth-no-such-command
	run_detached runtime create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains berth-no-such-command
	assert_no_leftovers
}

@test "process: an executable without the exec bit fails and leaves nothing" {
	set_args /etc/passwd
	run_detached runtime run --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains /etc/passwd
	assert_output_contains_i "permission denied"
	assert_no_leftovers
}
