#!/usr/bin/env bats
# berth checkpoint, restore and migrate: a counting container keeps counting
# across a checkpoint and a restore (on the default bridge, its address and
# published port kept), --leave-running and two restores under new names, a
# restored container checkpointed again, export on one berth root and import
# on another, migrate, a container on a terminal, and the failure paths,
# which leave the container as it was and nothing behind. Real containers
# through berth-shim, berth-runtime and CRIU.
# check-cgroupv2: not needed (the cgroup side of checkpoint/restore is the runtime's, which checkpoint.bats runs in the v2 VM; these 14 slow tests ran there by hand, `tools/vm/check-cgroupv2 . tests/integration/berth-checkpoint.bats`, and pushed the VM that got them past its time limit)

# shellcheck disable=SC2154
load helpers
load manager

setup_file() {
	make_busybox_image
}

setup() {
	command -v criu >/dev/null || skip "no criu in PATH (tools/install-deps builds CRIU 4)"
	criu check >/dev/null 2>&1 || skip "criu check fails on this kernel"
	manager_setup
	container_setup
	load_busybox
	ROOT_B=$BATS_TEST_TMPDIR/root-b
}

teardown() {
	[ -z "${SSHD_PID:-}" ] || kill "$SSHD_PID" 2>/dev/null || true
	if [ -d "${ROOT_B:-}" ]; then
		berth_b rm -af >/dev/null 2>&1 || true
		rm -rf "$RUNROOT-b"
	fi
	container_teardown
}

# berth_b ARGS...: berth with a second root (another machine), in the test's
# network namespace.
berth_b() {
	$BERTH_NS "$BERTH" --root "$ROOT_B" --runroot "$RUNROOT-b" "$@"
}

# start_sshd: an ssh server on 127.0.0.1:$SSH_PORT in the test's network
# namespace, "another machine": dropbear in a mount namespace of its own whose
# /root (a tmpfs there only) authorizes the test's key; BERTH_SSH is the ssh
# command with that key. REMOTE_BERTH enters the test's mount namespace
# again, so the containers made over ssh are where berth_b sees them.
start_sshd() {
	command -v dropbear >/dev/null || skip "no dropbear (tools/install-deps installs dropbear-bin)"
	local d=$BATS_TEST_TMPDIR/ssh i
	mkdir -p "$d"
	dropbearkey -t ed25519 -f "$d/host_key" >/dev/null 2>&1
	ssh-keygen -q -t ed25519 -N '' -f "$d/id"
	SSH_PORT=2222
	$BERTH_NS unshare --mount --propagation private sh -c '
		mount -t tmpfs -o mode=0700 tmpfs /root && mkdir -m 0700 /root/.ssh &&
		cp "$1/id.pub" /root/.ssh/authorized_keys &&
		exec dropbear -F -E -s -p "127.0.0.1:$2" -r "$1/host_key" -P "$1/pid"' _ "$d" "$SSH_PORT" 2>"$d/log" &
	SSHD_PID=$!
	for i in $(seq 100); do
		in_netns bash -c "exec 3<>/dev/tcp/127.0.0.1/$SSH_PORT" 2>/dev/null && break
		sleep 0.05
	done
	export BERTH_SSH="ssh -i $d/id -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR"
	REMOTE_BERTH="nsenter --mount=/proc/$$/ns/mnt $BERTH --runroot $RUNROOT-b"
}

# Counts in its shell (a restart would start at 0 again), one number a line
# every 50 ms, until /tmp/stop exists: then exits 7.
COUNTER='i=0; while [ ! -e /tmp/stop ]; do echo $i; i=$((i+1)); sleep 0.05; done; exit 7'

# last_count [berth|berth_b] CONTAINER: the last number in its log (a
# terminal's lines end in CR LF).
last_count() {
	local b=berth
	if [ "$1" = berth ] || [ "$1" = berth_b ]; then
		b=$1
		shift
	fi
	"$b" logs "$1" 2>/dev/null | tr -d '\r' | grep -E '^[0-9]+$' | tail -1
}

# wait_past [berth|berth_b] CONTAINER N: its count goes beyond N within 10 s.
wait_past() {
	local b=berth
	if [ "$1" = berth ] || [ "$1" = berth_b ]; then
		b=$1
		shift
	fi
	local i c
	for i in $(seq 200); do
		c=$(last_count "$b" "$1")
		[ "${c:-0}" -gt "$2" ] 2>/dev/null && return 0
		sleep 0.05
	done
	fail "container $1 did not count past $2 (last: ${c:-none})"
}

