#!/usr/bin/env bats
# checkpoint/restore through CRIU: a counting container keeps counting across
# a checkpoint and a restore (once, twice from one image, again after a
# restore), --leave-running, a container on a terminal, a lazy migration
# (--lazy-pages over a page server on 127.0.0.1), and the failure paths
# (no CRIU, no image, a corrupt image, pre-dump without memory tracking,
# lazy pages without a page server or a lazy-pages daemon),
# which must leave the container as it was and nothing behind. runc is the
# reference: RUNTIME=/usr/sbin/runc runs the same tests (error wording is
# checked for berth-runtime only).

load helpers

setup() {
	common_setup
	command -v criu >/dev/null || skip "no criu in PATH (tools/install-deps builds CRIU 4)"
	criu check >/dev/null 2>&1 || skip "criu check fails on this kernel"
	IMG=$BATS_TEST_TMPDIR/img
}
teardown() { common_teardown; }

# with_pipes ID CMD...: runs CMD with stdout and stderr on a pipe to a cat
# appending to $BATS_TEST_TMPDIR/ID.out, as an engine's shim holds a
# container's stdio: CRIU dumps pipes (restore hands new ones in), not files
# on the host's mounts, which are outside the container (runc alike).
with_pipes() {
	local id=$1 w rc=0
	shift
	exec {w}> >(exec cat >>"$BATS_TEST_TMPDIR/$id.out")
	track_pid $!
	"$@" </dev/null >&"$w" 2>&"$w" || rc=$?
	exec {w}>&-
	[ "$rc" -eq 0 ] || fail "$* failed:" "$(cat "$BATS_TEST_TMPDIR/$id.out")"
}

# A counter in /shared/count, bumped every 50 ms; its shell variable, not
# the file, holds the count, so a restart would start at 1. It overwrites
# the file in place (`1<>`, fixed width) instead of truncating it: CRIU
# checks the size of a file a process has open, and a dump that catches
# the shell between `>`'s truncation and its write would record size 0,
# which a container restored later (with another one writing the file
# meanwhile) no longer finds.
COUNTER='i=0; while true; do i=$((i+1)); printf "%08d\n" $i 1<>/shared/count; sleep 0.05; done'

# A container that runs $COUNTER.
start_counter() {
	add_shared_dir
	set_cmd "$COUNTER"
	with_pipes "$ID" runtime run -d --bundle "$BUNDLE" "$ID"
	wait_for_file "$SHARED/count"
}

