#!/usr/bin/env bats
# berth-shim: the per-container monitor. Real containers through $RUNTIME
# (berth-runtime, runc, crun), each watched by its own shim: the log in CRI
# format, the exit file, the attach and control sockets, terminal mode, exec
# sessions, and what happens when the caller or the shim is killed.

load helpers

SHIM=${BERTH_BUILDDIR:-$BERTH_SRCDIR}/berth-shim
CLIENT=${BERTH_BUILDDIR:-$BERTH_SRCDIR}/tests/helpers/shim-client

setup() {
	use_crun_cgroup_v1
	common_setup
	[ -x "$SHIM" ] || fail "$SHIM is not built" || return 1
	[ -x "$CLIENT" ] || fail "$CLIENT is not built (make check builds it)" || return 1
	RUN=$BATS_TEST_TMPDIR/run
	EXITS=$BATS_TEST_TMPDIR/exits
	LOGS=$BATS_TEST_TMPDIR/logs
	mkdir -p "$RUN" "$EXITS" "$LOGS"
	add_shared_dir
}

teardown() {
	kill_shims
	common_teardown
}

# crun 1.8.1 refuses a hybrid cgroup layout (v1 controllers plus cgroup2 at
# /sys/fs/cgroup/unified). On such a host, crun is run through
# crun-cgroup-v1, which hides cgroup2 from it in a private mount namespace
# (the host's mounts stay as they are): for the shim, the tests and the
# leftover checks alike, RUNTIME is then that wrapper.
use_crun_cgroup_v1() {
	"$RUNTIME" --version 2>/dev/null | head -n1 | grep -q '^crun version' || return 0
	[[ $RUNTIME != */crun-cgroup-v1 ]] || return 0
	if _cgroup_mounts | grep -q '^cgroup ' && _cgroup_mounts | grep -q '^cgroup2 '; then
		export CRUN=$RUNTIME
		RUNTIME=$BERTH_SRCDIR/tests/integration/crun-cgroup-v1
	fi
}

# shim ID [SHIM-ARGS...]: runs berth-shim for container ID (which must start
# with $ID) with the test's run dir, log, exit dir and runtime root; bats'
# $status/$output hold the caller's result ({"pid": N, ...} or the error).
shim() {
	local id=$1
	shift
	run "$SHIM" --id "$id" --bundle "$BUNDLE" --runtime "$RUNTIME" --runtime-root "$ROOT" \
		--run-dir "$RUN/$id" --log-path "$LOGS/$id.log" --exit-dir "$EXITS" "$@"
}

# shim_ok ID [ARGS...]: shim, which must succeed.
shim_ok() {
	shim "$@"
	assert_success
	[[ $output == '{"pid":'* ]] || fail "expected {\"pid\": N}, got: $output"
}

# shim_pid ID: the shim's pid from its pid file.
shim_pid() {
	cat "$RUN/$1/shim.pid"
}

