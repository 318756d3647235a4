#!/usr/bin/env bats
# linux.seccomp: the filter is compiled at create (a bad profile is an error
# naming the field) and applies to the container process.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

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