# consecutive [berth|berth_b] CONTAINER: its log's numbers go up by one, from 0,
# with no restart in between.
consecutive() {
	local b=berth
	if [ "$1" = berth ] || [ "$1" = berth_b ]; then
		b=$1
		shift
	fi
	"$b" logs "$1" | grep -E '^[0-9]+$' | awk 'NR == 1 && $1 != 0 { exit 1 } NR > 1 && $1 != prev + 1 { exit 1 } { prev = $1 }' ||
		fail "the count of $1 is not consecutive:" "$("$b" logs "$1" | tr '\n' ' ')"
}

# The container is exited and holds no network namespace.
assert_not_running() {
	run berth inspect --format '{{.State.Status}}' "$1"
	assert_output "exited"
	local id
	id=$(berth inspect --format '{{.Id}}' "$1")
	[ ! -e "$RUNROOT/netns/$id" ] || fail "its netns file was left: $RUNROOT/netns/$id"
}

@test "checkpoint, restore: the count goes on, the address and the published port stay, the exit code lands" {
	berth run -d --name ctr -p 127.0.0.1:18080:80 busybox sh -c "$COUNTER"
	wait_past ctr 5
	local ip
	ip=$(berth exec ctr ip -4 -o addr show eth0 | awk '{print $4}')
	run berth checkpoint ctr
	assert_success
	assert_output "ctr" # as named, as podman prints it
	assert_not_running ctr
	run berth inspect --format '{{.State.Status}}:{{.State.Running}}:{{.State.Checkpointed}}' ctr
	assert_output "exited:false:true"
	local at
	at=$(last_count ctr)
	sleep 0.3
	[ "$(last_count ctr)" = "$at" ] || fail "it counted on after the checkpoint"
	# The dump stopped it: no restart policy, no veth left.
	[ -z "$(in_netns ip -o link show type veth)" ] || fail "veths left after the checkpoint"
	run berth restore ctr
	assert_success
	assert_output "ctr"
	run berth inspect --format '{{.State.Status}}:{{.State.Running}}:{{.State.Checkpointed}}' ctr
	assert_output "running:true:false"
	wait_past ctr $((at + 5))
	consecutive ctr
	run berth exec ctr ip -4 -o addr show eth0
	assert_output_contains "$ip"
	[ -n "$(in_netns nft list table inet berth | grep 18080)" ] || fail "no rule for the published port"
	berth exec ctr touch /tmp/stop
	run berth wait ctr
	assert_output "7"
	run berth ps -a --format '{{.Status}}'
	[[ $output == "Exited (7) "* ]] || fail "ps: $output"
	assert_not_running ctr
}

@test "checkpoint, restore: the same through runc (--runtime), on the default bridge" {
	[ -x /usr/sbin/runc ] || skip "runc is not installed (tools/install-deps installs it)"
	berth run -d --name viarunc --runtime /usr/sbin/runc busybox sh -c "$COUNTER"
	wait_past viarunc 5
	run berth checkpoint viarunc
	assert_success
	local at
	at=$(last_count viarunc)
	assert_not_running viarunc
	run berth restore viarunc
	assert_success
	wait_past viarunc $((at + 3))
	consecutive viarunc
	berth exec viarunc touch /tmp/stop
	run berth wait viarunc
	assert_output "7"
}

@test "checkpoint --leave-running; restore --name twice from one checkpoint; a restored copy is checkpointed again" {
	berth run -d --name ctr busybox sh -c "$COUNTER"
	wait_past ctr 5
	run berth checkpoint --leave-running ctr
	assert_success
	wait_past ctr $(($(last_count ctr) + 3)) # runs on
	run berth restore --name copy1 -p 127.0.0.1:18081:80 ctr
	assert_success
	run berth restore --name copy2 ctr
	assert_success
	# --publish gave copy1 a port of its own.
	run berth port copy1
	assert_output "80/tcp -> 127.0.0.1:18081"
	[ -n "$(in_netns nft list table inet berth | grep 18081)" ] || fail "no rule for copy1's port"
	wait_past copy1 5
	wait_past copy2 5
	# The copies went on from the checkpoint, not from 0: their logs start
	# with the restored process's next line.
	local first
	first=$(berth logs copy1 | head -1)
	[ "$first" -gt 0 ] || fail "copy1 started from $first"
	run berth ps --format '{{.Names}}'
	assert_output_contains ctr copy1 copy2
	# A restored container, checkpointed and restored again.
	run berth checkpoint copy1
	assert_success
	local at
	at=$(last_count copy1)
	run berth restore copy1
	assert_success
	wait_past copy1 $((at + 3))
	berth exec copy1 touch /tmp/stop
	run berth wait copy1
	assert_output "7"
}