# Kills (by pid, checked to be this test's shim) every shim still running.
kill_shims() {
	local f pid i
	for f in "$RUN"/*/shim.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		[ "$pid" -gt 1 ] 2>/dev/null || continue
		grep -qzF -- "$ID" "/proc/$pid/cmdline" 2>/dev/null || continue
		kill -9 "$pid" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do
			shim_alive "$pid" || break
			sleep 0.05
		done
	done
}

# shim_alive PID: running and not a zombie.
shim_alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	case ${stat%% *} in Z | X) return 1 ;; esac
}

# wait_shim_gone ID: the shim of ID exits (after its container did).
wait_shim_gone() {
	local pid i
	pid=$(shim_pid "$1" 2>/dev/null) || return 0
	for ((i = 0; i < 400; i++)); do
		shim_alive "$pid" || return 0
		sleep 0.05
	done
	fail "shim $pid of $1 is still running"
}

# wait_for_grep PATTERN FILE [SECONDS]
wait_for_grep() {
	local i secs=${3:-20}
	for ((i = 0; i < secs * 20; i++)); do
		grep -q -- "$1" "$2" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "'$1' did not appear in $2 within ${secs}s; it has:" "$(cat "$2" 2>/dev/null)"
}

# exit_field ID FIELD: a field of ID's exit record.
exit_field() {
	jq -r ".$2" "$EXITS/$1"
}

# cri_lines STREAM FILE: the lines of STREAM in a CRI log, P pieces joined.
cri_lines() {
	awk -v s="$1" '$2 == s { buf = buf substr($0, 41); if ($3 == "F") { sub(/\r$/, "", buf); print buf; buf = "" } }' "$2"
}

# log_has STREAM REGEX FILE: a line of STREAM (P pieces joined: a slow
# machine splits lines between reads) matches REGEX.
log_has() {
	cri_lines "$1" "$3" 2>/dev/null | grep -qE -- "$2"
}

# wait_for_log STREAM REGEX FILE [SECONDS]: polls until log_has.
wait_for_log() {
	local i secs=${4:-20}
	for ((i = 0; i < secs * 20; i++)); do
		log_has "$1" "$2" "$3" && return 0
		sleep 0.05
	done
	fail "no $1 line matching '$2' in $3 within ${secs}s; it has:" "$(cat "$3" 2>/dev/null)"
}

# CRI log lines: TIMESTAMP STREAM F|P TEXT
CRI_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z (stdout|stderr) [FP] '

@test "shim: reports the pid, writes the exit file, deletes the container and exits" {
	set_cmd 'echo hello; exit 7'
	shim_ok "$ID" --start --delete
	pid=$(jq -r .pid <<<"$output")
	[ "$pid" -gt 1 ]
	wait_for_file "$EXITS/$ID"
	assert_equal "$(exit_field "$ID" exit_code)" 7
	assert_equal "$(exit_field "$ID" signal)" 0
	assert_equal "$(exit_field "$ID" oom_killed)" false
	assert_equal "$(exit_field "$ID" pid)" "$pid"
	assert_equal "$(exit_field "$ID" id)" "$ID"
	[[ $(exit_field "$ID" started_at) =~ ^[0-9-]+T[0-9:.]+Z$ ]]
	[[ $(exit_field "$ID" exited_at) =~ ^[0-9-]+T[0-9:.]+Z$ ]]
	wait_shim_gone "$ID"
	run runtime state "$ID"
	assert_failure
	[ ! -e "$RUN/$ID/attach" ] && [ ! -e "$RUN/$ID/shim.pid" ]
	grep -qE "${CRI_RE}hello\$" "$LOGS/$ID.log"
}

@test "shim: a chatty container's output lands in the log in order, with partial lines" {
	set_cmd 'i=0; while [ $i -lt 3000 ]; do echo "line $i"; i=$((i + 1)); done
		echo to-stderr >&2
		printf no-newline-yet
		while [ ! -e /shared/go ]; do sleep 0.05; done
		echo " and the rest"'
	shim_ok "$ID" --start --delete
	# The piece without its newline is logged as P before the rest exists.
	wait_for_grep ' stdout P no-newline-yet$' "$LOGS/$ID.log"
	touch "$SHARED/go"
	wait_for_file "$EXITS/$ID"
	assert_equal "$(exit_field "$ID" exit_code)" 0
	log=$LOGS/$ID.log
	# Every line is a CRI record.
	run grep -cvE "$CRI_RE" "$log"
	assert_output 0
	# stdout's lines, in order, once P pieces are joined to what follows
	# them (a read can end inside a line: that piece is logged as P).
	diff <(cri_lines stdout "$log") <(seq 0 2999 | sed 's/^/line /'; echo 'no-newline-yet and the rest')
	grep -qE "${CRI_RE}to-stderr\$" "$log"
	grep -q ' stderr F to-stderr$' "$log"
	# The piece without its newline, then its end as a full line.
	run awk '$2 == "stdout" { t = substr($0, 41) } p && $2 == "stdout" { print $3 "|" t; exit } $2 == "stdout" && t == "no-newline-yet" { print $3 "|" t; p = 1 }' "$log"
	assert_output "P|no-newline-yet
F| and the rest"
}

@test "shim: without --start the container stays created until the caller starts it" {
	set_cmd 'echo started; exit 3'
	shim_ok "$ID" --delete
	assert_equal "$(container_status)" created
	start_container
	wait_for_file "$EXITS/$ID"
	assert_equal "$(exit_field "$ID" exit_code)" 3
	log_has stdout '^started$' "$LOGS/$ID.log"
}

@test "shim: --log-size-max rotates the log to .1 between records" {
	set_cmd 'i=0; while [ $i -lt 3000 ]; do echo "line $i"; i=$((i + 1)); done'
	shim_ok "$ID" --start --delete --log-size-max 20000
	wait_for_file "$EXITS/$ID"
	log=$LOGS/$ID.log
	[ -s "$log.1" ] || fail "no rotated log"
	[ "$(stat -c %s "$log")" -le 20000 ] && [ "$(stat -c %s "$log.1")" -le 20000 ]
	# Whole records only, and the newest ones are in the current file.
	run grep -cvE "$CRI_RE" "$log" "$log.1"
	assert_output "$log:0
$log.1:0"
	# .1 then the current file hold the newest lines without a gap (the
	# first may be the end of a line whose start went with an older file).
	cat "$log.1" "$log" | cri_lines stdout /dev/stdin | tail -n +2 >"$BATS_TEST_TMPDIR/lines"
	first=$(head -n1 "$BATS_TEST_TMPDIR/lines" | awk '{ print $2 }')
	diff "$BATS_TEST_TMPDIR/lines" <(seq "$first" 2999 | sed 's/^/line /')
}

@test "shim: two attach clients both get the live output and the exit record" {
	set_cmd 'while [ ! -e /shared/go ]; do sleep 0.05; done
		i=1; while [ $i -le 200 ]; do echo "out $i"; i=$((i + 1)); done; echo err-line >&2; exit 3'
	shim_ok "$ID" --start --delete
	for c in a b; do
		"$CLIENT" attach "$RUN/$ID/attach" --ready "$BATS_TEST_TMPDIR/ready-$c" \
			--exit-record "$BATS_TEST_TMPDIR/exit-$c" >"$BATS_TEST_TMPDIR/out-$c" 2>"$BATS_TEST_TMPDIR/err-$c" 3>&- &
		eval "pid_$c=$!"
		track_pid $!
	done
	for c in a b; do
		wait_for_file "$BATS_TEST_TMPDIR/ready-$c" || fail "client $c:" "$(cat "$BATS_TEST_TMPDIR/err-$c")" || return 1
	done
	touch "$SHARED/go"
	wait "$pid_a"
	wait "$pid_b"
	for c in a b; do
		diff "$BATS_TEST_TMPDIR/out-$c" <(seq 1 200 | sed 's/^/out /')
		assert_equal "$(cat "$BATS_TEST_TMPDIR/err-$c")" err-line
		assert_equal "$(jq -r .exit_code "$BATS_TEST_TMPDIR/exit-$c")" 3
	done
	wait_for_file "$EXITS/$ID"
}

@test "shim: --stdin: an attach client's input reaches the container, and its EOF" {
	set_cmd 'read first; echo "got:$first"; wc -l'
	shim_ok "$ID" --start --delete --stdin
	run bash -c 'printf "hello\nx\ny\n" | "$0" attach "$1" --stdin' "$CLIENT" "$RUN/$ID/attach"
	assert_success
	assert_output "got:hello
2"
	wait_for_file "$EXITS/$ID"
	assert_equal "$(exit_field "$ID" exit_code)" 0
}

@test "shim: the detach keys detach the client; the container keeps running" {
	set_cmd 'cat; echo cat-ended; exit 4'
	shim_ok "$ID" --start --delete --stdin
	run bash -c 'printf "abc\n\x10x\x10\x11zzz" | "$0" attach "$1" --stdin --no-eof' "$CLIENT" "$RUN/$ID/attach"
	assert_success
	assert_output_contains detached
	# Input before the keys got through (a ctrl-p not followed by ctrl-q too).
	wait_for_grep ' stdout P '$'\x10''x$' "$LOGS/$ID.log"
	log_has stdout '^abc$' "$LOGS/$ID.log"
	! grep -q zzz "$LOGS/$ID.log"
	assert_equal "$(container_status)" running
	# A control message closes stdin; cat ends.
	run "$CLIENT" ctl "$RUN/$ID/ctl" stdin-eof
	assert_success
	wait_for_file "$EXITS/$ID"
	assert_equal "$(exit_field "$ID" exit_code)" 4
	log_has stdout 'cat-ended$' "$LOGS/$ID.log"
}

@test "shim: --terminal gives a pty; resize by ctl and by attach is seen by stty size" {
	update_config '.process.terminal = true'
	set_cmd 'tty; read a; stty size; read b; stty size; exit 6'
	shim_ok "$ID" --start --delete --terminal
	run "$CLIENT" ctl "$RUN/$ID/ctl" resize 33 101
	assert_success
	# First line through a client that stays attached.
	printf 'one\n' >"$BATS_TEST_TMPDIR/in-1"
	"$CLIENT" attach "$RUN/$ID/attach" --stdin --no-eof <"$BATS_TEST_TMPDIR/in-1" >"$BATS_TEST_TMPDIR/out-1" 3>&- &
	track_pid $!
	wait_for_log stdout '33 101' "$LOGS/$ID.log"
	run bash -c 'printf "two\n" | "$0" attach "$1" --stdin --no-eof --resize 44 120 --exit-record "$2"' \
		"$CLIENT" "$RUN/$ID/attach" "$BATS_TEST_TMPDIR/exit-2"
	assert_success
	assert_output_contains "44 120"
	wait_for_file "$EXITS/$ID"
	assert_equal "$(exit_field "$ID" exit_code)" 6
	log_has stdout '^/dev/pts/' "$LOGS/$ID.log"
	run "$CLIENT" ctl "$RUN/$ID/ctl" resize 1 2
	assert_failure
}

@test "shim: the caller killed with SIGKILL; the container runs on and its exit code lands" {
	set_cmd 'while [ ! -e /shared/go ]; do sleep 0.05; done; echo finishing; exit 42'
	bash -c '"$0" "$@" >"$BATS_TEST_TMPDIR/caller.out" 2>&1; exec sleep 600' "$SHIM" --id "$ID" --bundle "$BUNDLE" \
		--runtime "$RUNTIME" --runtime-root "$ROOT" --run-dir "$RUN/$ID" --log-path "$LOGS/$ID.log" \
		--exit-dir "$EXITS" --start --delete 3>&- &
	caller=$!
	track_pid "$caller"
	wait_for_status running
	wait_for_file "$BATS_TEST_TMPDIR/caller.out"
	kill -9 "$caller"
	wait "$caller" || true
	assert_equal "$(container_status)" running
	touch "$SHARED/go"
	wait_for_file "$EXITS/$ID"
	assert_equal "$(exit_field "$ID" exit_code)" 42
	log_has stdout '^finishing$' "$LOGS/$ID.log"
}

@test "shim: SIGTERM to the shim stops neither the shim nor the container" {
	set_cmd 'while [ ! -e /shared/go ]; do sleep 0.05; done; exit 5'
	shim_ok "$ID" --start --delete
	pid=$(shim_pid "$ID")
	kill -TERM "$pid"
	kill -INT "$pid"
	run "$CLIENT" ctl "$RUN/$ID/ctl" ping  # answered after the signals were read
	assert_success
	shim_alive "$pid"
	assert_equal "$(container_status)" running
	touch "$SHARED/go"
	wait_for_file "$EXITS/$ID"
	assert_equal "$(exit_field "$ID" exit_code)" 5
}

@test "shim: a killed shim leaves the container running and status tells" {
	set_cmd 'while [ ! -e /shared/go ]; do sleep 0.05; done; exit 0'
	shim_ok "$ID" --start
	run "$SHIM" status --run-dir "$RUN/$ID" --exit-file "$EXITS/$ID"
	assert_success
	assert_equal "$(jq -r .state <<<"$output")" running
	kill_shims
	assert_equal "$(container_status)" running
	run "$SHIM" status --run-dir "$RUN/$ID" --exit-file "$EXITS/$ID"
	assert_failure 1
	assert_equal "$(jq -r .state <<<"$output")" orphaned
	assert_equal "$(jq -r .container_alive <<<"$output")" true
	assert_equal "$(jq -r .shim_alive <<<"$output")" false
	[ ! -e "$EXITS/$ID" ]
}

@test "shim: a runtime create error comes back to the caller as the runtime's message" {
	set_args /no-such-binary-here
	shim "$ID" --start --delete
	assert_failure 1
	assert_output_contains "create $ID" no-such-binary-here
	[ ! -e "$EXITS/$ID" ]
	[ ! -e "$RUN/$ID/shim.pid" ]
	run runtime state "$ID"
	assert_failure
}

@test "shim: a missing runtime binary is reported as such" {
	run "$SHIM" --id "$ID" --bundle "$BUNDLE" --runtime "$BATS_TEST_TMPDIR/no-runtime" \
		--run-dir "$RUN/$ID" --exit-dir "$EXITS"
	assert_failure 1
	assert_output_contains_i "$BATS_TEST_TMPDIR/no-runtime" "no such file"
}

@test "shim: bad command lines are refused with a usage error" {
	run "$SHIM" --bundle "$BUNDLE"
	assert_failure 2
	assert_output_contains "--id"
	run "$SHIM" --id "$ID" --bundle "$BUNDLE" --log-size-max lots
	assert_failure 2
	assert_output_contains "--log-size-max"
	run "$SHIM" --id "$ID" --bundle "$BUNDLE" --detach-keys ctrl-1
	assert_failure 2
	assert_output_contains "ctrl-1"
	run "$SHIM" --id "$ID" --bundle "$BUNDLE" --exit-command-arg x
	assert_failure 2
	assert_output_contains "--exit-command"
	run "$SHIM" --id "$ID" --bundle "$BUNDLE" --restore-arg --tcp-established
	assert_failure 2
	assert_output_contains "--restore-arg needs --restore DIR"
	run "$SHIM" --id "$ID" --bundle "$BUNDLE" --restore "$BATS_TEST_TMPDIR" --start
	assert_failure 2
	assert_output_contains "--start is for create mode, not --restore"
}

@test "shim: --restore: a new shim restores a checkpoint; the log goes on and the exit code lands" {
	command -v criu >/dev/null && criu check >/dev/null 2>&1 || skip "no working CRIU (tools/install-deps builds CRIU 4)"
	# berth-runtime says so in features; runc (1.1.5: no features) has it;
	# Debian's crun is built without CRIU.
	case $("$RUNTIME" --version 2>/dev/null | head -n1) in
	runc*) ;;
	crun*) skip "this crun is built without CRIU" ;;
	*) [ "$("$RUNTIME" features | jq -r '.annotations["org.berth.runtime.checkpoint.enabled"]')" = true ] ||
		skip "$RUNTIME has no checkpoint/restore" ;;
	esac
	set_cmd 'i=0; while [ ! -e /shared/stop ]; do echo "n $i"; i=$((i + 1)); sleep 0.05; done; exit 5'
	shim_ok "$ID" --start --delete
	wait_for_grep "n 5" "$LOGS/$ID.log"
	local img=$BATS_TEST_TMPDIR/img
	run runtime checkpoint --image-path "$img" "$ID"
	assert_success
	wait_for_file "$EXITS/$ID"
	wait_shim_gone "$ID"
	local last
	last=$(cri_lines stdout "$LOGS/$ID.log" | tail -1)
	last=${last#n }
	shim_ok "$ID" --restore "$img" --delete
	wait_for_grep "n $((last + 3))\$" "$LOGS/$ID.log"
	# One count, from 0, on through the restore.
	cri_lines stdout "$LOGS/$ID.log" | awk '$2 != NR - 1 { exit 1 }' ||
		fail "the count is not consecutive:" "$(cri_lines stdout "$LOGS/$ID.log" | tr '\n' ' ')"
	touch "$SHARED/stop"
	wait_for_grep '"exit_code":5' "$EXITS/$ID"
	wait_shim_gone "$ID"
}

# exit_command_script FILE: a host script for --exit-command that appends
# what it sees to $BATS_TEST_TMPDIR/exit-cmd.out: its args, its stdio, an
# environment variable of the shim's, whether the container still exists,
# and the exit file ($EXITS/$ID) as it is when the command runs. With
# $BATS_TEST_TMPDIR/hold present it then waits for $BATS_TEST_TMPDIR/release.
exit_command_script() {
	cat >"$1" <<-EOF
		#!/bin/sh
		out=$BATS_TEST_TMPDIR/exit-cmd.out
		stdio="\$(readlink /proc/\$\$/fd/0) \$(readlink /proc/\$\$/fd/1) \$(readlink /proc/\$\$/fd/2)"
		{
			echo "run"
			echo "args:\$*"
			echo "stdio:\$stdio"
			echo "env:\${BERTH_TEST_ENV:-unset}"
			if "$RUNTIME" --root "$ROOT" state "$ID" >/dev/null 2>&1; then echo "container:present"; else echo "container:gone"; fi
			echo "exit-file:\$(cat "$EXITS/$ID" 2>/dev/null || echo missing)"
		} >>"\$out"
		if [ -e "$BATS_TEST_TMPDIR/hold" ]; then
			while [ ! -e "$BATS_TEST_TMPDIR/release" ]; do sleep 0.05; done
		fi
		echo done >>"\$out"
	EOF
	chmod +x "$1"
}

# wait_pid_gone PID: the process PID exits (within 20 s).
wait_pid_gone() {
	local i
	for ((i = 0; i < 400; i++)); do
		shim_alive "$1" || return 0
		sleep 0.05
	done
	fail "process $1 is still running"
}

@test "shim: --exit-command runs once, after the exit file and --delete, with its args and the shim's env" {
	set_cmd 'echo bye; exit 3'
	exit_command_script "$BATS_TEST_TMPDIR/on-exit"
	touch "$BATS_TEST_TMPDIR/hold"
	BERTH_TEST_ENV=from-the-shim shim_ok "$ID" --start --delete --exit-command "$BATS_TEST_TMPDIR/on-exit" \
		--exit-command-arg first --exit-command-arg 'two words' --exit-command-arg ''
	spid=$(jq -r .shim_pid <<<"$output")
	track_pid "$spid"
	out=$BATS_TEST_TMPDIR/exit-cmd.out
	wait_for_grep '^exit-file:' "$out"
	# The shim waits for its exit command, as conmon does.
	shim_alive "$spid" || fail "the shim did not wait for its exit command"
	touch "$BATS_TEST_TMPDIR/release"
	wait_for_grep '^done$' "$out"
	wait_pid_gone "$spid"
	assert_equal "$(grep -c '^run$' "$out")" 1
	grep -qx 'args:first two words ' "$out"
	grep -qx 'stdio:/dev/null /dev/null /dev/null' "$out"
	grep -qx 'env:from-the-shim' "$out"
	grep -qx 'container:gone' "$out"
	rec=$(sed -n 's/^exit-file://p' "$out")
	assert_equal "$(jq -r .exit_code <<<"$rec")" 3
	assert_equal "$(jq -r .id <<<"$rec")" "$ID"
	# The socket and pid file were gone already; the log was complete.
	[ ! -e "$RUN/$ID/attach" ] && [ ! -e "$RUN/$ID/shim.pid" ]
	log_has stdout '^bye$' "$LOGS/$ID.log"
	[ ! -e "$RUN/$ID/shim.log" ] || fail "unexpected shim.log:" "$(cat "$RUN/$ID/shim.log")"
}

@test "shim: --exit-command without --delete sees the container still there" {
	set_cmd 'exit 0'
	exit_command_script "$BATS_TEST_TMPDIR/on-exit"
	shim_ok "$ID" --start --exit-command "$BATS_TEST_TMPDIR/on-exit"
	wait_for_grep '^done$' "$BATS_TEST_TMPDIR/exit-cmd.out"
	grep -qx 'container:present' "$BATS_TEST_TMPDIR/exit-cmd.out"
	grep -qx 'args:' "$BATS_TEST_TMPDIR/exit-cmd.out"
	runtime delete --force "$ID"
}

@test "shim: a missing --exit-command is logged in shim.log; the exit file is still written" {
	set_cmd 'exit 4'
	shim_ok "$ID" --start --delete --exit-command "$BATS_TEST_TMPDIR/no-such-exit-command" --exit-command-arg x
	spid=$(jq -r .shim_pid <<<"$output")
	wait_for_file "$EXITS/$ID"
	assert_equal "$(exit_field "$ID" exit_code)" 4
	wait_pid_gone "$spid"
	grep -q "exit command: exec $BATS_TEST_TMPDIR/no-such-exit-command: No such file or directory" "$RUN/$ID/shim.log" ||
		fail "shim.log:" "$(cat "$RUN/$ID/shim.log" 2>/dev/null)"
}

@test "shim: a failing --exit-command is logged with its status" {
	set_cmd 'exit 0'
	shim_ok "$ID" --start --delete --exit-command /bin/sh --exit-command-arg -c --exit-command-arg 'exit 9'
	spid=$(jq -r .shim_pid <<<"$output")
	wait_for_file "$EXITS/$ID"
	wait_pid_gone "$spid"
	grep -q "exit command /bin/sh exited with status 9" "$RUN/$ID/shim.log" ||
		fail "shim.log:" "$(cat "$RUN/$ID/shim.log" 2>/dev/null)"
}

@test "shim: --exit-command does not run when create fails" {
	set_args /no-such-binary-here
	exit_command_script "$BATS_TEST_TMPDIR/on-exit"
	shim "$ID" --start --delete --exit-command "$BATS_TEST_TMPDIR/on-exit"
	assert_failure 1
	sleep 0.3
	[ ! -e "$BATS_TEST_TMPDIR/exit-cmd.out" ] || fail "the exit command ran:" "$(cat "$BATS_TEST_TMPDIR/exit-cmd.out")"
}

# add_flooding_hook KIND TAG: a hook that writes 20000 lines (360 KiB and
# more) into the container's stdout and stderr through the init's
# /proc/PID/fd, and as many on its own stdout and stderr; then it creates
# $SHARED/TAG-done.
add_flooding_hook() {
	add_hook "$1" 'PATH=/usr/sbin:/usr/bin:/sbin:/bin
		pid=$(sed -n "s/.*\"pid\": *\([0-9]*\).*/\1/p")
		yes "$0-to-container-stdout" | head -n 20000 >"/proc/$pid/fd/1"
		yes "$0-to-container-stderr" | head -n 20000 >"/proc/$pid/fd/2"
		yes "$0-own-stdout" | head -n 20000
		yes "$0-own-stderr" | head -n 20000 >&2
		touch "$1"' "$2" "$SHARED/$2-done"
}

