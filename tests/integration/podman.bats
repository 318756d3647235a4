#!/usr/bin/env bats
# podman (Debian's 4.3, through conmon) driving berth-runtime in place of
# runc: an independent engine is the proof of the drop-in claim. Each test
# keeps all of podman's state in its own temp dir and runs from a busybox
# rootfs (--rootfs), so no image store is needed. Podman's default network
# is a CNI bridge network of the test's own (its own bridge, subnet and IPAM
# dir; no gateway, so no forwarding or NAT on the host).

load helpers

setup() {
	command -v podman >/dev/null && command -v conmon >/dev/null || skip "podman is not installed"
	common_setup
	PM=$BATS_TEST_TMPDIR/podman
	mkdir -p "$PM/root" "$PM/runroot" "$PM/tmp" "$PM/net" "$PM/ipam"
	NET=bn$ID
	BRIDGE=bt$ID
	SUBNET=10.213.$((BATS_TEST_NUMBER % 250)).0/24
	cat >"$PM/net/$NET.conflist" <<-EOF
		{"cniVersion": "0.4.0", "name": "$NET", "plugins": [{
		  "type": "bridge", "bridge": "$BRIDGE", "isGateway": false, "ipMasq": false,
		  "ipam": {"type": "host-local", "dataDir": "$PM/ipam", "ranges": [[{"subnet": "$SUBNET"}]]}}]}
	EOF
	cat >"$PM/storage.conf" <<-EOF
		[storage]
		driver = "vfs"
		runroot = "$PM/runroot"
		graphroot = "$PM/root"
	EOF
	# No CAP_SYS_RESOURCE here: podman's default rlimits must not raise the
	# hard limits.
	cat >"$PM/containers.conf" <<-EOF
		[containers]
		default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
		[engine]
		cgroup_manager = "cgroupfs"
		events_logger = "file"
		[network]
		network_backend = "cni"
		network_config_dir = "$PM/net"
		default_network = "$NET"
	EOF
	# For commands run under a terminal (script -c): podman with this
	# configuration as one executable. timeout must stay in the terminal's
	# foreground process group (--foreground): in a process group of its own,
	# podman -it is stopped on its first read of the terminal.
	cat >"$PM/podman.sh" <<-EOF
		#!/bin/sh
		export CONTAINERS_STORAGE_CONF=$PM/storage.conf CONTAINERS_CONF=$PM/containers.conf TMPDIR=$PM/tmp
		exec timeout --foreground 60 podman --runtime "$RUNTIME" "\$@"
	EOF
	chmod +x "$PM/podman.sh"
	NAME=pm-$ID
}

teardown() {
	[ -n "${PM:-}" ] || return 0
	pm rm -f -t 0 "$NAME" "$NAME-2" >/dev/null 2>&1 || true
	# The bridge and CNI's cached results are this test's own.
	if [ -n "${BRIDGE:-}" ] && ip link show "$BRIDGE" >/dev/null 2>&1; then
		ip link del "$BRIDGE"
	fi
	[ -n "${NET:-}" ] && rm -f /var/lib/cni/results/"$NET"-*
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
	"$PM/podman.sh" "$@"
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

@test "podman: -it runs an interactive shell on a real terminal, with its size and exit code" {
	command -v script >/dev/null || skip "script (util-linux) is not installed"
	# script gives podman a pty as its controlling terminal; each line is
	# typed once the shell shows its prompt (script's log file), however long
	# podman takes to start.
	log=$BATS_TEST_TMPDIR/typescript
	run bash -c '
		prompts() { grep -o "/ # " "$4" 2>/dev/null | wc -l; }
		{
			for i in $(seq 1200); do [ "$(prompts "$@")" -ge 1 ] && break; sleep 0.1; done
			printf "tty; stty size\n"
			for i in $(seq 1200); do [ "$(prompts "$@")" -ge 2 ] && break; sleep 0.1; done
			printf "echo in-\$((6*7)); exit 5\n"
			sleep 5
		} | timeout 180 script -qefc "stty rows 31 cols 97; $1 run --rm -it --name $2 --network none --rootfs $3 sh" "$4" >/dev/null' \
		_ "$PM/podman.sh" "$NAME" "$BUNDLE/rootfs" "$log"
	assert_equal "$status" 5
	run cat "$log"
	assert_output_contains /dev/pts/ "31 97" in-42
}

@test "podman: the default (CNI bridge) network gives each container an address, and they reach each other" {
	run pm run -d --name "$NAME" --rootfs "$BUNDLE/rootfs" sh -c 'echo pong-$((6*7)) | nc -l -p 7000'
	assert_success
	ip=$(pm inspect --format "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" "$NAME")
	[[ $ip == "${SUBNET%.0/24}".* ]] || fail "address '$ip' is not in $SUBNET"
	ip link show "$BRIDGE" >/dev/null || fail "no bridge $BRIDGE on the host"
	run pm run --rm --name "$NAME-2" --rootfs "$BUNDLE/rootfs" sh -c "
		ip -4 -o addr show eth0
		for i in 1 2 3 4 5 6 7 8 9 10; do nc -w 2 $ip 7000 </dev/null && exit 0; sleep 0.2; done; exit 1"
	assert_success
	assert_output_contains "inet ${SUBNET%.0/24}." pong-42
	pm rm -f -t 0 "$NAME"
	# podman removed the container's network namespace and veth.
	[ -z "$(ip -o link show master "$BRIDGE")" ] || fail "veths left on $BRIDGE:" "$(ip -o link show master "$BRIDGE")"
}