@test "checkpoint --export on one root, restore --import on another; the rootfs changes and a volume go along" {
	berth run -d --name ctr --network none -v data:/data busybox sh -c \
		"echo made-here > /etc/marker; rm /etc/group; echo in-volume > /data/file; $COUNTER"
	wait_past ctr 5
	run berth checkpoint --export "$BATS_TEST_TMPDIR/ctr.tar.zst" ctr
	assert_success
	[ -s "$BATS_TEST_TMPDIR/ctr.tar.zst" ] || fail "no archive"
	local at
	at=$(last_count ctr)
	# Root B lacks the image: the import fails naming it, and leaves neither
	# a container nor the volume it would have made.
	run berth_b restore --import "$BATS_TEST_TMPDIR/ctr.tar.zst"
	assert_failure 125
	assert_output_contains "busybox"
	run berth_b ps -aq
	assert_output ""
	run berth_b volume ls -q
	assert_output ""
	berth_b load -i "$IMAGE" >/dev/null
	run berth_b restore --import "$BATS_TEST_TMPDIR/ctr.tar.zst"
	assert_success
	wait_past berth_b ctr $((at + 3))
	run berth_b exec ctr cat /etc/marker /data/file
	assert_output "made-here
in-volume"
	run berth_b exec ctr ls /etc/group
	assert_failure
	# Its log there starts where the count was (the log is the new root's).
	local first
	first=$(berth_b logs ctr | head -1)
	[ "$first" -gt 0 ] || fail "the import started from $first"
	# --ignore-volumes: the archive names the volume but carries nothing of it.
	run berth checkpoint --ignore-volumes ctr
	assert_failure 125
	assert_output "berth: --ignore-volumes: only with --export"
	berth restore ctr >/dev/null
	run berth checkpoint --export "$BATS_TEST_TMPDIR/novol.tar.zst" --ignore-volumes ctr
	assert_success
	tar --zstd -tf "$BATS_TEST_TMPDIR/novol.tar.zst" | grep -q '^volumes/' && fail "volume content in the archive"
	tar --zstd -tf "$BATS_TEST_TMPDIR/ctr.tar.zst" | grep -q '^volumes/data/_data/file$' || fail "no volume content in the first archive"
	# The original is still here, stopped, and can be restored too.
	run berth restore ctr
	assert_success
	wait_past ctr $((at + 3))
}

@test "migrate --to: the container runs on under the other root and is gone here" {
	berth run -d --name mover --network none busybox sh -c "$COUNTER"
	wait_past mover 5
	local target_runroot
	target_runroot=/run/berth-$(printf %s "$ROOT_B" | sha256sum | cut -c1-12)
	run berth migrate mover --to "$ROOT_B" 2>&1
	# The target root has no image yet: a clear error, and it runs here again.
	assert_failure 125
	assert_output_contains "image" "busybox"
	assert_output_contains "it runs here again"
	local at
	at=$(last_count mover)
	wait_past mover $((at + 3))
	$BERTH_NS "$BERTH" --root "$ROOT_B" load -i "$IMAGE" >/dev/null
	run berth migrate mover --to "$ROOT_B"
	assert_success
	run berth ps -a --format '{{.Names}}'
	assert_output ""
	run $BERTH_NS "$BERTH" --root "$ROOT_B" ps --format '{{.Names}}'
	assert_output "mover"
	$BERTH_NS "$BERTH" --root "$ROOT_B" exec mover touch /tmp/stop
	run $BERTH_NS "$BERTH" --root "$ROOT_B" wait mover
	assert_output "7"
	$BERTH_NS "$BERTH" --root "$ROOT_B" rm -f mover >/dev/null
	rm -rf "$target_runroot"
}

