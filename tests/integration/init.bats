#!/usr/bin/env bats
# berth-init, the init of `berth run --init`, as pid 1 of a container run by
# the runtime: ./berth-init is bind-mounted read-only at /run/berth-init and
# process.args = ["/run/berth-init", "--", CMD...]. It reaps orphans,
# forwards signals to the command, exits with the command's status, and
# hands a terminal to the command.

load helpers

BERTH_INIT=${BERTH_INIT:-${BERTH_BUILDDIR:-$BERTH_SRCDIR}/berth-init}

setup() {
	common_setup
	[ -x "$BERTH_INIT" ] || fail "$BERTH_INIT is not built (make berth-init)"
}
teardown() { common_teardown; }

# init_bundle CMD...: the bundle runs CMD under berth-init; /shared is a
# host dir ($SHARED) for files the command and the test exchange.
init_bundle() {
	set_args /run/berth-init -- "$@"
	add_bind_mount "$BERTH_INIT" /run/berth-init bind ro
	add_shared_dir
}

# run_in_background: `run` in the foreground, in the background of the test;
# its output goes to $BATS_TEST_TMPDIR/out, its pid is RUN_PID.
run_in_background() {
	runtime run --bundle "$BUNDLE" "$ID" >"$BATS_TEST_TMPDIR/out" 2>&1 </dev/null &
	RUN_PID=$!
	track_pid "$RUN_PID"
}

# wait_run: waits for RUN_PID; status and output as bats' `run` sets them.
wait_run() {
	status=0
	wait "$RUN_PID" || status=$?
	output=$(cat "$BATS_TEST_TMPDIR/out")
}

# children_of_pid1: the states (R, S, Z...) of the children of the
# container's pid 1, as the container's /proc shows them, one line.
children_of_pid1() {
	runtime exec "$ID" sh -c 'cat /proc/[0-9]*/stat' | awk '$4 == 1 { printf "%s%s", sep, $3; sep = " " }'
}

# wait_children_of_pid1 STATES: polls until children_of_pid1 prints STATES.
wait_children_of_pid1() {
	local i got=
	for ((i = 0; i < 50; i++)); do
		got=$(children_of_pid1)
		[ "$got" = "$1" ] && return 0
		sleep 0.1
	done
	fail "children of the container's pid 1: '$got', expected '$1'"
}

# Three orphans that exit after 0.2 s: each `( ... &)` subshell exits at
# once, so its sleep is reparented to pid 1.
ORPHANS='(sleep 0.2 &); (sleep 0.2 &); (sleep 0.2 &); exec sleep 30'

@test "init: orphans that exit are reaped, the container's /proc shows no zombie" {
	init_bundle sh -c "$ORPHANS"
	run_container_detached
	# Only the command (sleep 30, sleeping) is left under pid 1.
	wait_children_of_pid1 S
}

@test "init: without berth-init, the orphans of a pid 1 that never waits stay zombies" {
	# The check above can fail: the same command as pid 1 leaves three.
	set_cmd "$ORPHANS"
	run_container_detached
	wait_children_of_pid1 "Z Z Z"
}

@test "init: kill ID TERM reaches the command's trap, and its exit status is the container's" {
	init_bundle sh -c 'trap "echo got TERM; exit 3" TERM; echo >/shared/ready; while :; do sleep 0.05; done'
	run_in_background
	wait_for_file "$SHARED/ready"
	runtime kill "$ID" TERM
	wait_run
	assert_failure 3
	assert_output "got TERM"
}

@test "init: HUP INT QUIT USR1 USR2 ALRM WINCH URG CONT TSTP and signal 40 are forwarded" {
	local sigs='HUP INT QUIT USR1 USR2 ALRM WINCH URG CONT TSTP 40' s
	init_bundle sh -c 'for s in $0; do trap "echo $s >>/shared/got" $s; done
		echo >/shared/ready
		while [ ! -e /shared/stop ]; do sleep 0.05; done' "$sigs"
	run_in_background
	wait_for_file "$SHARED/ready"
	# One at a time, each seen before the next is sent.
	for s in $sigs; do
		runtime kill "$ID" "$s"
		for ((i = 0; i < 100; i++)); do
			[ "$(tail -n 1 "$SHARED/got" 2>/dev/null)" = "$s" ] && break
			sleep 0.05
		done
	done
	touch "$SHARED/stop"
	wait_run
	assert_success
	assert_equal "$(tr '\n' ' ' <"$SHARED/got")" "${sigs} "
}

