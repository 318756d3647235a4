#!/usr/bin/env bats
# Pure cgroup v2, as most users run it. On a hybrid host each runtime call
# here runs in its own private mount namespace where the host's cgroup2
# hierarchy is mounted at /sys/fs/cgroup (the host's mounts are not touched),
# and only the controllers the host leaves to cgroup2 are available. On a pure
# v2 host (make check-cgroupv2) the runtime runs as it is.

load helpers

setup() {
	common_setup
	grep -q ' /sys/fs/cgroup/unified cgroup2 ' /proc/self/mounts ||
		grep -q ' /sys/fs/cgroup cgroup2 ' /proc/self/mounts || skip "no cgroup2 hierarchy"
}
teardown() { common_teardown; }

# v2 ARGS...: the runtime with /sys/fs/cgroup as a pure cgroup2 mount.
v2() {
	if grep -q ' /sys/fs/cgroup cgroup2 ' /proc/self/mounts; then
		"$RUNTIME" --root "$ROOT" "$@"
		return
	fi
	unshare -m --propagation private sh -c \
		'mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec "$@"' v2 "$RUNTIME" --root "$ROOT" "$@"
}

# v2_path REL: the host path of cgroup2's REL.
v2_path() {
	local mnt
	mnt=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
	echo "$mnt$1"
}

@test "cgroup v2: the init is born in its cgroup, and the cgroup goes with delete" {
	set_args sleep 100
	run_detached v2 create --bundle "$BUNDLE" "$ID"
	assert_success
	pid=$(container_pid)
	procs=$(v2_path "/berth-runtime/$ID/cgroup.procs")
	assert_equal "$(cat "$procs")" "$pid"
	run_detached v2 start "$ID"
	assert_success
	run v2 delete --force "$ID"
	assert_success
	[ ! -e "$(v2_path "/berth-runtime/$ID")" ] || fail "cgroup left after delete"
	assert_no_leftovers
}

@test "cgroup v2: the container sees a cgroup2 mount and is at its cgroup namespace root" {
	# (The v1 lines stay: the host's v1 hierarchies still hold the process.)
	set_cmd 'grep " /sys/fs/cgroup " /proc/self/mounts | cut -d" " -f3; grep "^0::" /proc/self/cgroup'
	run v2 run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output $'cgroup2\n0::/'
}

@test "cgroup v2: kill --all signals every process of the container" {
	remove_namespace pid
	set_cmd 'sleep 100 & sleep 100 & wait'
	run_detached v2 run -d --bundle "$BUNDLE" "$ID"
	assert_success
	procs=$(v2_path "/berth-runtime/$ID/cgroup.procs")
	for _ in $(seq 50); do
		[ "$(wc -l <"$procs")" -ge 3 ] && break
		sleep 0.1
	done
	[ "$(wc -l <"$procs")" -ge 3 ] || fail "expected 3 processes in $procs:" "$(cat "$procs")"
	run v2 kill --all "$ID" KILL
	assert_success
	for _ in $(seq 50); do
		[ -z "$(cat "$procs")" ] && break
		sleep 0.1
	done
	assert_equal "$(cat "$procs")" ""
	run v2 delete "$ID"
	assert_success
	assert_no_leftovers
}

@test "cgroup v2: a limit whose controller cgroup2 lacks is a clear error and leaves nothing" {
	grep -qw memory "$(v2_path /cgroup.controllers)" && skip "memory is a cgroup2 controller here"
	update_config '.linux.resources.memory = {"limit": 67108864}'
	run_detached v2 create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains "linux.resources" "memory controller is not available"
	assert_no_leftovers
}

@test "cgroup v2: pause and resume through cgroup.freeze" {
	add_shared_dir
	set_cmd 'i=0; while true; do i=$((i+1)); echo $i > /shared/count; sleep 0.05; done'
	run_detached v2 run -d --bundle "$BUNDLE" "$ID"
	assert_success
	wait_for_file "$SHARED/count"
	run v2 pause "$ID"
	assert_success
	assert_equal "$(cat "$(v2_path "/berth-runtime/$ID/cgroup.freeze")")" 1
	run v2 state "$ID"
	assert_equal "$(jq -r .status <<<"$output")" paused
	a=$(cat "$SHARED/count")
	sleep 0.3
	assert_equal "$(cat "$SHARED/count")" "$a"
	run v2 resume "$ID"
	assert_success
	sleep 0.3
	[ "$(cat "$SHARED/count")" -gt "$a" ] || fail "the counter did not move after resume"
	run v2 delete --force "$ID"
	assert_success
	assert_no_leftovers
}

# 240:0 is for local/experimental use: no driver claims it, so an open the
# device filter lets through fails with ENXIO instead of EPERM.
@test "cgroup v2: the eBPF device filter denies a device outside the rules" {
	update_config '.linux.devices = [{"path": "/dev/berth-dev", "type": "c", "major": 240, "minor": 0, "fileMode": 438}]'
	set_cmd 'head -c 1 /dev/berth-dev; head -c 1 /dev/null && echo null-ok'
	run v2 run --bundle "$BUNDLE" "$ID"
	assert_output_contains "Operation not permitted" null-ok
	assert_no_leftovers
}

@test "cgroup v2: the eBPF device filter allows what a rule allows, with its access" {
	update_config '.linux.devices = [{"path": "/dev/berth-dev", "type": "c", "major": 240, "minor": 0, "fileMode": 438}]
		| .linux.resources.devices += [{"allow": true, "type": "c", "major": 240, "minor": 0, "access": "r"}]'
	set_cmd 'head -c 1 /dev/berth-dev; echo x > /dev/berth-dev'
	run v2 run --bundle "$BUNDLE" "$ID"
	assert_output_contains "No such device" "Operation not permitted"
	assert_no_leftovers
}

@test "cgroup v2: mknod is allowed by default, reading a disk node is not" {
	update_config '.process.capabilities.bounding += ["CAP_MKNOD"] | .process.capabilities.effective += ["CAP_MKNOD"]
		| .process.capabilities.permitted += ["CAP_MKNOD"]'
	set_cmd 'mknod /dev/fakedisk b 8 0 && echo mknod-ok; head -c 1 /dev/fakedisk'
	run v2 run --bundle "$BUNDLE" "$ID"
	assert_output_contains mknod-ok "Operation not permitted"
}