@test "migrate --to ssh://HOST: the archive goes over ssh to the berth there; no answer: it runs here again" {
	start_sshd
	berth_b load -i "$IMAGE" >/dev/null
	berth run -d --name roamer --network none busybox sh -c "$COUNTER"
	wait_past roamer 5
	# Nothing listens on port 1: ssh fails, the container is restored here.
	run berth migrate roamer --to "ssh://root@127.0.0.1:1$ROOT_B" --remote-berth "$REMOTE_BERTH"
	assert_failure 125
	assert_output_contains "migrate roamer to ssh://root@127.0.0.1:1" "it runs here again"
	local at
	at=$(last_count roamer)
	wait_past roamer $((at + 3))
	run berth migrate roamer --to "ssh://root@127.0.0.1:$SSH_PORT$ROOT_B" --remote-berth "$REMOTE_BERTH"
	assert_success
	[ "$output" = "$(berth_b inspect --format '{{.Id}}' roamer)" ] || fail "migrate printed $output"
	run berth ps -a --format '{{.Names}}'
	assert_output ""
	at=$(last_count berth_b roamer)
	wait_past berth_b roamer $((at + 3))
	berth_b exec roamer touch /tmp/stop
	run berth_b wait roamer
	assert_output "7"
	# A bad target is refused before anything is done.
	berth run -d --name stays --network none busybox sh -c "$COUNTER"
	run berth migrate stays --to "ssh://root@127.0.0.1:99999/x"
	assert_failure 125
	assert_output "berth: --to ssh://root@127.0.0.1:99999/x: the port is not a number from 1 to 65535"
	run berth migrate stays --to "http://example/x"
	assert_failure 125
	assert_output_contains "only a directory or ssh://"
	run berth inspect --format '{{.State.Status}}' stays
	assert_output "running"
}

@test "checkpoint -a, restore -a: every running container, then every checkpointed one; ids printed" {
	berth run -d --name one --network none busybox sh -c "$COUNTER"
	berth run -d --name two --network none busybox sh -c "$COUNTER"
	berth create --name idle busybox true >/dev/null
	wait_past one 3
	wait_past two 3
	run berth checkpoint -a
	assert_success
	[ "$(echo "$output" | sort)" = "$(berth inspect --format '{{.Id}}' one two | sort)" ] || fail "checkpoint -a printed: $output"
	run berth restore -a
	assert_success
	[ "$(echo "$output" | sort)" = "$(berth inspect --format '{{.Id}}' one two | sort)" ] || fail "restore -a printed: $output"
	run berth ps --format '{{.Names}}'
	assert_output_contains one two
	run berth inspect --format '{{.State.Status}}' idle
	assert_output "created"
}

@test "checkpoint --file-locks: a held flock goes along; without it the dump is refused" {
	# capprobe hold-lock: flock on /tmp/lock until /tmp/stop exists.
	berth run -d --name locker --network none -v "$BERTH_BUILDDIR/tests/helpers/capprobe:/bin/capprobe:ro" \
		busybox capprobe hold-lock /tmp/lock
	wait_for_log locker locked
	run berth checkpoint locker
	assert_failure 125
	assert_output_contains "checkpoint locker" "criu dump"
	run berth inspect --format '{{.State.Status}}' locker
	assert_output "running"
	run berth checkpoint --file-locks locker
	assert_success
	run berth restore --file-locks locker
	assert_success
	# The lock is still held by the restored process.
	run berth exec locker capprobe try-lock /tmp/lock
	assert_failure 1
	berth exec locker touch /tmp/stop
	run berth wait locker
	assert_output "0"
	run berth logs locker
	assert_output "locked
done"
}

