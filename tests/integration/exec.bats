#!/usr/bin/env bats
# exec: a new process in a running container, with runc's flags.

load helpers

setup() {
	common_setup
	update_config '.hostname = "exec-box"'
	set_args sleep 1000
}
teardown() { common_teardown; }

@test "exec: runs in the container's namespaces, cgroup and root" {
	run_container_detached
	run runtime exec "$ID" sh -c 'hostname; echo pid=$$; cat /proc/1/cmdline | tr "\0" " "; ls /bin/busybox'
	assert_success
	assert_output_contains exec-box "sleep 1000" /bin/busybox
	assert_output_not_contains "pid=1"
	# run_detached: the process keeps its stdout, which `run` would wait on
	# for 100 s (and then read the pid of a process that is gone).
	run_detached runtime exec -d --pid-file "$BATS_TEST_TMPDIR/exec.pid" "$ID" sleep 100
	assert_success
	pid=$(cat "$BATS_TEST_TMPDIR/exec.pid")
	grep -q "$ID" "/proc/$pid/cgroup" || fail "exec'd process is not in the container's cgroup:" "$(cat /proc/$pid/cgroup)"
}

@test "exec: the process's exit code becomes exec's" {
	run_container_detached
	run runtime exec "$ID" sh -c 'exit 42'
	assert_equal "$status" 42
	run runtime exec "$ID" sh -c 'kill -9 $$'
	assert_equal "$status" 137
}

@test "exec: --env, --cwd, --user and --additional-gids" {
	run_container_detached
	run runtime exec --env FOO=bar -e BAZ=qux --cwd /tmp --user 1000:1001 -g 5 -g 7 "$ID" \
		sh -c 'echo $FOO $BAZ; pwd; id'
	assert_success
	assert_output_contains "bar qux" /tmp "uid=1000 gid=1001" "groups=5,7"
}

@test "exec: the container's env is inherited" {
	update_config '.process.env += ["FROM_SPEC=yes"]'
	run_container_detached
	run runtime exec "$ID" sh -c 'echo $FROM_SPEC'
	assert_success
	assert_output yes
}

@test "exec: --cap adds a capability, --no-new-privs sets NoNewPrivs" {
	update_config '.process.noNewPrivileges = false'
	run_container_detached
	run runtime exec "$ID" grep -E '^(CapEff|NoNewPrivs)' /proc/self/status
	assert_output_contains "NoNewPrivs:	0"
	base=$(awk '/^CapEff/ {print $2}' <<<"$output")
	run runtime exec --cap CAP_SYS_ADMIN --no-new-privs "$ID" grep -E '^(CapEff|NoNewPrivs)' /proc/self/status
	assert_output_contains "NoNewPrivs:	1"
	with=$(awk '/^CapEff/ {print $2}' <<<"$output")
	# CAP_SYS_ADMIN is bit 21.
	(( (0x$with & (1 << 21)) != 0 && (0x$base & (1 << 21)) == 0 )) || fail "CapEff $base -> $with"
}

@test "exec: --tty gives the process a terminal, proxied in the foreground" {
	run_container_detached
	run bash -c 'echo typed | "$0" --root "$1" exec -t "$2" sh -c "read x; echo got:\$x; tty"' "$RUNTIME" "$ROOT" "$ID"
	assert_success
	assert_output_contains got:typed /dev/pts/
}

@test "exec: --process reads the process from a file" {
	run_container_detached
	cat >"$BATS_TEST_TMPDIR/process.json" <<-'JSON'
		{"args": ["sh", "-c", "echo from-file $X; id -u"], "cwd": "/", "env": ["X=1", "PATH=/bin"],
		 "user": {"uid": 65534, "gid": 65534}}
	JSON
	run runtime exec --process "$BATS_TEST_TMPDIR/process.json" "$ID"
	assert_success
	assert_output $'from-file 1\n65534'
}

@test "exec: --process with a bad field names the file and the field" {
	run_container_detached
	echo '{"args": "sh", "cwd": "/"}' >"$BATS_TEST_TMPDIR/bad.json"
	run runtime exec --process "$BATS_TEST_TMPDIR/bad.json" "$ID"
	assert_failure
	assert_output_contains bad.json process.args
}

@test "exec: a missing executable fails with runc's message and leaves no process" {
	run_container_detached
	run runtime exec "$ID" /nope
	assert_failure
	assert_output_contains '"/nope"' "no such file"
	run runtime ps --format json "$ID"
	assert_equal "$(jq length <<<"$output")" 1
}

@test "exec: the container's seccomp profile applies to exec'd processes" {
	update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}'
	run_container_detached
	run runtime exec "$ID" sh -c 'mkdir /dev/shm/x; echo rc=$?'
	assert_output_contains "rc=1"
}

@test "exec: --preserve-fds passes extra fds" {
	run_container_detached
	run bash -c 'exec 3<<<"from-fd-3"; "$0" --root "$1" exec --preserve-fds 1 "$2" cat /proc/self/fd/3' "$RUNTIME" "$ROOT" "$ID"
	assert_success
	assert_output from-fd-3
}

@test "exec: a stopped container refuses exec" {
	set_args true
	run_container_detached
	wait_for_status stopped
	run runtime exec "$ID" true
	assert_failure
	assert_output_contains stopped
}

@test "exec: a paused container refuses exec without --ignore-paused" {
	run_container_detached
	runtime pause "$ID"
	run runtime exec "$ID" true
	assert_failure
	assert_output_contains paused --ignore-paused
	runtime resume "$ID"
}

@test "exec: into a container with a user namespace" {
	add_userns 100000
	run_container_detached
	run runtime exec "$ID" sh -c 'id -u; cat /proc/self/uid_map'
	assert_success
	assert_output_contains 0 100000
}

@test "exec: an unknown id fails" {
	run runtime exec "nope-$ID" true
	assert_failure
	assert_output_contains "nope-$ID"
}