# The counter's value, without the leading zeros.
count() {
	local c= i
	for ((i = 0; i < 50; i++)); do
		c=$(cat "$SHARED/count" 2>/dev/null) || c=
		[[ $c =~ ^[0-9]+$ ]] && break
		sleep 0.01
	done
	[ -n "$c" ] && c=$((10#$c))
	echo "$c"
}

# wait_past N: the counter goes beyond N within 5 s.
wait_past() {
	local n=$1 i c
	for ((i = 0; i < 100; i++)); do
		c=$(count 2>/dev/null) || c=0
		[ "${c:-0}" -gt "$n" ] 2>/dev/null && return 0
		sleep 0.05
	done
	fail "the counter did not go past $n (it is at $(count))"
}

# counts_on AT: the counter never goes below AT (a restarted shell would
# write 1 within 50 ms) and then goes past it.
counts_on() {
	local at=$1 i c
	for ((i = 0; i < 15; i++)); do
		c=$(count)
		[ "$c" -ge "$at" ] || fail "the counter went back from $at to $c: the process restarted"
		sleep 0.02
	done
	wait_past "$at"
}

# restore_detached ID [FLAGS...]: restores ID from $IMG with $BUNDLE.
restore_detached() {
	local id=$1
	shift
	with_pipes "$id" runtime restore -d --image-path "$IMG" --bundle "$BUNDLE" "$@" "$id"
}

# The container is gone (runc's checkpoint deletes what it dumped).
assert_gone() {
	run runtime state "${1:-$ID}"
	assert_failure
}

@test "checkpoint: the counter stops, the container is gone; restore: it counts on from where it was" {
	start_counter
	wait_past 5
	old_pid=$(container_pid)
	run runtime checkpoint --image-path "$IMG" "$ID"
	assert_success
	[ -f "$IMG/inventory.img" ] || fail "no CRIU image in $IMG"
	[ -f "$IMG/descriptors.json" ] || fail "no descriptors.json in $IMG"
	assert_gone
	# Gone, or a zombie waiting for its reaper.
	state=$(awk '{print $3}' "/proc/$old_pid/stat" 2>/dev/null) || state=
	[ -z "$state" ] || [ "$state" = Z ] || fail "the dumped process $old_pid still runs (state $state)"
	at=$(count)
	sleep 0.3
	assert_equal "$(count)" "$at"

	restore_detached "$ID"
	assert_equal "$(container_status)" running
	pid=$(container_pid)
	[ "$pid" -gt 1 ] || fail "state has no pid: $pid"
	grep -q "$ID" "/proc/$pid/cgroup" || fail "the restored init is not in the container's cgroup:" "$(cat "/proc/$pid/cgroup")"
	# The shell's own variable counts on: no restart from 1.
	counts_on "$at"
	run runtime delete --force "$ID"
	assert_success
	assert_no_leftovers
}

@test "restore: the container's own network namespace comes back with lo up, without addresses set inside" {
	start_counter
	runtime exec --cap CAP_NET_ADMIN "$ID" ip addr add 10.123.45.6/32 dev lo
	run runtime exec "$ID" ip -o addr show dev lo
	assert_success
	assert_output_contains "10.123.45.6/32"
	runtime checkpoint --image-path "$IMG" "$ID"
	restore_detached "$ID"
	# The network is for whoever set it up to make again: CRIU leaves its
	# addresses, routes and firewall rules out (runc always asks for that:
	# empty_ns), and even lo down; berth-runtime brings lo up again, as at
	# create (runc 1.1.5 leaves it down).
	run runtime exec "$ID" ip -o addr show dev lo
	assert_success
	if [[ $output == *10.123.45.6* ]]; then fail "an address set inside came back:" "$output"; fi
	if ! is_runc; then
		assert_output_contains "127.0.0.1/8"
		run runtime exec "$ID" ip -o link show dev lo
		assert_success
		assert_output_contains ",UP"
	fi
	run runtime delete --force "$ID"
	assert_success
	assert_no_leftovers
}

@test "restore: exec, ps, pause and kill work on a restored container" {
	start_counter
	runtime checkpoint --image-path "$IMG" "$ID"
	restore_detached "$ID"
	run runtime exec "$ID" cat /shared/count
	assert_success
	[ "$((10#$output))" -ge 1 ] || fail "exec read '$output'"
	run runtime ps "$ID"
	assert_success
	assert_output_contains "sleep"
	runtime pause "$ID"
	assert_equal "$(container_status)" paused
	runtime resume "$ID"
	counts_on "$(count)"
	runtime kill "$ID" KILL
	wait_for_status stopped
	run runtime delete "$ID"
	assert_success
	assert_no_leftovers
}

@test "checkpoint --leave-running: the container keeps running and the image restores under another name" {
	start_counter
	before=$(count)
	run runtime checkpoint --leave-running --image-path "$IMG" "$ID"
	assert_success
	assert_equal "$(container_status)" running
	at=$(count)
	wait_past "$at"
	[ -f "$IMG/inventory.img" ] || fail "no CRIU image in $IMG"
	runtime kill "$ID" KILL
	wait_for_status stopped
	runtime delete "$ID"
	restore_detached "$ID-r"
	assert_equal "$(container_status "$ID-r")" running
	# From the image's count, not from 1.
	counts_on "$before"
}

@test "restore: twice from one checkpoint under two names, each its own container" {
	start_counter
	runtime checkpoint --image-path "$IMG" "$ID"
	restore_detached "$ID-a"
	restore_detached "$ID-b"
	assert_equal "$(container_status "$ID-a")" running
	assert_equal "$(container_status "$ID-b")" running
	a=$(container_pid "$ID-a")
	b=$(container_pid "$ID-b")
	[ "$a" != "$b" ] || fail "both have pid $a"
	grep -q "$ID-a" "/proc/$a/cgroup" || fail "$ID-a is not in its own cgroup"
	grep -q "$ID-b" "/proc/$b/cgroup" || fail "$ID-b is not in its own cgroup"
	wait_past "$(count)"
	runtime delete --force "$ID-a"
	kill -0 "$b" || fail "deleting $ID-a killed $ID-b"
	assert_equal "$(container_status "$ID-b")" running
}

@test "restore: in the foreground it waits for the container, exits with its status and deletes it; --pid-file" {
	start_counter
	runtime checkpoint --image-path "$IMG" "$ID"
	exec {w}> >(exec cat >>"$BATS_TEST_TMPDIR/fg.out")
	track_pid $!
	runtime restore --image-path "$IMG" --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" "$ID" \
		</dev/null >&"$w" 2>&"$w" &
	fg=$!
	exec {w}>&-
	track_pid "$fg"
	wait_for_status running
	wait_for_file "$BATS_TEST_TMPDIR/pid"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/pid")" "$(container_pid)"
	runtime kill "$ID" KILL
	rc=0
	wait "$fg" || rc=$?
	assert_equal "$rc" 137
	assert_gone
}

@test "checkpoint: a restored container checkpoints and restores again" {
	start_counter
	runtime checkpoint --image-path "$IMG" "$ID"
	restore_detached "$ID"
	wait_past "$(count)"
	IMG=$BATS_TEST_TMPDIR/img2
	run runtime checkpoint --image-path "$IMG" "$ID"
	assert_success
	assert_gone
	at=$(count)
	restore_detached "$ID"
	assert_equal "$(container_status)" running
	counts_on "$at"
}

@test "checkpoint: a network namespace joined by path stays outside the image and is joined again at restore" {
	unshare --net sleep 1000 3>&- &
	holder=$!
	track_pid "$holder"
	for i in $(seq 100); do
		[ "$(ns_inode "$holder" net)" != "$(ns_inode $$ net)" ] && break
		sleep 0.02
	done
	add_namespace network "/proc/$holder/ns/net"
	start_counter
	runtime checkpoint --image-path "$IMG" "$ID"
	at=$(count)
	restore_detached "$ID"
	assert_equal "$(ns_inode "$(container_pid)" net)" "$(ns_inode "$holder" net)"
	counts_on "$at"
	kill -0 "$holder"
}

@test "checkpoint: without a cgroup namespace the bound cgroup dirs are external and bound again at restore" {
	remove_namespace cgroup
	start_counter
	runtime checkpoint --image-path "$IMG" "$ID"
	at=$(count)
	restore_detached "$ID-r"
	pid=$(container_pid "$ID-r")
	counts_on "$at"
	# /sys/fs/cgroup in the container shows the new container's cgroup
	# (runc 1.1.5 mounts the hierarchies' roots there: nothing to compare).
	is_runc && return 0
	run cat "/proc/$pid/mountinfo"
	assert_success
	grep ' /sys/fs/cgroup' <<<"$output" | grep -q "$ID-r" ||
		fail "the container's cgroup mounts are not the restored container's:" "$(grep ' /sys/fs/cgroup' <<<"$output")"
}

@test "checkpoint --tcp-established: a TCP connection in the container survives; without it the dump is refused" {
	add_shared_dir
	# A server and a client on the container's loopback, one line every 50 ms.
	# (The server's stdin never ends: at its end busybox nc would hang up.)
	set_cmd 'sleep 100000 | nc -l -p 5000 >/shared/recv & sleep 0.3; i=0; while true; do i=$((i+1)); echo $i; sleep 0.05; done | nc 127.0.0.1 5000'
	with_pipes "$ID" runtime run -d --bundle "$BUNDLE" "$ID"
	wait_for_file "$SHARED/recv"
	run runtime checkpoint --image-path "$IMG" "$ID"
	assert_failure
	assert_error_names "criu dump" "tcp-established"
	assert_equal "$(container_status)" running
	run runtime checkpoint --tcp-established --image-path "$IMG" "$ID"
	# Kernels since 6.16 refuse SO_PASSCRED/SO_PASSSEC on TCP sockets, which
	# CRIU 4.1 reads ("Can't get 1:16 opt"): runc fails the same way.
	if [ "$status" -ne 0 ] && grep -q "Can't get 1:.* opt: Operation not supported" "$IMG/dump.log" 2>/dev/null; then
		assert_equal "$(container_status)" running
		skip "CRIU cannot dump TCP sockets on this kernel ($(uname -r)): SO_PASSCRED/SO_PASSSEC refused"
	fi
	assert_success
	assert_gone
	at=$(tail -n1 "$SHARED/recv")
	restore_detached "$ID" --tcp-established
	# The same connection goes on: the lines follow on from the last one.
	for ((i = 0; i < 100; i++)); do
		[ "$(tail -n1 "$SHARED/recv")" -gt $((at + 3)) ] 2>/dev/null && break
		sleep 0.05
	done
	[ "$(tail -n1 "$SHARED/recv")" -gt $((at + 3)) ] || fail "no data over the restored connection after line $at"
	sed -n "/^$at\$/,\$p" "$SHARED/recv" | awk 'NR > 1 && $1 != prev + 1 { bad = 1 } { prev = $1 } END { exit bad }' ||
		fail "the lines after $at do not follow on"
}

@test "checkpoint: a container on a terminal gets a new pty through --console-socket at restore" {
	sock=$BATS_TEST_TMPDIR/console.sock
	out=$BATS_TEST_TMPDIR/console.out
	"$BERTH_SRCDIR/tests/integration/recv-console" "$sock" "$out" &
	track_pid $!
	for ((i = 0; i < 100; i++)); do [ -S "$sock" ] && break; sleep 0.05; done
	update_config '.process.terminal = true'
	set_cmd 'i=0; while true; do i=$((i+1)); test -t 1 && echo "n=$i"; sleep 0.05; done'
	runtime run -d --console-socket "$sock" --bundle "$BUNDLE" "$ID" </dev/null
	wait_for_file "$out"
	run runtime checkpoint --image-path "$IMG" "$ID"
	assert_success
	assert_gone
	seen=$(grep -o 'n=[0-9]*' "$out" | wc -l)
	last=$(grep -o 'n=[0-9]*' "$out" | tail -n1 | cut -d= -f2)
	run runtime restore -d --console-socket "$sock" --image-path "$IMG" --bundle "$BUNDLE" "$ID"
	assert_success
	assert_equal "$(container_status)" running
	# Output goes on on the new pty, counting on from the old number.
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -o 'n=[0-9]*' "$out" | wc -l)" -gt $((seen + 2)) ] && break
		sleep 0.05
	done
	first=$(grep -o 'n=[0-9]*' "$out" | sed -n "$((seen + 1))p" | cut -d= -f2)
	[ -n "$first" ] || fail "no output on the restored terminal after n=$last"
	[ "$first" -gt "$last" ] || fail "after n=$last the restored terminal shows n=$first: the process restarted"
}

# A TCP port on 127.0.0.1 nothing listens on (for a lazy page server).
free_port() {
	local p i
	for ((i = 0; i < 100; i++)); do
		p=$((30000 + RANDOM % 30000))
		[ -z "$(ss -Hltn "sport = :$p")" ] && echo "$p" && return 0
	done
	fail "no free TCP port found"
}

# Why CRIU's lazy page server cannot work here (nothing when it can): CRIU
# 4.1 sizes its pipes to 819 pages, which needs fs.pipe-max-size that large
# or CAP_SYS_RESOURCE; refused, it ignores the error and fails at the first
# page asked for ("page-pipe: splice: -1: Bad file descriptor", in runc's
# dumps too).
lazy_page_server_obstacle() {
	local need=$((8 * $(getconf PAGESIZE) / 40 * $(getconf PAGESIZE))) max eff
	max=$(cat /proc/sys/fs/pipe-max-size)
	eff=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)
	if [ "$max" -lt "$need" ] && (((0x$eff >> 24 & 1) == 0)); then
		echo "fs.pipe-max-size is $max (CRIU's lazy page server needs $need) and root lacks CAP_SYS_RESOURCE"
	fi
}