@test "restore --import of the same container keeps its address; --ignore-static-ip does not ask for it" {
	berth run -d --name filler busybox sleep 1000 >/dev/null
	berth run -d --name ctr busybox sh -c "$COUNTER"
	wait_past ctr 3
	local ip
	ip=$(berth inspect --format '{{.NetworkSettings.IPAddress}}' ctr)
	berth rm -f filler >/dev/null
	run berth checkpoint --export "$BATS_TEST_TMPDIR/ctr.tar.zst" ctr
	assert_success
	berth rm ctr >/dev/null
	run berth restore --import "$BATS_TEST_TMPDIR/ctr.tar.zst"
	assert_success
	run berth inspect --format '{{.NetworkSettings.IPAddress}}' ctr
	assert_output "$ip"
	# While it runs, another import under a new name gets another address.
	run berth restore --import "$BATS_TEST_TMPDIR/ctr.tar.zst" --name other
	assert_success
	run berth inspect --format '{{.NetworkSettings.IPAddress}}' other
	[ "$output" != "$ip" ] || fail "other got the same address $ip"
	# Without --name the same address is asked for: taken, a clear error.
	berth rm -f other >/dev/null
	berth rename ctr ctr-old
	run berth restore --import "$BATS_TEST_TMPDIR/ctr.tar.zst"
	assert_failure 125
	assert_output_contains "$ip"
	run berth restore --import "$BATS_TEST_TMPDIR/ctr.tar.zst" --ignore-static-ip
	assert_success
	run berth inspect --format '{{.NetworkSettings.IPAddress}}' ctr
	[ "$output" != "$ip" ] || fail "--ignore-static-ip got $ip again"
}

@test "checkpoint, restore: a container on a terminal" {
	berth run -d -t --name tty busybox sh -c "$COUNTER"
	wait_past tty 5
	run berth checkpoint tty
	assert_success
	local at
	at=$(last_count tty)
	run berth restore tty
	assert_success
	wait_past tty $((at + 3))
	run berth exec tty tty
	assert_failure # exec without -t has no terminal; the container's own has one:
	run berth exec tty sh -c 'ls -l /proc/1/fd/1'
	assert_output_contains "/dev/pts/"
}

@test "checkpoint and restore: bad input and failures name the cause and leave the container as it was" {
	berth run -d --name ctr busybox sh -c "$COUNTER"
	wait_past ctr 3
	# Not checkpointed yet.
	berth stop -t 0 ctr >/dev/null
	run berth restore ctr
	assert_failure 125
	assert_output "berth: container ctr has no checkpoint: make one with berth checkpoint"
	run berth checkpoint ctr
	assert_failure 125
	assert_output "berth: container ctr is not running"
	berth start ctr >/dev/null
	# Running: no restore over it.
	run berth restore ctr
	assert_failure 125
	assert_output_contains "container ctr is running"
	# No CRIU in PATH: the dump fails naming criu, the container runs on.
	run $BERTH_NS env PATH=/nonexistent "$BERTH" --root "$ROOT" --runroot "$RUNROOT" checkpoint ctr
	assert_failure 125
	assert_output_contains "checkpoint ctr" "criu"
	local at
	at=$(last_count ctr)
	wait_past ctr $((at + 3))
	# --rm without --export: refused, it runs on.
	berth run -d --rm --name gone busybox sh -c "$COUNTER"
	run berth checkpoint gone
	assert_failure 125
	assert_output_contains "was run with --rm"
	# A corrupted archive: a clear error, no container, nothing under the root's tmp.
	head -c 4096 /dev/urandom >"$BATS_TEST_TMPDIR/bad.tar.zst"
	run berth restore --import "$BATS_TEST_TMPDIR/bad.tar.zst" --name imported
	assert_failure 125
	assert_output_contains "--import $BATS_TEST_TMPDIR/bad.tar.zst: not a berth checkpoint archive"
	# A tar that is no checkpoint.
	tar --zstd -cf "$BATS_TEST_TMPDIR/other.tar.zst" -C "$BATS_TEST_TMPDIR" bad.tar.zst
	run berth restore --import "$BATS_TEST_TMPDIR/other.tar.zst"
	assert_failure 125
	assert_output_contains "not a berth checkpoint archive (no berth-export.json"
	run berth ps -a --format '{{.Names}}'
	assert_output_contains ctr gone
	[[ $output != *imported* ]] || fail "a container was left: $output"
	[ -z "$(ls -A "$ROOT/tmp" 2>/dev/null)" ] || fail "left under $ROOT/tmp:" "$(ls "$ROOT/tmp")"
	# A restore that CRIU fails (its images damaged): the error names CRIU's
	# log, the container stays exited, nothing is mounted or wired.
	berth checkpoint ctr >/dev/null
	local id
	id=$(berth inspect --format '{{.Id}}' ctr)
	: >"$ROOT/containers/$id/checkpoint/pstree.img"
	run berth restore ctr
	assert_failure 125
	assert_output_contains "restore ctr" "criu restore" "restore.log"
	assert_not_running ctr
	! mountpoint -q "$ROOT/containers/$id/merged" || fail "the rootfs stayed mounted"
}

