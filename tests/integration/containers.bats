#!/usr/bin/env bats
# berth's container lifecycle: run, create/start, ps, logs, stop, kill,
# restart, pause, rm, wait, exec, attach, inspect; restart policies; what a
# killed berth leaves; many runs at once. Real containers through
# berth-shim and berth-runtime, in a --root of the test's own.

# shellcheck disable=SC2154
load helpers
load manager

setup_file() {
	make_busybox_image
}

setup() {
	manager_setup
	container_setup
	load_busybox
}

teardown() {
	[ -z "${TMUX_SOCK:-}" ] || tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true
	container_teardown
}

# The full id of container NAME.
cid() {
	berth inspect --format '{{.Id}}' "$1"
}

@test "run: prints the container's output and exits with its code" {
	run berth run busybox sh -c 'echo out; echo err >&2; exit 3'
	assert_failure 3
	assert_output_contains "out" "err"
	run berth ps -a --format '{{.Status}}'
	[[ $output == "Exited (3) "* ]] || fail "ps: $output"
}

@test "run: a caller that ignored every signal (SIGCHLD too) still gets the exit code; a relative --root works" {
	# SIG_IGN survives execve: with SIGCHLD ignored the kernel would reap
	# the shim's and the runtime's children and their statuses be lost.
	local rel=${ROOT#"$BATS_TEST_TMPDIR"/}
	[ "$rel" != "$ROOT" ] || fail "ROOT is not under BATS_TEST_TMPDIR: $ROOT"
	cd "$BATS_TEST_TMPDIR"
	run $BERTH_NS "${BERTH_BUILDDIR:-$BERTH_SRCDIR}/tests/helpers/capprobe" ignore-all "$BERTH" --root "$rel" --runroot "$RUNROOT" \
		run --rm busybox sh -c 'grep SigIgn /proc/self/status; exit 3'
	assert_failure 3
	assert_output "SigIgn:	0000000000000000"
	run berth ps -aq
	assert_output ""
}

@test "run --rm: the container is gone afterwards and nothing is left" {
	run berth run --rm busybox echo hi
	assert_success
	assert_output "hi"
	run berth ps -aq
	assert_output ""
	assert_no_container_leftovers
}

@test "run: docker's exit codes: 127 not found, 126 not executable, 125 a berth error; nothing left" {
	run -127 berth run busybox /nope
	assert_failure 127
	assert_output_contains "/nope" "no such file or directory"
	run -126 berth run busybox /etc/passwd
	assert_failure 126
	assert_output_contains "/etc/passwd" "permission denied"
	run berth run nosuchimage true
	assert_failure 125
	assert_output "berth: nosuchimage: image not known"
	run berth ps -aq
	assert_output ""
	assert_no_container_leftovers
}

@test "run -d, ps, logs, stop (stop signal, the container's trap runs), rm: nothing left" {
	run berth run -d --name ticker busybox sh -c 'trap "echo bye; exit 0" TERM; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done'
	assert_success
	[[ $output =~ ^[0-9a-f]{64}$ ]] || fail "id: $output"
	local id=$output
	wait_for_log ticker "tick 1"
	run berth ps --format '{{.Names}} {{.State}}'
	assert_output "ticker running"
	run berth logs ticker
	assert_output_contains "tick 0" "tick 1"
	run berth stop ticker
	assert_success
	assert_output "ticker"
	run berth inspect --format '{{.State.Status}} {{.State.ExitCode}}' ticker
	assert_output "exited 0"
	run berth logs --tail 1 ticker
	assert_output "bye"
	run berth ps -q
	assert_output ""
	run berth rm ticker
	assert_success
	assert_no_container_leftovers "$id"
}

@test "stop -t: a container that ignores the stop signal is killed after the timeout" {
	berth run -d --name stubborn busybox sh -c 'trap "" TERM; echo ready; while true; do sleep 0.1; done'
	wait_for_log stubborn ready
	local start=$SECONDS
	run berth stop -t 1 stubborn
	assert_success
	run berth inspect --format '{{.State.ExitCode}}' stubborn
	assert_output "137"
	[ $((SECONDS - start)) -lt 10 ] || fail "stop took $((SECONDS - start)) s"
}

@test "create, start, wait: the exit code of a created container" {
	run berth create --name later busybox sh -c 'exit 5'
	assert_success
	run berth ps -a --format '{{.Names}} {{.State}}'
	assert_output "later created"
	run berth start later
	assert_success
	run berth wait later
	assert_success
	assert_output "5"
	# Started again, it runs again.
	berth start later
	run berth wait later
	assert_output "5"
}

@test "start -a: attached to a created container's output" {
	berth create --name att busybox sh -c 'echo attached-out; exit 4'
	run berth start -a att
	assert_failure 4
	assert_output "attached-out"
}

@test "kill -s: the signal reaches the container" {
	berth run -d --name kk busybox sh -c 'trap "echo got USR1; exit 9" USR1; echo ready; while true; do sleep 0.1; done'
	wait_for_log kk ready
	run berth kill -s USR1 kk
	assert_success
	run berth wait kk
	assert_output "9"
	run berth logs kk
	assert_output $'ready\ngot USR1'
	run berth kill -s NOSUCH kk
	assert_failure 125
	assert_output_contains "NOSUCH"
}

@test "pause, unpause: the container's processes are frozen and thawed" {
	berth run -d --name pp busybox sh -c 'echo ready; i=0; while true; do i=$((i+1)); echo $i > /tmp/t; sleep 0.05; done'
	wait_for_log pp ready
	sleep 0.2
	run berth pause pp
	assert_success
	run berth ps --format '{{.State}} {{.Status}}'
	[[ $output == "paused Up "*"(Paused)" ]] || fail "ps: $output"
	local a b
	a=$(cat "$ROOT/containers/$(cid pp)/merged/tmp/t")
	sleep 0.3
	b=$(cat "$ROOT/containers/$(cid pp)/merged/tmp/t")
	assert_equal "$a" "$b"
	run berth unpause pp
	assert_success
	local i
	for i in $(seq 100); do
		b=$(cat "$ROOT/containers/$(cid pp)/merged/tmp/t")
		[ "$a" != "$b" ] && break
		sleep 0.05
	done
	[ "$a" != "$b" ] || fail "still frozen"
	run berth unpause pp
	assert_failure 125
	assert_output "berth: container pp is not paused"
}

@test "restart: a running container is stopped and started again" {
	berth run -d --name rs busybox sh -c 'trap "exit 0" TERM; echo started; while true; do sleep 0.1; done'
	wait_for_log rs started
	run berth restart -t 2 rs
	assert_success
	wait_for_log rs $'started\nstarted'
	run berth ps --format '{{.Names}} {{.State}}'
	assert_output "rs running"
}

@test "--restart on-failure:3 restarts exactly 3 times; ps shows the restarts" {
	berth run -d --name r3 --restart on-failure:3 busybox sh -c 'echo run; exit 2'
	local i
	for i in $(seq 100); do
		[ "$(berth inspect --format '{{.RestartCount}} {{.State.Status}}' r3)" = "3 exited" ] && break
		sleep 0.1
	done
	sleep 1  # a fourth restart would come within 800 ms
	run berth inspect --format '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}' r3
	assert_output "3 exited 2"
	run berth logs r3
	assert_output $'run\nrun\nrun\nrun'
	run berth ps -a --format '{{.Names}} {{.Restarts}}'
	assert_output "r3 3"
}

@test "--restart always: restarted after it exits, not after stop" {
	berth run -d --name ra --restart always busybox sh -c 'sleep 0.2; exit 0'
	local i
	for i in $(seq 100); do
		[ "$(berth inspect --format '{{.RestartCount}}' ra)" -ge 2 ] && break
		sleep 0.1
	done
	run berth stop ra
	assert_success
	local n
	n=$(berth inspect --format '{{.RestartCount}}' ra)
	sleep 1
	run berth inspect --format '{{.RestartCount}} {{.State.Status}}' ra
	assert_output "$n exited"
}

# The start times (/proc/uptime, in ms) of the runs of a container that
# appended them to FILE, one a line.
start_times_ms() {
	local up
	while read -r up; do
		echo $((10#${up/./}0))
	done <"$1"
}

@test "--restart on-failure:4: the back-off between runs doubles from 100 ms (lower bounds only)" {
	local dir=$BATS_TEST_TMPDIR/runs
	mkdir "$dir"
	# /proc/uptime: busybox's date has no %N; 10 ms resolution is plenty.
	berth run -d --name bo --restart on-failure:4 -v "$dir:/runs" busybox sh -c 'cut -d" " -f1 /proc/uptime >> /runs/starts; exit 1'
	local i
	for i in $(seq 150); do
		[ "$(berth ps -a --format '{{.Restarts}} {{.State}}' 2>/dev/null)" = "4 exited" ] &&
			[ "$(wc -l <"$dir/starts")" -eq 5 ] && break
		sleep 0.1
	done
	run berth ps -a --format '{{.Names}} {{.Restarts}} {{.State}} {{.Status}}'
	[[ $output == "bo 4 exited Exited (1) "* ]] || fail "ps: $output"
	local t=() delay=100 k
	mapfile -t t < <(start_times_ms "$dir/starts")
	[ "${#t[@]}" -eq 5 ] || fail "runs: $(cat "$dir/starts")"
	# cleanup_container waits 100 ms << restart count before a restart; a
	# run's start is after the previous one's exit, so each gap between
	# starts is at least that delay (less 10 ms of /proc/uptime's rounding).
	for k in 0 1 2 3; do
		[ $((t[k + 1] - t[k] + 10)) -ge "$delay" ] ||
			fail "gap $k: $((t[k + 1] - t[k])) ms, under the back-off of $delay ms:" "$(cat "$dir/starts")"
		delay=$((delay * 2))
	done
}

@test "--restart no: a failing container is never restarted" {
	berth run -d --name rn --restart no busybox sh -c 'echo run; exit 1'
	run berth wait rn
	assert_output "1"
	sleep 0.5  # a restart would come 100 ms after the exit
	run berth inspect --format '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}} {{.HostConfig.RestartPolicy.Name}}' rn
	assert_output "0 exited 1 no"
	run berth logs rn
	assert_output "run"
	run berth ps -a --format '{{.Names}} {{.Restarts}}'
	assert_output "rn 0"
}

@test "--restart on-failure without a limit: restarted until it succeeds, then left exited 0" {
	local dir=$BATS_TEST_TMPDIR/count
	mkdir "$dir"
	# Fails on its first two runs, succeeds on the third.
	berth run -d --name uf --restart on-failure -v "$dir:/count" busybox sh -c '
		n=$(cat /count/n 2>/dev/null || echo 0); n=$((n + 1)); echo $n > /count/n; echo run $n; [ $n -ge 3 ]'
	local i
	for i in $(seq 100); do
		[ "$(berth inspect --format '{{.RestartCount}} {{.State.Status}}' uf)" = "2 exited" ] && break
		sleep 0.1
	done
	run berth inspect --format '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}' uf
	assert_output "2 exited 0 on-failure 0"
	assert_equal "$(cat "$dir/n")" "3"
	run berth logs uf
	assert_output $'run 1\nrun 2\nrun 3'
}

@test "rm: a running container is refused without -f; -f kills and removes it" {
	berth run -d --name busy busybox sleep 100
	local id
	id=$(cid busy)
	run berth rm busy
	assert_failure 125
	assert_output_contains "cannot remove container \"busy\": container is running"
	run berth rm -f busy
	assert_success
	assert_output "busy"
	run berth ps -aq
	assert_output ""
	assert_no_container_leftovers "$id"
}

@test "--name: a name already taken is refused with docker's message; nothing is left" {
	berth run -d --name taken busybox sleep 100
	run berth run -d --name taken busybox true
	assert_failure 125
	assert_output_contains "the container name \"taken\" is already in use by"
	run berth ps -a --format '{{.Names}}'
	assert_output "taken"
	run ls "$ROOT/containers"
	[ "${#lines[@]}" -eq 1 ] || fail "container dirs: $output"
	berth rm -f taken
	assert_no_container_leftovers
}

@test "logs: --tail, -t, --since, -f" {
	# "late" comes only once the test creates /tmp/go: no timing involved.
	berth run -d --name lg busybox sh -c 'for i in 1 2 3 4 5; do echo line $i; done
		while [ ! -e /tmp/go ]; do sleep 0.05; done; echo late'
	local i
	for i in $(seq 100); do
		[[ $(berth logs lg) == *"line 5"* ]] && break
		sleep 0.05
	done
	run berth logs --tail 2 lg
	assert_output $'line 4\nline 5'
	run berth logs -t --tail 1 lg
	[[ $output =~ ^20[0-9-]+T[0-9:.]+Z\ line\ 5$ ]] || fail "logs -t: $output"
	run berth logs --since 1h lg
	assert_output_contains "line 1"
	run berth logs --since 2099-01-01T00:00:00Z lg
	assert_output ""
	# -f follows: "late" is written after it started, and it ends with the container.
	berth logs -f lg >"$BATS_TEST_TMPDIR/follow" &
	local follower=$!
	sleep 0.3
	berth exec lg touch /tmp/go
	wait "$follower"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/follow")" $'line 1\nline 2\nline 3\nline 4\nline 5\nlate'
	run berth logs --since yesterday lg
	assert_failure 125
	assert_output_contains "yesterday" "--since"
}

@test "exec: runs in the container, with its exit code" {
	berth run -d --name ex busybox sh -c 'echo inside > /tmp/mark; echo ready; exec sleep 100'
	wait_for_log ex ready
	run berth exec ex cat /tmp/mark
	assert_success
	assert_output "inside"
	run berth exec ex sh -c 'exit 6'
	assert_failure 6
	run berth exec -e FOO=bar -w /tmp ex sh -c 'echo $FOO $(pwd)'
	assert_output "bar /tmp"
	run berth exec -u 1000:1000 ex id -u
	assert_output "1000"
	run berth exec -u nobody ex id -un
	assert_output "nobody"
	# -d: runs on after exec returns; its output goes nowhere.
	run berth exec -d ex sh -c 'echo leaked; touch /tmp/detached-ran'
	assert_success
	assert_output ""
	local i
	for i in $(seq 100); do
		berth exec ex test -e /tmp/detached-ran && break
		sleep 0.05
	done
	run berth exec ex test -e /tmp/detached-ran
	assert_success
	berth stop -t 0 ex
	run berth exec ex true
	assert_failure 125
	assert_output "berth: container ex is not running"
}

@test "run -it: an interactive shell on a terminal (tmux): type a command, read the screen" {
	TMUX_SOCK=berth-$$-$BATS_TEST_NUMBER
	local rcfile=$BATS_TEST_TMPDIR/rc
	tmux -L "$TMUX_SOCK" new-session -d -x 100 -y 30 \
		"$BERTH_NS $BERTH --root $ROOT --runroot $RUNROOT run -it --name tty busybox sh; echo \$? > $rcfile; sleep 30"
	screen_shows "/ #"
	tmux -L "$TMUX_SOCK" send-keys 'echo $((6*7)) on $(tty)' Enter
	screen_shows "42 on /dev/pts/0"
	tmux -L "$TMUX_SOCK" send-keys 'exit 7' Enter
	assert_equal "$(exit_code_in "$rcfile")" "7"
}

@test "attach: ctrl-p ctrl-q detaches, the container keeps running" {
	TMUX_SOCK=berth-$$-$BATS_TEST_NUMBER
	local rcfile=$BATS_TEST_TMPDIR/rc
	berth run -d -it --name det busybox sh
	tmux -L "$TMUX_SOCK" new-session -d -x 100 -y 30 "$BERTH_NS $BERTH --root $ROOT --runroot $RUNROOT attach det; echo \$? > $rcfile; sleep 30"
	sleep 0.5
	tmux -L "$TMUX_SOCK" send-keys 'echo attached-$((1+1))' Enter
	screen_shows "attached-2"
	tmux -L "$TMUX_SOCK" send-keys C-p C-q
	assert_equal "$(exit_code_in "$rcfile")" "0"
	run berth ps --format '{{.Names}} {{.State}}'
	assert_output "det running"
}

@test "inspect: docker's fields and --format" {
	berth run -d --name insp busybox sleep 100
	run berth inspect insp
	assert_success
	assert_output_contains '"Status": "running"' '"Name": "/insp"' '"RestartCount": 0'
	run berth inspect --format '{{.State.Running}} {{json .Args}}' insp
	assert_output 'true ["100"]'
	run berth inspect --format '{{.Nope}}' insp
	assert_failure 125
	run berth inspect nosuch
	assert_failure 125
	assert_output_contains "nosuch"
}

# The header of berth ps's table.
# The header's columns, as docker's tabwriter spaces them (three at least).
ps_header() {
	printf '%s' "CONTAINER ID   IMAGE   COMMAND   CREATED   STATUS   PORTS   RESTARTS   NAMES"
}

@test "ps: docker's table with a RESTARTS column; a running container's row; exited ones only with -a" {
	local id
	id=$(berth run -d --name up busybox sleep 100)
	berth run --name done busybox true
	run berth ps
	assert_success
	[ "${#lines[@]}" -eq 2 ] || fail "ps: $output"
	assert_equal "$(sed 's/    */   /g' <<<"${lines[0]}")" "$(ps_header)"
	# The columns of the row, split where two spaces or more are (PORTS is empty).
	local cols
	mapfile -t cols < <(sed 's/   */\n/g' <<<"${lines[1]}")
	[ "${#cols[@]}" -eq 7 ] || fail "row: ${lines[1]}"
	assert_equal "${cols[0]}" "${id:0:12}"
	assert_equal "${cols[1]}" "busybox"
	assert_equal "${cols[2]}" '"sleep 100"'
	[[ ${cols[3]} == *ago ]] || fail "CREATED: ${lines[1]}"
	[[ ${cols[4]} == Up\ * ]] || fail "STATUS: ${lines[1]}"
	assert_equal "${cols[5]}" "0"
	assert_equal "${cols[6]}" "up"
	run berth ps -a
	[ "${#lines[@]}" -eq 3 ] || fail "ps -a: $output"
	[[ $output == *"Exited (0) "*" done"* ]] || fail "ps -a: $output"
}

@test "ps: the table's columns line up under the header" {
	berth run -d --name aligned busybox sh -c 'sleep 100; echo a command longer than the column' >/dev/null
	run berth ps
	assert_success
	# Positions in characters ("…" is one), whatever locale the suite runs in.
	local LC_ALL=C.UTF-8
	local h=${lines[0]} col pos
	for col in STATUS RESTARTS NAMES; do
		pos=${h%%"$col"*}
		pos=${#pos}
		[[ ${lines[1]:pos:1} != " " && ${lines[1]:pos-1:1} == " " ]] ||
			fail "$col is not under its header:" "$h" "${lines[1]}"
	done
	[[ ${lines[1]} == *" aligned" ]] || fail "ps: $output"
	pos=${h%%NAMES*}
	assert_equal "${lines[1]:${#pos}}" "aligned"
}

@test "ps -a --format json: an array with docker's fields for running and exited containers" {
	local up exited
	up=$(berth run -d --name up busybox sleep 100)
	berth run --name done busybox sh -c 'exit 3' || true
	exited=$(cid done)
	run berth ps -a --format json
	assert_success
	jq -e 'type == "array" and length == 2' <<<"$output" >/dev/null || fail "ps: $output"
	run jq -r 'sort_by(.Names[0]) | .[] | "\(.Names | join(",")) \(.State) \(.Image) \(.ExitCode) \(.Restarts) \(.Command) \(.Id)"' <<<"$output"
	assert_output "done exited busybox 3 0 sh -c exit 3 $exited
up running busybox 0 0 sleep 100 $up"
	run berth ps --format json
	assert_equal "$(jq -r '.[].Names[0]' <<<"$output")" "up"
	[ "$(jq -r '.[0].Pid' <<<"$output")" -gt 0 ] || fail "Pid: $output"
	[[ $(jq -r '.[0].Status' <<<"$output") == Up\ * ]] || fail "Status: $output"
}

@test "berth killed with SIGKILL in the middle of run: the next ps and rm clean up" {
	local i pid
	for i in 1 2 3 4 5 6; do
		# (nsenter execs berth: $! is berth's pid.)
		# shellcheck disable=SC2086 # BERTH_NS is a command prefix
		$BERTH_NS "$BERTH" --root "$ROOT" --runroot "$RUNROOT" run -d --name "half$i" busybox sleep 100 >/dev/null 2>&1 &
		pid=$!
		# Somewhere between the record and the shim's answer.
		sleep "0.0$((i * 15 % 100))"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	# Every container any of them began: a lock file is taken before the
	# record, the dir follows it; ps would repair the half-made ones away.
	local ids
	ids=$({ ls "$RUNROOT/locks" "$ROOT/containers"; } 2>/dev/null | grep -xE '[0-9a-f]{64}' | sort -u)
	run berth ps -a --format '{{.Names}} {{.State}}'
	assert_success
	[[ $output != *creating* ]] || fail "ps: $output"
	run berth rm -af
	assert_success
	run berth ps -aq
	assert_output ""
	# shellcheck disable=SC2086 # one id a word
	assert_no_container_leftovers $ids
}

@test "20 concurrent runs: all run, all distinct, nothing left after rm" {
	local i pids=()
	for i in $(seq 20); do
		berth run --name "c$i" busybox sh -c "echo ok $i" >"$BATS_TEST_TMPDIR/out$i" 2>&1 &
		pids+=($!)
	done
	local failed=0
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || failed=$((failed + 1))
	done
	[ "$failed" -eq 0 ] || fail "$failed runs failed:" "$(cat "$BATS_TEST_TMPDIR"/out*)"
	for i in $(seq 20); do
		assert_equal "$(cat "$BATS_TEST_TMPDIR/out$i")" "ok $i"
	done
	run berth ps -aq --no-trunc
	[ "${#lines[@]}" -eq 20 ] || fail "ps: $output"
	local ids=("${lines[@]}")
	run berth rm -a
	assert_success
	assert_no_container_leftovers "${ids[@]}"
}

@test "top, stats --no-stream, diff, rename, container prune" {
	berth run -d --name tools busybox sh -c 'echo x > /newfile; rm /bin/ls; echo ready; exec sleep 100'
	wait_for_log tools ready
	run berth top tools
	assert_success
	assert_output_contains "PID" "sleep 100"
	run berth top tools -o pid,comm
	assert_success
	[[ ${lines[1]} =~ ^\ *[0-9]+\ sleep$ ]] || fail "top -o: $output"
	run berth stats --no-stream
	assert_success
	assert_output_contains "tools" "MEM USAGE / LIMIT"
	run berth stats --no-stream --format json tools
	assert_output_contains '"Name": "tools"' '"PIDs": 1'
	run berth diff tools
	assert_output $'C /bin\nD /bin/ls\nA /newfile'
	run berth rename tools renamed
	assert_success
	run berth ps --format '{{.Names}}'
	assert_output "renamed"
	run berth rename renamed 'bad/name'
	assert_failure 125
	assert_output_contains 'invalid container name "bad/name"'
	berth run --name done1 busybox true
	run berth container prune
	assert_success
	assert_output_contains "Deleted Containers:"
	run berth ps -a --format '{{.Names}}'
	assert_output "renamed"
}

@test "commit CONTAINER: its changes become an image; rmi refuses an image a container uses" {
	berth run -d --name cm busybox sh -c 'echo committed-data > /hello; echo ready; exec sleep 100'
	wait_for_log cm ready
	run berth commit cm localhost/committed
	assert_success
	run berth run --rm committed cat /hello
	assert_output "committed-data"
	# The container kept running through the pause commit takes.
	run berth inspect --format '{{.State.Status}}' cm
	assert_output "running"
	run berth rmi busybox
	assert_failure 125
	assert_output_contains "busybox: image used by container cm"
	run berth rmi -f busybox
	assert_success
	run berth ps -aq
	assert_output ""
}

@test "cp: in and out, directories, tar streams, a stopped container; symlinks never lead out of it" {
	local t=$BATS_TEST_TMPDIR
	mkdir -p "$t/src/sub"
	echo one >"$t/src/a"
	echo two >"$t/src/sub/b"
	ln -s /etc/shadow "$t/src/link"
	echo host-secret >"$t/hostmarker"
	berth run -d --name cp1 busybox sh -c 'mkdir /data; echo indata > /data/f; ln -s / /data/escape; echo ready; exec sleep 100'
	wait_for_log cp1 ready
	run berth cp "$t/src" cp1:/data/
	assert_success
	run berth exec cp1 sh -c 'cat /data/src/a /data/src/sub/b; readlink /data/src/link; stat -c %u:%g /data/src/a'
	assert_output $'one\ntwo\n/etc/shadow\n0:0'
	run berth cp cp1:/data/f "$t/out"
	assert_success
	assert_equal "$(cat "$t/out")" "indata"
	run bash -c "$BERTH_NS '$BERTH' --root '$ROOT' --runroot '$RUNROOT' cp cp1:/data - | tar -t | sort"
	assert_output_contains "data/f" "data/src/sub/b" "data/escape"
	echo streamed >"$t/x"
	tar -C "$t" -c x | berth cp - cp1:/tmp
	run berth exec cp1 cat /tmp/x
	assert_output "streamed"
	# Through the container's symlink to its "/": the host path must not be reached.
	run berth cp "$t/src/a" "cp1:/data/escape$t/INJECT"
	[ ! -e "$t/INJECT" ] || fail "cp wrote through a symlink to the host"
	run berth cp "cp1:/data/escape$t/hostmarker" "$t/leak"
	assert_failure 125
	[ ! -e "$t/leak" ] || fail "cp read a host file through a symlink"
	run berth cp cp1:/nonexist "$t/y"
	assert_failure 125
	assert_output_contains "/nonexist"
	# A stopped container: through its rootfs.
	berth stop -t 0 cp1
	run berth cp cp1:/data/f "$t/stopped"
	assert_success
	assert_equal "$(cat "$t/stopped")" "indata"
	berth rm cp1
	assert_no_container_leftovers
}

# What a reboot does to a running container: processes, cgroup, mounts and
# the run root's contents gone; berth.db as it was.
simulate_reboot() {
	local id shim
	for id in "$@"; do
		# The shim first: a reboot leaves no one to record the exit.
		shim=$(cat "$RUNROOT/shim/$id/shim.pid")
		kill -9 "$shim"
		while kill -0 "$shim" 2>/dev/null; do sleep 0.05; done
		"${BERTH_BUILDDIR:-$BERTH_SRCDIR}/berth-runtime" --root "$RUNROOT/runtime" delete --force "$id"
		umount "$ROOT/containers/$id/merged"
	done
	rm -rf "${RUNROOT:?}"/shim/* "${RUNROOT:?}"/exits/*
	echo "not-this-boot" >"$RUNROOT/boot-id"
}

@test "after a reboot: running containers are exited (255), start works again, --rm ones are removed" {
	local keep gone
	keep=$(berth run -d --name keep busybox sleep 100)
	gone=$(berth run -d --rm --name gone busybox sleep 100)
	simulate_reboot "$keep" "$gone"
	run berth ps -a --format '{{.Names}} {{.Status}}'
	assert_success
	[[ $output == "keep Exited (255) "* ]] || fail "ps: $output"
	run berth start keep
	assert_success
	run berth ps --format '{{.Names}} {{.State}}'
	assert_output "keep running"
	berth rm -f keep
	assert_no_container_leftovers "$keep" "$gone"
}

@test "exec -it: an interactive shell in a running container on a terminal (tmux)" {
	TMUX_SOCK=berth-$$-$BATS_TEST_NUMBER
	local rcfile=$BATS_TEST_TMPDIR/rc
	berth run -d --name exi busybox sleep 100
	tmux -L "$TMUX_SOCK" new-session -d -x 100 -y 30 "$BERTH_NS $BERTH --root $ROOT --runroot $RUNROOT exec -it exi sh; echo \$? > $rcfile; sleep 30"
	tmux -L "$TMUX_SOCK" send-keys 'echo in-$((2+3)) $(tty)' Enter
	screen_shows "in-5 /dev/pts/"
	tmux -L "$TMUX_SOCK" send-keys 'exit 4' Enter
	assert_equal "$(exit_code_in "$rcfile")" "4"
}