# CRIU's lazy migration needs non-cooperative userfaultfd (runc's check).
require_lazy_pages() {
	criu check --feature uffd-noncoop >/dev/null 2>&1 || skip "no lazy migration here: criu check --feature uffd-noncoop fails"
}

# The container runs on and counts on; no image was written.
assert_untouched() {
	assert_equal "$(container_status)" running
	wait_past "$(count)"
	[ ! -e "$IMG/inventory.img" ] || fail "an image was written"
}

@test "checkpoint --lazy-pages: restore --lazy-pages pulls the pages from the page server, the counter counts on" {
	require_lazy_pages
	why=$(lazy_page_server_obstacle)
	[ -z "$why" ] || skip "$why"
	start_counter
	wait_past 5
	port=$(free_port)
	mkfifo "$BATS_TEST_TMPDIR/status"
	exec {sr}<>"$BATS_TEST_TMPDIR/status"
	exec {sw}>"$BATS_TEST_TMPDIR/status"
	# In the background: it returns once the restore has pulled the pages.
	"$RUNTIME" --root "$ROOT" checkpoint --lazy-pages --page-server "127.0.0.1:$port" --status-fd "$sw" \
		--image-path "$IMG" "$ID" </dev/null >"$BATS_TEST_TMPDIR/checkpoint.out" 2>&1 3>&- &
	ckpt=$!
	track_pid "$ckpt"
	exec {sw}>&-
	# A \0 on --status-fd: the page server is ready.
	byte=$(timeout 20 head -c1 <&"$sr" | od -An -tx1 | tr -d ' ') || true
	exec {sr}>&-
	assert_equal "$byte" 00
	[ -f "$IMG/inventory.img" ] || fail "no CRIU image in $IMG:" "$(cat "$BATS_TEST_TMPDIR/checkpoint.out")"
	# The page server listens where --page-server says, and nowhere else.
	# (runc 1.1.5 with CRIU 4.1 listens on every address: CRIU drops the RPC's
	# address with lazy pages before checkpoint-restore/criu#2959; berth
	# gives it again in a CRIU config file.)
	listening=$(ss -Hltn "sport = :$port" | awk '{ print $4 }')
	[ -n "$listening" ] || fail "nothing listens on port $port"
	is_runc || assert_equal "$listening" "127.0.0.1:$port"
	# Frozen while its memory waits on the page server.
	at=$(count)
	sleep 0.3
	assert_equal "$(count)" "$at"
	kill -0 "$ckpt" || fail "checkpoint returned before the pages were pulled:" "$(cat "$BATS_TEST_TMPDIR/checkpoint.out")"

	# The restoring side (as in runc's test): CRIU's lazy-pages daemon takes
	# the page faults through lazy-pages.socket in the work dir and fetches
	# the pages from the page server.
	criu lazy-pages --page-server --address 127.0.0.1 --port "$port" -D "$IMG" -o lazy-pages.log -v4 \
		</dev/null >/dev/null 2>&1 3>&- &
	lazy=$!
	track_pid "$lazy"
	for ((i = 0; i < 100; i++)); do [ -S "$IMG/lazy-pages.socket" ] && break; sleep 0.05; done
	with_pipes "$ID-r" timeout 60 "$RUNTIME" --root "$ROOT" restore -d --lazy-pages --image-path "$IMG" \
		--bundle "$BUNDLE" "$ID-r"
	assert_equal "$(container_status "$ID-r")" running
	counts_on "$at"

	# Both sides finish once every page went over; the dumped container is
	# then gone, as after any checkpoint.
	for ((i = 0; i < 400; i++)); do kill -0 "$ckpt" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$ckpt" 2>/dev/null && fail "checkpoint --lazy-pages still runs 20 s after the restore"
	rc=0
	wait "$ckpt" || rc=$?
	[ "$rc" -eq 0 ] || fail "checkpoint --lazy-pages exited $rc:" "$(cat "$BATS_TEST_TMPDIR/checkpoint.out")"
	assert_gone "$ID"
	rc=0
	wait "$lazy" || rc=$?
	assert_equal "$rc" 0
	counts_on "$(count)"
}