@test "checkpoint --tcp-established: a connection between two containers on a berth network survives" {
	berth network create ckpt-net >/dev/null
	berth run -d --name server --network ckpt-net busybox sh -c 'sleep 100000 | nc -l -p 9000 > /tmp/got'
	local i
	for i in $(seq 100); do
		berth exec server netstat -ltn | grep -q ':9000 ' && break
		sleep 0.05
	done
	berth run -d --name client --network ckpt-net busybox sh -c \
		'i=0; { while [ ! -e /tmp/stop ]; do echo $i; i=$((i+1)); sleep 0.05; done; } | nc server 9000'
	for i in $(seq 100); do
		[ -n "$(berth exec server cat /tmp/got 2>/dev/null)" ] && break
		sleep 0.05
	done
	run berth checkpoint --tcp-established client
	if [ "$status" -ne 0 ] && [[ $output == *"sockets: Can't get"* ]]; then
		# This kernel refuses a socket option CRIU reads on TCP sockets
		# (runc's checkpoint fails the same way); the container runs on.
		run berth inspect --format '{{.State.Status}}' client
		assert_output "running"
		berth rm -f client server >/dev/null
		berth network rm ckpt-net >/dev/null
		skip "CRIU cannot dump TCP sockets on this kernel ($(uname -r))"
	fi
	assert_success
	local at
	at=$(berth exec server tail -1 /tmp/got)
	run berth restore --tcp-established client
	assert_success
	for i in $(seq 200); do
		[ "$(berth exec server tail -1 /tmp/got)" -gt $((at + 3)) ] && break
		sleep 0.05
	done
	[ "$(berth exec server tail -1 /tmp/got)" -gt $((at + 3)) ] || fail "the server got nothing after the restore"
	berth rm -f client server >/dev/null
	berth network rm ckpt-net >/dev/null
}

@test "checkpoint --pre-checkpoint, --with-previous: bad combinations, and a kernel without memory tracking, are refused clearly" {
	berth run -d --name iter --network none busybox sh -c "$COUNTER"
	wait_past iter 3
	local id
	id=$(berth inspect --format '{{.Id}}' iter)
	run berth checkpoint --with-previous iter
	assert_failure 125
	assert_output "berth: --with-previous: container iter has no pre-checkpoint (make one with --pre-checkpoint)"
	run berth checkpoint --pre-checkpoint --leave-running iter
	assert_failure 125
	assert_output_contains "--pre-checkpoint: not with"
	if criu check --feature mem_dirty_track >/dev/null 2>&1; then
		skip "this kernel tracks memory changes: pre-checkpoints work (next test)"
	fi
	run berth checkpoint --pre-checkpoint iter
	assert_failure 125
	assert_output_contains "checkpoint --pre-checkpoint iter" "CONFIG_MEM_SOFT_DIRTY" "mem_dirty_track"
	run berth inspect --format '{{.State.Status}}' iter
	assert_output "running"
	[ ! -e "$ROOT/containers/$id/checkpoint-pre" ] || fail "a pre-checkpoint was left"
}

@test "checkpoint --pre-checkpoint, then --with-previous --export; the import elsewhere and the restore here count on" {
	criu check --feature mem_dirty_track >/dev/null 2>&1 ||
		skip "this kernel does not track memory changes (no CONFIG_MEM_SOFT_DIRTY): the refusal is the test above"
	berth run -d --name iter --network none busybox sh -c "$COUNTER"
	wait_past iter 3
	local id
	id=$(berth inspect --format '{{.Id}}' iter)
	run berth checkpoint --pre-checkpoint iter
	assert_success
	run berth inspect --format '{{.State.Status}}' iter
	assert_output "running"
	wait_past iter $(($(last_count iter) + 3))
	run berth checkpoint --with-previous --export "$BATS_TEST_TMPDIR/iter.tar.zst" iter
	assert_success
	[ -L "$ROOT/containers/$id/checkpoint/parent" ] || fail "the dump has no parent"
	local at
	at=$(last_count iter)
	berth_b load -i "$IMAGE" >/dev/null
	run berth_b restore --import "$BATS_TEST_TMPDIR/iter.tar.zst"
	assert_success
	wait_past berth_b iter $((at + 3))
	# Here too, from the images and their parent.
	run berth restore iter
	assert_success
	wait_past iter $((at + 3))
}