@test "shim: hooks writing 300 KiB into the container's stdio during create and start do not block the shim" {
	# createRuntime runs before `RUNTIME create` returns, poststart before
	# `RUNTIME start` does. A shim that waits for the runtime without
	# reading the container's pipes never sees it return: the hook waits
	# for a reader once a pipe's 64 KiB are full. What the hooks print on
	# their own stdout and stderr does not reach the container's pipes with
	# berth-runtime, runc 1.1.5 or crun 1.8.1 (they capture or drop it), so
	# it is not checked.
	add_flooding_hook createRuntime create
	add_flooding_hook poststart start
	# The process outlives the poststart hook, which writes into its fds.
	set_cmd 'while [ ! -e /shared/start-done ]; do sleep 0.05; done; echo container-ran; exit 5'
	run timeout 30 "$SHIM" --id "$ID" --bundle "$BUNDLE" --runtime "$RUNTIME" --runtime-root "$ROOT" \
		--run-dir "$RUN/$ID" --log-path "$LOGS/$ID.log" --exit-dir "$EXITS" --start --delete
	[ "$status" -ne 124 ] || fail "the shim hung waiting for the runtime (killed after 30 s)"
	assert_success
	wait_for_file "$EXITS/$ID"
	assert_equal "$(exit_field "$ID" exit_code)" 5
	log=$LOGS/$ID.log
	run grep -cvE "$CRI_RE" "$log"
	assert_output 0
	for s in stdout stderr; do
		cri_lines "$s" "$log" | sort | uniq -c >"$BATS_TEST_TMPDIR/$s.count"
		for h in create start; do
			grep -qx " *20000 $h-to-container-$s" "$BATS_TEST_TMPDIR/$s.count" ||
				fail "not 20000 $h-to-container-$s lines in the $s log:" "$(cat "$BATS_TEST_TMPDIR/$s.count")" || return 1
		done
	done
	grep -qx ' *1 container-ran' "$BATS_TEST_TMPDIR/stdout.count"
}