@test "checkpoint --lazy-pages: where CRIU's page server cannot make its pipes, it is refused before anything" {
	require_lazy_pages
	why=$(lazy_page_server_obstacle)
	[ -n "$why" ] || skip "CRIU's lazy page server works here"
	# runc 1.1.5 does not look: its dump goes ahead and fails at the first
	# page asked for, and a restoring CRIU then hangs.
	skip_if_runc "checkpoint --lazy-pages does not check the pipe size"
	start_counter
	run runtime checkpoint --lazy-pages --page-server "127.0.0.1:$(free_port)" --image-path "$IMG" "$ID"
	assert_failure
	assert_error_names "--lazy-pages" "fs.pipe-max-size" "CAP_SYS_RESOURCE"
	[ "${#lines[@]}" -eq 1 ] || fail "expected one line:" "$output"
	assert_untouched
	run runtime features
	assert_equal "$(jq -r '.annotations["org.berth.runtime.checkpoint.lazy-pages"]' <<<"$output")" false
}

@test "checkpoint --lazy-pages: without --page-server, a bad address or a bad --status-fd it says so and the container runs on" {
	start_counter
	# runc 1.1.5 accepts --lazy-pages alone: CRIU's page server then listens
	# on every address of the host, on a port only dump.log names, for
	# anyone to fetch the memory. Not run against runc (nothing may listen
	# beyond 127.0.0.1 here).
	if ! is_runc; then
		run runtime checkpoint --lazy-pages --image-path "$IMG" "$ID"
		assert_failure
		assert_error_names "--lazy-pages" "--page-server ADDRESS:PORT"
		[ "${#lines[@]}" -eq 1 ] || fail "expected one line:" "$output"
	fi
	for ps in 127.0.0.1 127.0.0.1:port :27277 127.0.0.1:70000; do
		# runc 1.1.5 takes port 70000 (CRIU cuts it to 16 bits) and dumps.
		is_runc && [ "$ps" = 127.0.0.1:70000 ] && continue
		run runtime checkpoint --lazy-pages --page-server "$ps" --image-path "$IMG" "$ID"
		assert_failure
		assert_error_names "--page-server" "$ps"
		is_runc || [ "${#lines[@]}" -eq 1 ] || fail "expected one line:" "$output"
	done
	port=$(free_port)
	run runtime checkpoint --lazy-pages --page-server "127.0.0.1:$port" --status-fd 42 --image-path "$IMG" "$ID" 42>&-
	assert_failure
	assert_error_names "--status-fd 42" "Bad file descriptor"
	run runtime checkpoint --lazy-pages --page-server "127.0.0.1:$port" --status-fd 0 --image-path "$IMG" "$ID"
	assert_failure
	assert_error_names "--status-fd 0" "not open for writing"
	assert_untouched
	[ -z "$(ss -Hltn "sport = :$port")" ] || fail "something listens on port $port"
}

