#!/usr/bin/env bats
# containerd (Debian's 1.6) with its runc shim driving berth-runtime
# (`ctr run --runc-binary`): a second engine written by others. One
# containerd per file, with its config, root, state and socket in the
# file's temp dir; the image is a busybox OCI layout made offline.

load helpers

setup_file() {
	command -v containerd >/dev/null && command -v ctr >/dev/null || return 0
	export CTD=$BATS_FILE_TMPDIR/containerd
	# The cgroup parent containerd names after its namespace.
	export CTD_NS=bt$$
	mkdir -p "$CTD"
	cat >"$CTD/config.toml" <<-EOF
		version = 2
		root = "$CTD/root"
		state = "$CTD/state"
		disabled_plugins = ["io.containerd.grpc.v1.cri"]
		[grpc]
		  address = "$CTD/containerd.sock"
		[ttrpc]
		  address = "$CTD/containerd.sock.ttrpc"
	EOF
	containerd --config "$CTD/config.toml" >"$CTD/containerd.log" 2>&1 &
	echo $! >"$CTD/pid"
	for _ in $(seq 100); do
		[ -S "$CTD/containerd.sock" ] && break
		sleep 0.1
	done
	RUNTIME=$RUNTIME "$BERTH_SRCDIR/tools/make-oci-image" "$CTD/image.tar" localhost/berth-busybox:latest
	ctr -a "$CTD/containerd.sock" -n "$CTD_NS" image import --snapshotter native "$CTD/image.tar" >/dev/null
}

teardown_file() {
	[ -n "${CTD:-}" ] && [ -f "$CTD/pid" ] || return 0
	ctr -a "$CTD/containerd.sock" -n "$CTD_NS" image rm localhost/berth-busybox:latest >/dev/null 2>&1 || true
	kill "$(cat "$CTD/pid")" 2>/dev/null || true
	wait 2>/dev/null || true
	local d
	for d in /sys/fs/cgroup/*/"$CTD_NS" /sys/fs/cgroup/"$CTD_NS"; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null || true
	done
	# The native snapshotter's bind mounts, if containerd left any.
	awk -v t="$CTD" 'index($5, t) { print $5 }' /proc/self/mountinfo | tac | xargs -r -n1 umount -l
}

setup() {
	[ -S "${CTD:-/nonexistent}/containerd.sock" ] || skip "containerd is not installed"
	common_setup
	NAME=c-$ID
}

teardown() {
	[ -n "${NAME:-}" ] || return 0
	c task kill -s KILL "$NAME" >/dev/null 2>&1 || true
	c task delete -f "$NAME" >/dev/null 2>&1 || true
	c container delete "$NAME" >/dev/null 2>&1 || true
	common_teardown
}

c() {
	timeout 60 ctr -a "$CTD/containerd.sock" -n "$CTD_NS" "$@"
}

# crun_ ARGS...: ctr run with berth-runtime as the runc binary.
crun_() {
	c run --snapshotter native --runc-binary "$RUNTIME" --runc-root "$CTD/runc" "$@"
}

@test "containerd: ctr run prints the output and puts the task in its cgroup" {
	run crun_ --rm localhost/berth-busybox:latest "$NAME" sh -c 'echo hello from containerd; tail -1 /proc/self/cgroup'
	assert_success
	assert_output_contains "hello from containerd" "/$CTD_NS/$NAME"
}

@test "containerd: the exit code of the task comes back" {
	run crun_ --rm localhost/berth-busybox:latest "$NAME" sh -c 'exit 5'
	assert_equal "$status" 5
}

@test "containerd: exec, pause, resume, metrics, kill and delete of a task" {
	run crun_ -d localhost/berth-busybox:latest "$NAME" sleep 100
	assert_success
	run c task exec --exec-id e1 "$NAME" sh -c 'echo exec-ok; cat /proc/1/cmdline'
	assert_success
	assert_output_contains exec-ok sleep
	run c task pause "$NAME"
	assert_success
	run c task ls
	assert_output_contains PAUSED
	run c task resume "$NAME"
	assert_success
	run c task metrics "$NAME"
	assert_success
	assert_output_contains memory
	run c task kill -s KILL "$NAME"
	assert_success
	for _ in $(seq 50); do
		c task ls | grep -q STOPPED && break
		sleep 0.1
	done
	run c task delete "$NAME"
	assert_success
	run c container delete "$NAME"
	assert_success
}

@test "containerd: a missing executable fails the task and leaves nothing" {
	run crun_ --rm localhost/berth-busybox:latest "$NAME" /nope
	assert_failure
	assert_output_contains /nope
	c container delete "$NAME" >/dev/null 2>&1 || true
	assert_no_leftovers
}
