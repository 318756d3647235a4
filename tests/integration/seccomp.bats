#!/usr/bin/env bats
# linux.seccomp: the filter is compiled at create (a bad profile is an error
# naming the field) and applies to the container process.

load helpers

setup() { common_setup; }
teardown() {
	# A compile-cache entry this test made (its profile names $ID).
	grep -lF -- "nosuchcall_$ID" /run/berth-runtime-cache/seccomp/* 2>/dev/null | xargs -r rm -f
	common_teardown
}

# set_seccomp JSON: linux.seccomp = JSON.
set_seccomp() {
	update_config '.linux.seccomp = $s' --argjson s "$1"
}

@test "seccomp: SCMP_ACT_ERRNO with errnoRet fails the syscall with that errno" {
	set_seccomp '{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
		"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}'
	set_cmd 'mkdir /dev/shm/x; echo rc=$?'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_contains "Operation not permitted" "rc=1"
}

@test "seccomp: a default action of ERRNO with defaultErrnoRet applies to unlisted syscalls" {
	# Allow what busybox sh and echo need; everything else fails with EACCES (13).
	set_seccomp '{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 13,
		"syscalls": [{"names": ["read", "write", "exit", "exit_group", "execve", "brk", "arch_prctl",
			"set_tid_address", "getpid", "getppid", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
			"ioctl", "fcntl", "close", "getuid", "geteuid", "getgid", "getegid", "uname", "wait4",
			"newfstatat", "fstat", "stat", "lstat", "openat", "open", "mmap", "munmap", "mprotect",
			"getcwd", "prlimit64", "set_robust_list", "rseq", "dup2", "dup3", "clone", "fork",
			"vfork", "getrandom", "sigaltstack", "access", "faccessat", "faccessat2", "lseek",
			"getdents64", "poll", "pselect6", "readlink", "readlinkat"], "action": "SCMP_ACT_ALLOW"}]}'
	set_cmd 'echo alive; mkdir /dev/shm/y; echo rc=$?'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_output_contains alive "Permission denied" "rc=1"
}

@test "seccomp: argument conditions select the call" {
	# Deny chmod to mode 0777 (511) only: chmod(path, mode), fchmodat(dirfd, path, mode).
	set_seccomp '{"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
			"args": [{"index": 1, "value": 511, "op": "SCMP_CMP_EQ"}]},
			{"names": ["fchmodat", "fchmodat2"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
			"args": [{"index": 2, "value": 511, "op": "SCMP_CMP_EQ"}]}]}'
	set_cmd 'touch /dev/shm/f; chmod 755 /dev/shm/f && echo 755-ok; chmod 777 /dev/shm/f || echo 777-denied'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_output_contains 755-ok 777-denied
}

@test "seccomp: syscall names unknown to libseccomp are skipped" {
	set_seccomp '{"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["no_such_syscall_at_all"], "action": "SCMP_ACT_ERRNO"}]}'
	set_args echo fine
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output fine
}

@test "seccomp: SCMP_ACT_KILL_PROCESS kills the process" {
	set_seccomp '{"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL_PROCESS"}]}'
	set_args mkdir /dev/shm/z
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_equal "$status" 159  # 128 + SIGSYS
}

@test "seccomp: the filter applies with noNewPrivileges false too" {
	update_config '.process.noNewPrivileges = false'
	set_seccomp '{"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}'
	set_cmd 'grep NoNewPrivs /proc/self/status; mkdir /dev/shm/x; echo rc=$?'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_output_contains "NoNewPrivs:	0" "rc=1"
}

@test "seccomp: an unknown action is an error naming the field, and leaves nothing" {
	set_seccomp '{"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_BOGUS"}]}'
	run runtime create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains "linux.seccomp.syscalls[0].action" SCMP_ACT_BOGUS
	assert_no_leftovers
}

@test "seccomp: an unknown operator is an error naming the field, and leaves nothing" {
	set_seccomp '{"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_SOMETIMES"}]}]}'
	run runtime create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains "linux.seccomp.syscalls[0].args[0].op" SCMP_CMP_SOMETIMES
	assert_no_leftovers
}

@test "seccomp: features reports seccomp and its actions" {
	run runtime features
	assert_success
	[ "$(jq -r .linux.seccomp.enabled <<<"$output")" = true ] || fail "seccomp not enabled in features"
	jq -e '.linux.seccomp.actions | index("SCMP_ACT_ERRNO")' <<<"$output" >/dev/null || fail "no SCMP_ACT_ERRNO"
}

# start_agent: the test's seccomp notify agent (tests/helpers/seccomp-agent)
# on $AGENT_SOCK, answering every notified syscall with ENOMSG (42), logging
# to $AGENT_LOG.
start_agent() {
	local agent=${BERTH_BUILDDIR:-.}/tests/helpers/seccomp-agent
	[ -x "$agent" ] || fail "$agent is not built (make check builds it)"
	AGENT_SOCK=$BATS_TEST_TMPDIR/agent.sock
	AGENT_LOG=$BATS_TEST_TMPDIR/agent.log
	"$agent" "$AGENT_SOCK" "$AGENT_LOG" 42 &
	track_pid $!
	local i
	for ((i = 0; i < 100; i++)); do
		[ -S "$AGENT_SOCK" ] && return 0
		sleep 0.05
	done
	fail "the seccomp agent did not listen on $AGENT_SOCK"
}

# agent_state N: the Nth ContainerProcessState the agent received.
agent_state() {
	grep '^state ' "$AGENT_LOG" | sed -n "${1}p" | cut -d' ' -f2-
}

notify_profile() {
	jq -n --arg sock "$AGENT_SOCK" --argjson flags "${1:-[]}" '{
		defaultAction: "SCMP_ACT_ALLOW", listenerPath: $sock, listenerMetadata: "berth-test-meta",
		flags: $flags,
		syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY"}]}'
}

@test "seccomp: SCMP_ACT_NOTIFY hands the listener fd and the container state to the agent at listenerPath" {
	skip_if_runc "runc 1.1 needs an agent that answers every syscall the init makes"
	start_agent
	set_seccomp "$(notify_profile)"
	set_cmd 'mkdir /dev/shm/x 2>&1; echo rc=$?; sleep 100'
	create_container
	pid=$(container_pid)
	wait_for_file "$AGENT_LOG"
	st=$(agent_state 1)
	assert_equal "$(jq -r .pid <<<"$st")" "$pid"
	assert_equal "$(jq -c .fds <<<"$st")" '["seccompFd"]'
	assert_equal "$(jq -r .metadata <<<"$st")" berth-test-meta
	assert_equal "$(jq -r .state.id <<<"$st")" "$ID"
	assert_equal "$(jq -r .state.status <<<"$st")" creating
	assert_equal "$(jq -r .state.bundle <<<"$st")" "$BUNDLE"
	start_container
	# The agent answers mkdir with ENOMSG: the error comes from it.
	for ((i = 0; i < 100; i++)); do
		grep -q 'rc=' "$BATS_TEST_TMPDIR/$ID.log" && break
		sleep 0.05
	done
	run cat "$BATS_TEST_TMPDIR/$ID.log"
	assert_output_contains "No message of desired type" "rc=1"
	grep -q '^notif ' "$AGENT_LOG" || fail "the agent saw no notification:" "$(cat "$AGENT_LOG")"

	# An exec'd process gets the filter too, and its listener fd goes to
	# the agent with the running container's state.
	run runtime exec "$ID" sh -c 'mkdir /dev/shm/y 2>&1; echo rc=$?'
	assert_success
	assert_output_contains "No message of desired type" "rc=1"
	st=$(agent_state 2)
	assert_equal "$(jq -r .state.status <<<"$st")" running
	[ "$(jq -r .pid <<<"$st")" != "$pid" ] || fail "exec: the agent got the init's pid"
}

@test "seccomp: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV and TSYNC go to the kernel with the listener (no_new_privs off)" {
	skip_if_runc
	start_agent
	set_seccomp "$(notify_profile '["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "SECCOMP_FILTER_FLAG_TSYNC"]')"
	# Without no_new_privs the filter goes in before the capabilities drop.
	update_config '.process.noNewPrivileges = false' 
	set_cmd 'mkdir /dev/shm/x 2>&1; echo rc=$?'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_contains "No message of desired type" "rc=1"
}

@test "seccomp: notify without an agent, or without listenerPath, fails create and leaves nothing" {
	skip_if_runc
	AGENT_SOCK=$BATS_TEST_TMPDIR/nobody.sock
	set_seccomp "$(notify_profile)"
	set_args true
	run runtime create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains "linux.seccomp.listenerPath" "connect to the seccomp agent" "$AGENT_SOCK"
	[ ! -e "$ROOT/$ID" ] || fail "state dir left: $ROOT/$ID"

	update_config 'del(.linux.seccomp.listenerPath)'
	run runtime create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains "linux.seccomp.listenerPath: required with SCMP_ACT_NOTIFY rules"

	update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/x"}'
	run runtime create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"

	update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}'
	run runtime create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains "linux.seccomp.flags: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs SCMP_ACT_NOTIFY rules"
}

@test "seccomp: the docker-style default profile (tests/seccomp/default.json) runs a shell workload and blocks mount and unshare" {
	update_config '.linux.seccomp = $p[0]' --slurpfile p "$BATS_TEST_DIRNAME/../seccomp/default.json"
	# The default spec's capabilities would refuse mount anyway: give
	# CAP_SYS_ADMIN, so that only the filter stands in the way.
	update_config '.process.capabilities.bounding += ["CAP_SYS_ADMIN"] | .process.capabilities.effective += ["CAP_SYS_ADMIN"] |
		.process.capabilities.permitted += ["CAP_SYS_ADMIN"]'
	set_cmd 'mkdir -p /dev/shm/d && echo hi >/dev/shm/d/f && cat /dev/shm/d/f; ls / >/dev/null && echo ls-ok
		sleep 0.1 & wait && echo fork-ok
		mount -t tmpfs t /mnt 2>&1; unshare -n true 2>&1; linux32 true && echo linux32-ok; echo end'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	# busybox mount reports EPERM as "permission denied".
	assert_output_contains hi ls-ok fork-ok linux32-ok end "mount: permission denied" "unshare(0x40000000): Operation not permitted"
}

@test "seccomp: exec uses the program compiled at create, and compiles again when it is missing or damaged" {
	skip_if_runc "berth-runtime's state dir"
	set_seccomp '{"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}'
	set_args sleep 100
	run_container_detached
	[ -s "$ROOT/$ID/seccomp.bpf" ] || fail "no compiled program in the state dir"
	run runtime exec "$ID" sh -c 'mkdir /dev/shm/a 2>&1; echo rc=$?'
	assert_output_contains "Operation not permitted" rc=1
	echo garbage >"$ROOT/$ID/seccomp.bpf"
	run runtime exec "$ID" sh -c 'mkdir /dev/shm/b 2>&1; echo rc=$?'
	assert_output_contains "Operation not permitted" rc=1
	rm "$ROOT/$ID/seccomp.bpf"
	run runtime exec "$ID" sh -c 'mkdir /dev/shm/c 2>&1; echo rc=$?'
	assert_output_contains "Operation not permitted" rc=1
}

@test "seccomp: create reuses a compiled program cached under the profile's exact text; damaged or foreign entries are recompiled" {
	skip_if_runc "berth-runtime's compile cache"
	local cache=/run/berth-runtime-cache/seccomp entry
	# A syscall name unknown to libseccomp (skipped) makes the profile, and so
	# its cache entry, this test's own.
	set_seccomp "{\"defaultAction\": \"SCMP_ACT_ALLOW\",
		\"syscalls\": [{\"names\": [\"mkdir\", \"mkdirat\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 1},
		{\"names\": [\"nosuchcall_$ID\"], \"action\": \"SCMP_ACT_ERRNO\"}]}"
	set_cmd 'mkdir /dev/shm/a 2>&1; echo rc=$?'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_output_contains "Operation not permitted" rc=1
	entry=$(grep -lF -- "nosuchcall_$ID" "$cache"/*)
	[ "$(wc -l <<<"$entry")" -eq 1 ] || fail "cache entries: $entry"
	[ "$(stat -c %a "$cache")" = 700 ] || fail "cache dir mode $(stat -c %a "$cache")"
	# Cached: the same profile again.
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_output_contains "Operation not permitted" rc=1
	# Damaged: compiled again, the filter still holds, the entry is replaced.
	printf 'BERTHBPF garbage' >"$entry"
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_output_contains "Operation not permitted" rc=1
	grep -qF -- "nosuchcall_$ID" "$entry" || fail "the damaged entry was not replaced"
	# Foreign: an entry whose key text differs (same name) is not used.
	sed -i "s/nosuchcall_$ID/nosuchcall_XXXX${ID:4}/" "$entry"
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_output_contains "Operation not permitted" rc=1
	grep -qF -- "nosuchcall_$ID" "$entry" || fail "the foreign entry was used"
}