@test "restore --lazy-pages: with no lazy-pages daemon it fails naming the flag and the socket, and leaves nothing" {
	require_lazy_pages
	start_counter
	runtime checkpoint --image-path "$IMG" "$ID"
	run timeout 60 "$RUNTIME" --root "$ROOT" restore -d --lazy-pages --image-path "$IMG" --bundle "$BUNDLE" "$ID" </dev/null
	assert_failure
	assert_error_names "--lazy-pages" "$IMG/lazy-pages.socket"
	is_runc || [ "${#lines[@]}" -eq 1 ] || fail "expected one line:" "$output"
	assert_gone
	assert_no_leftovers
	# A socket nobody listens on (a daemon gone): CRIU's error, and nothing left.
	python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$IMG/lazy-pages.socket"
	run timeout 60 "$RUNTIME" --root "$ROOT" restore -d --lazy-pages --image-path "$IMG" --bundle "$BUNDLE" "$ID" </dev/null
	assert_failure
	assert_error_names "criu restore" "lazy-pages.socket" "restore.log"
	is_runc || [ "${#lines[@]}" -eq 1 ] || fail "expected one line:" "$output"
	assert_gone
	assert_no_leftovers
	# The image is still good.
	rm "$IMG/lazy-pages.socket"
	restore_detached "$ID"
	counts_on "$(count)"
}

