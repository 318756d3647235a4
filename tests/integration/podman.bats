#!/usr/bin/env bats
# podman (Debian's 4.3, through conmon) driving berth-runtime in place of
# runc: an independent engine is the proof of the drop-in claim. Each test
# keeps all of podman's state in its own temp dir and runs from a busybox
# rootfs (--rootfs), so no image store or network is needed.

load helpers

setup() {
	command -v podman >/dev/null && command -v conmon >/dev/null || skip "podman is not installed"
	common_setup
	PM=$BATS_TEST_TMPDIR/podman
	mkdir -p "$PM/root" "$PM/runroot" "$PM/tmp"
	cat >"$PM/storage.conf" <<-EOF
		[storage]
		driver = "vfs"
		runroot = "$PM/runroot"
		graphroot = "$PM/root"
	EOF
	# No CAP_SYS_RESOURCE here: podman's default rlimits must not raise the
	# hard limits.
	cat >"$PM/containers.conf" <<-'EOF'
		[containers]
		default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
		[engine]
		cgroup_manager = "cgroupfs"
		events_logger = "file"
	EOF
	NAME=pm-$ID
}

teardown() {
	[ -n "${PM:-}" ] || return 0
	pm rm -f -t 0 "$NAME" >/dev/null 2>&1 || true
	# podman keeps its parent cgroup (like docker's): remove it when empty.
	local d
	for d in /sys/fs/cgroup/*/libpod_parent /sys/fs/cgroup/libpod_parent; do
		[ -d "$d" ] || continue
		find "$d" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null || true
		rmdir "$d" 2>/dev/null || true
	done
	common_teardown
}

# pm ARGS...: podman with this test's configuration and berth-runtime.
pm() {
	CONTAINERS_STORAGE_CONF=$PM/storage.conf CONTAINERS_CONF=$PM/containers.conf TMPDIR=$PM/tmp \
		timeout 60 podman --runtime "$RUNTIME" "$@"
}

@test "podman: run --rm prints the output and applies podman's seccomp profile" {
	run pm run --rm --name "$NAME" --network none --rootfs "$BUNDLE/rootfs" \
		sh -c 'echo hello from podman; grep ^Seccomp: /proc/self/status'
	assert_success
	assert_output_contains "hello from podman" "Seccomp:	2"
}

@test "podman: a failing command's exit code comes back" {
	run pm run --rm --name "$NAME" --network none --rootfs "$BUNDLE/rootfs" sh -c 'exit 23'
	assert_equal "$status" 23
}

@test "podman: -d, exec, logs, pause, unpause, top, stop and rm" {
	run pm run -d --name "$NAME" --network none --rootfs "$BUNDLE/rootfs" \
		sh -c 'while true; do echo tick; sleep 0.2; done'
	assert_success
	sleep 0.5
	run pm exec "$NAME" sh -c 'echo exec-ok; cat /proc/1/cmdline'
	assert_success
	assert_output_contains exec-ok "while true"
	run pm logs "$NAME"
	assert_output_contains tick
	run pm pause "$NAME"
	assert_success
	run pm inspect --format '{{.State.Status}}' "$NAME"
	assert_output paused
	run pm unpause "$NAME"
	assert_success
	run pm top "$NAME"
	assert_success
	assert_output_contains "while true"
	run pm stop -t 1 "$NAME"
	assert_success
	run pm rm "$NAME"
	assert_success
}

@test "podman: --memory and --pids-limit are seen in the container's cgroup" {
	run pm run --rm --name "$NAME" --network none --memory 64m --pids-limit 77 --rootfs "$BUNDLE/rootfs" \
		sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max 2>/dev/null ||
			cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max'
	assert_success
	assert_output $'67108864\n77'
}

@test "podman: -t gives the process a terminal" {
	run pm run --rm -t --name "$NAME" --network none --rootfs "$BUNDLE/rootfs" sh -c 'tty; test -t 1 && echo tty-ok'
	assert_success
	assert_output_contains /dev/pts/ tty-ok
}