@test "shim: exec mode keeps an exec session's output and exit code" {
	set_cmd 'while [ ! -e /shared/go ]; do sleep 0.05; done'
	shim_ok "$ID" --start --delete
	cat >"$BATS_TEST_TMPDIR/process.json" <<-'JSON'
		{"args": ["sh", "-c", "echo from-exec; echo exec-err >&2; exit 9"], "cwd": "/",
		 "env": ["PATH=/bin:/usr/bin"], "user": {"uid": 0, "gid": 0}, "terminal": false}
	JSON
	# The exit command copies the session's exit file as it finds it.
	run "$SHIM" --id "$ID" --exec --exec-id e1 --process "$BATS_TEST_TMPDIR/process.json" \
		--runtime "$RUNTIME" --runtime-root "$ROOT" --run-dir "$RUN/$ID.e1" \
		--log-path "$LOGS/$ID.e1.log" --exit-dir "$EXITS" --exit-command /bin/sh --exit-command-arg -c \
		--exit-command-arg 'cp "$0" "$1"' --exit-command-arg "$EXITS/$ID.e1" --exit-command-arg "$BATS_TEST_TMPDIR/e1-seen"
	assert_success
	wait_for_file "$EXITS/$ID.e1"
	assert_equal "$(exit_field "$ID.e1" exit_code)" 9
	wait_for_file "$BATS_TEST_TMPDIR/e1-seen"
	assert_equal "$(jq -r .exit_code "$BATS_TEST_TMPDIR/e1-seen")" 9
	assert_equal "$(jq -r .exec_id "$BATS_TEST_TMPDIR/e1-seen")" e1
	assert_equal "$(exit_field "$ID.e1" exec_id)" e1
	log_has stdout '^from-exec$' "$LOGS/$ID.e1.log"
	grep -q ' stderr F exec-err$' "$LOGS/$ID.e1.log"
	assert_equal "$(container_status)" running
	touch "$SHARED/go"
	wait_for_file "$EXITS/$ID"
}