@test "checkpoint: without a CRIU binary it fails naming criu and the container runs on" {
	start_counter
	# PATH without criu (busybox-static's dir only).
	run env PATH=/nonexistent "$RUNTIME" --root "$ROOT" checkpoint --image-path "$IMG" "$ID"
	assert_failure
	assert_error_names "criu"
	[ "$(echo "$output" | wc -l)" -eq 1 ] || is_runc || fail "expected one line:" "$output"
	assert_equal "$(container_status)" running
	wait_past "$(count)"
	[ ! -e "$IMG/inventory.img" ] || fail "an image was left in $IMG"
	# --criu naming a missing binary: the same.
	run runtime --criu "$BATS_TEST_TMPDIR/no-criu" checkpoint --image-path "$IMG" "$ID"
	assert_failure
	assert_error_names "$BATS_TEST_TMPDIR/no-criu"
	assert_equal "$(container_status)" running
}

@test "checkpoint: a dump CRIU refuses leaves the container running and no image, only CRIU's log" {
	add_shared_dir
	set_cmd "$COUNTER"
	# Stdout on a file of the host's mounts: outside the container, CRIU
	# cannot dump it (runc alike).
	runtime run -d --bundle "$BUNDLE" "$ID" </dev/null >"$BATS_TEST_TMPDIR/host-file.log" 2>&1
	wait_for_file "$SHARED/count"
	run runtime checkpoint --image-path "$IMG" --work-path "$BATS_TEST_TMPDIR/work" "$ID"
	assert_failure
	assert_error_names "criu dump" "host-file.log" "$BATS_TEST_TMPDIR/work/dump.log"
	is_runc || [ "${#lines[@]}" -eq 1 ] || fail "expected one line:" "$output"
	assert_equal "$(container_status)" running
	counts_on "$(count)"
	[ -s "$BATS_TEST_TMPDIR/work/dump.log" ] || fail "CRIU's log is not kept in the work dir"
	is_runc || [ -z "$(ls -A "$IMG" 2>/dev/null)" ] || fail "the failed dump left:" "$(ls -A "$IMG")"
}