@test "init: a forwarded signal that kills the command gives 128+N (TERM: 143)" {
	init_bundle sh -c 'echo >/shared/ready; exec sleep 30'
	run_in_background
	wait_for_file "$SHARED/ready"
	runtime kill "$ID" TERM
	wait_run
	assert_failure 143
}

@test "init: the command's exit status is the container's: exit 7 gives 7, exit 0 gives 0" {
	init_bundle sh -c 'exit 7'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_failure 7
	set_args /run/berth-init -- true
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
}

@test "init: a command killed by SIGKILL gives 137" {
	init_bundle sh -c 'kill -KILL $$'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_failure 137
}

@test "init: a command not found gives 127 and names it" {
	init_bundle no-such-command arg
	run -127 runtime run --bundle "$BUNDLE" "$ID"
	assert_failure 127
	assert_output_contains "berth-init: exec no-such-command: not found in PATH ("
	set_args /run/berth-init -- /bin/no/such/file
	run -127 runtime run --bundle "$BUNDLE" "$ID"
	assert_failure 127
	assert_output_contains "berth-init: exec /bin/no/such/file: No such file or directory"
}

@test "init: a command that is not executable gives 126 and names it" {
	init_bundle /etc/passwd
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_failure 126
	assert_output_contains "berth-init: exec /etc/passwd: Permission denied"
	set_args /run/berth-init -- /etc
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_failure 126
	assert_output_contains "berth-init: exec /etc: Permission denied"
}

@test "init: no command is a usage error (125)" {
	init_bundle
	set_args /run/berth-init --
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_failure 125
	assert_output_contains "berth-init: no command given" "usage: berth-init [--] COMMAND"
}

@test "init: with a terminal, the command's process group is the terminal's foreground group" {
	init_bundle sh -c 'read -r pid _ _ _ pgrp _ _ tpgid _ </proc/self/stat; echo "pid=$pid pgrp=$pgrp tpgid=$tpgid"'
	update_config '.process.terminal = true'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	# The shell is pid 2, the leader of its own group, in the foreground.
	assert_output_contains "pid=2 pgrp=2 tpgid=2"
}

@test "init: with a terminal, an interactive shell gets job control" {
	# A shell that is not in the terminal's foreground stops itself with
	# SIGTTIN until it is: with berth-init it must not wait.
	init_bundle sh -i
	update_config '.process.terminal = true'
	run timeout 20 bash -c 'printf "sleep 0.1 & wait; echo jobs-\$((1 + 1)); exit 4\n" |
		"$0" --root "$1" run --bundle "$2" "$3"' "$RUNTIME" "$ROOT" "$BUNDLE" "$ID"
	assert_failure 4
	# (The terminal echoes the line typed: only its result says "jobs-2".)
	assert_output_contains jobs-2
	assert_output_not_contains "job control turned off"
}

@test "init: not pid 1, it is the subreaper of the command's orphans" {
	# On the host: the orphan's parent is berth-init (the shell's parent).
	run "$BERTH_INIT" -- sh -c '(sleep 2 & echo $! >"$0"); sleep 0.1
		echo "orphan-parent=$(awk "/^PPid:/ { print \$2 }" /proc/$(cat "$0")/status) init=$PPID"
		kill $(cat "$0"); exit 5' "$BATS_TEST_TMPDIR/orphan"
	assert_failure 5
	[[ $output =~ orphan-parent=([0-9]+)\ init=([0-9]+) ]] || fail "unexpected output: $output"
	assert_equal "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
}