@test "shim: exec mode with --terminal: a pty, stdin and resize through the attach socket, the exit code" {
	set_cmd 'while [ ! -e /shared/go ]; do sleep 0.05; done'
	shim_ok "$ID" --start --delete
	cat >"$BATS_TEST_TMPDIR/process.json" <<-'JSON'
		{"args": ["sh", "-c", "tty; read a; stty size; echo got:$a; exit 8"], "cwd": "/",
		 "env": ["PATH=/bin:/usr/bin", "TERM=xterm"], "user": {"uid": 0, "gid": 0}, "terminal": true}
	JSON
	run "$SHIM" --id "$ID" --exec --exec-id t1 --process "$BATS_TEST_TMPDIR/process.json" --terminal \
		--runtime "$RUNTIME" --runtime-root "$ROOT" --run-dir "$RUN/$ID.t1" \
		--log-path "$LOGS/$ID.t1.log" --exit-dir "$EXITS"
	assert_success
	[[ $output == '{"pid":'* ]] || fail "expected {\"pid\": N}, got: $output"
	wait_for_grep ' stdout [FP] /dev/pts/' "$LOGS/$ID.t1.log"
	run bash -c 'printf "hello\n" | "$0" attach "$1" --stdin --no-eof --resize 27 91 --exit-record "$2"' \
		"$CLIENT" "$RUN/$ID.t1/attach" "$BATS_TEST_TMPDIR/exit-t1"
	assert_success
	assert_output_contains "27 91" "got:hello"
	wait_for_file "$EXITS/$ID.t1"
	assert_equal "$(exit_field "$ID.t1" exit_code)" 8
	assert_equal "$(exit_field "$ID.t1" exec_id)" t1
	assert_equal "$(jq -r .exit_code "$BATS_TEST_TMPDIR/exit-t1")" 8
	log_has stdout '^got:hello' "$LOGS/$ID.t1.log" || fail "log:" "$(cat "$LOGS/$ID.t1.log")"
	# The container itself is untouched by the exec session's end.
	assert_equal "$(container_status)" running
	touch "$SHARED/go"
	wait_for_file "$EXITS/$ID"
}