@test "restore: without a CRIU binary it fails naming criu and leaves nothing" {
	start_counter
	runtime checkpoint --image-path "$IMG" "$ID"
	run env PATH=/nonexistent "$RUNTIME" --root "$ROOT" restore -d --image-path "$IMG" --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_error_names "criu"
	assert_gone
	assert_no_leftovers
	# The image is still good.
	restore_detached "$ID"
	assert_equal "$(container_status)" running
}

@test "restore: a missing image dir fails naming it and leaves nothing" {
	run runtime restore -d --image-path "$BATS_TEST_TMPDIR/none" --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_error_names "$BATS_TEST_TMPDIR/none"
	is_runc || [ "${#lines[@]}" -eq 1 ] || fail "expected one line:" "$output"
	assert_gone
	assert_no_leftovers
}

@test "restore: a corrupt image fails with CRIU's error and leaves nothing" {
	start_counter
	runtime checkpoint --image-path "$IMG" "$ID"
	# Garbage in every image file (CRIU reads the inventory first).
	for f in "$IMG"/*.img; do
		head -c 64 /dev/urandom >"$f"
	done
	run runtime restore -d --image-path "$IMG" --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_error_names "criu restore" "restore.log"
	is_runc || [ "${#lines[@]}" -eq 1 ] || fail "expected one line:" "$output"
	assert_gone
	assert_no_leftovers
}

@test "restore: a corrupt descriptors.json fails naming the file and leaves nothing" {
	start_counter
	runtime checkpoint --image-path "$IMG" "$ID"
	echo '{"not": "an array"}' >"$IMG/descriptors.json"
	run runtime restore -d --image-path "$IMG" --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_error_names "$IMG/descriptors.json"
	assert_gone
	assert_no_leftovers
}

@test "restore: an id in use is refused and the running container is untouched" {
	start_counter
	runtime checkpoint --leave-running --image-path "$IMG" "$ID"
	pid=$(container_pid)
	run runtime restore -d --image-path "$IMG" --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_error_names "already exists"
	assert_equal "$(container_pid)" "$pid"
	assert_equal "$(container_status)" running
}

@test "checkpoint: a container that is not running is refused and left as it was" {
	run_container_detached
	wait_for_status stopped
	run runtime checkpoint --image-path "$IMG" "$ID"
	assert_failure
	assert_error_names "not running"
	[ ! -e "$IMG/inventory.img" ] || fail "an image was written"
	assert_equal "$(container_status)" stopped
}

@test "checkpoint --pre-dump: without memory tracking in the kernel it says so and the container runs on" {
	if criu check --feature mem_dirty_track >/dev/null 2>&1; then
		skip "this kernel tracks memory changes: pre-dump works here"
	fi
	start_counter
	run runtime checkpoint --pre-dump --image-path "$IMG" "$ID"
	assert_failure
	assert_error_names "--pre-dump" "mem_dirty_track"
	is_runc || [ "${#lines[@]}" -eq 1 ] || fail "expected one line:" "$output"
	assert_equal "$(container_status)" running
	wait_past "$(count)"
	[ ! -e "$IMG/inventory.img" ] || fail "an image was written"
}

@test "checkpoint: bad flag values name the flag" {
	start_counter
	run runtime checkpoint --manage-cgroups-mode hard --image-path "$IMG" "$ID"
	assert_failure
	assert_error_names "--manage-cgroups-mode" "hard"
	run runtime checkpoint --page-server nohost --image-path "$IMG" "$ID"
	assert_failure
	assert_error_names "--page-server" "nohost"
	assert_equal "$(container_status)" running
}

@test "features: reports checkpoint/restore support" {
	is_runc && skip "runc 1.1.5 has no features command"
	run runtime features
	assert_success
	assert_equal "$(jq -r '.annotations["org.berth.runtime.checkpoint.enabled"]' <<<"$output")" true
	lazy=true
	criu check --feature uffd-noncoop >/dev/null 2>&1 || lazy=false
	[ -z "$(lazy_page_server_obstacle)" ] || lazy=false
	assert_equal "$(jq -r '.annotations["org.berth.runtime.checkpoint.lazy-pages"]' <<<"$output")" "$lazy"
	run env PATH=/nonexistent "$RUNTIME" features
	assert_success
	assert_equal "$(jq -r '.annotations["org.berth.runtime.checkpoint.enabled"]' <<<"$output")" false
	assert_equal "$(jq -r '.annotations["org.berth.runtime.checkpoint.lazy-pages"]' <<<"$output")" false
}

@test "checkpoint --pre-dump, then a dump with --parent-path: the restore counts on (where the kernel tracks memory)" {
	criu check --feature mem_dirty_track >/dev/null 2>&1 ||
		skip "this kernel does not track memory changes (no CONFIG_MEM_SOFT_DIRTY): the refusal is tested above"
	start_counter
	wait_past 3
	run runtime checkpoint --pre-dump --image-path "$IMG/pre" "$ID"
	assert_success
	# A pre-dump leaves the container running.
	assert_equal "$(container_status)" running
	wait_past "$(count)"
	# The final dump writes only what changed since; CRIU links its parent.
	run runtime checkpoint --parent-path ../pre --image-path "$IMG/final" "$ID"
	assert_success
	[ -L "$IMG/final/parent" ] || fail "no parent link in $IMG/final:" "$(ls "$IMG/final")"
	assert_gone
	local before
	before=$(count)
	IMG=$IMG/final restore_detached "$ID"
	assert_equal "$(container_status)" running
	counts_on "$before"
}