@test "shim: exec mode with --terminal: a process that exits at once keeps its output and exit code" {
	set_cmd 'while [ ! -e /shared/go ]; do sleep 0.05; done'
	shim_ok "$ID" --start --delete
	cat >"$BATS_TEST_TMPDIR/process.json" <<-'JSON'
		{"args": ["sh", "-c", "echo quick-exit; exit 3"], "cwd": "/",
		 "env": ["PATH=/bin:/usr/bin"], "user": {"uid": 0, "gid": 0}, "terminal": true}
	JSON
	for i in 1 2 3 4 5 6 7 8; do
		run "$SHIM" --id "$ID" --exec --exec-id q$i --process "$BATS_TEST_TMPDIR/process.json" --terminal \
			--runtime "$RUNTIME" --runtime-root "$ROOT" --run-dir "$RUN/$ID.q$i" \
			--log-path "$LOGS/$ID.q$i.log" --exit-dir "$EXITS"
		assert_success
	done
	for i in 1 2 3 4 5 6 7 8; do
		wait_for_file "$EXITS/$ID.q$i"
		assert_equal "$(exit_field "$ID.q$i" exit_code)" 3
		log_has stdout '^quick-exit' "$LOGS/$ID.q$i.log" || fail "exec q$i: log:" "$(cat "$LOGS/$ID.q$i.log")"
	done
	touch "$SHARED/go"
	wait_for_file "$EXITS/$ID"
}

@test "shim: an OOM kill is reported in the exit record" {
	update_config '.linux.resources.memory = {"limit": 33554432, "swap": 33554432}'
	set_cmd 'tail /dev/zero'
	shim_ok "$ID" --start --delete
	wait_for_file "$EXITS/$ID" 60
	assert_equal "$(exit_field "$ID" exit_code)" 137
	assert_equal "$(exit_field "$ID" signal_name)" SIGKILL
	assert_equal "$(exit_field "$ID" oom_killed)" true
}

@test "shim: reopen-log (ctl) continues the log in a new file" {
	set_cmd 'echo before; while [ ! -e /shared/go ]; do sleep 0.05; done; echo after'
	shim_ok "$ID" --start --delete
	wait_for_log stdout '^before$' "$LOGS/$ID.log"
	mv "$LOGS/$ID.log" "$LOGS/$ID.log.old"
	run "$CLIENT" ctl "$RUN/$ID/ctl" reopen-log
	assert_success
	touch "$SHARED/go"
	wait_for_file "$EXITS/$ID"
	grep -q ' stdout F after$' "$LOGS/$ID.log"
	! grep -q before "$LOGS/$ID.log"
	run "$CLIENT" ctl "$RUN/$ID/ctl" no-such-command
	assert_failure
}

@test "shim: 100 containers, each with its own shim, all exit codes right" {
	set_cmd 'while [ ! -e /shared/go ]; do sleep 0.1; done; exit $(hostname | cut -c2-)'
	update_config '.root.path = $r' --arg r "$BUNDLE/rootfs"
	base=$BUNDLE
	for i in $(seq 1 100); do
		BUNDLE=$BATS_TEST_TMPDIR/b$i
		mkdir -p "$BUNDLE"
		jq --arg h "h$i" '.hostname = $h' "$base/config.json" >"$BUNDLE/config.json"
		shim_ok "$ID-$i" --start --delete
	done
	BUNDLE=$base
	touch "$SHARED/go"
	for i in $(seq 1 100); do
		wait_for_file "$EXITS/$ID-$i" 60
		assert_equal "$(exit_field "$ID-$i" exit_code)" "$i"
	done
	for i in $(seq 1 100); do
		wait_shim_gone "$ID-$i"
	done
}
