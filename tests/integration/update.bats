#!/usr/bin/env bats
# update: resources of a running container, kept for the next update.

load helpers

setup() {
	common_setup
	set_args sleep 1000
}
teardown() { common_teardown; }

@test "update: --memory, --pids-limit and cpu flags take effect on the running container" {
	run_container_detached
	pid=$(container_pid)
	run runtime update --memory 64m --pids-limit 33 --cpu-quota 20000 --cpu-period 100000 --cpu-share 256 "$ID"
	assert_success
	assert_equal "$(cat "$(cgroup_file "$pid" memory memory.limit_in_bytes memory.max)")" 67108864
	assert_equal "$(cat "$(cgroup_file "$pid" pids pids.max pids.max)")" 33
	f=$(cgroup_file "$pid" cpu cpu.cfs_quota_us cpu.max)
	if [[ $f == */cpu.max ]]; then
		assert_equal "$(cat "$f")" "20000 100000"
		# runc's conversion of shares to cgroup2's weight: 1 + (256 - 2) * 9999 / 262142.
		assert_equal "$(cat "$(dirname "$f")/cpu.weight")" 10
	else
		assert_equal "$(cat "$f")" 20000
		assert_equal "$(cat "$(dirname "$f")/cpu.shares")" 256
	fi
}

@test "update: --resources reads LinuxResources JSON, and later updates start from it" {
	run_container_detached
	pid=$(container_pid)
	echo '{"memory": {"limit": 33554432}, "pids": {"limit": 20}}' >"$BATS_TEST_TMPDIR/r.json"
	run runtime update --resources "$BATS_TEST_TMPDIR/r.json" "$ID"
	assert_success
	assert_equal "$(cat "$(cgroup_file "$pid" pids pids.max pids.max)")" 20
	run runtime update --pids-limit 21 "$ID"
	assert_success
	# The memory limit set before is kept (and re-applied) by the second update.
	assert_equal "$(cat "$(cgroup_file "$pid" memory memory.limit_in_bytes memory.max)")" 33554432
	assert_equal "$(cat "$(cgroup_file "$pid" pids pids.max pids.max)")" 21
	run bash -c 'echo "{\"pids\": {\"limit\": 22}}" | "$0" --root "$1" update -r - "$2"' "$RUNTIME" "$ROOT" "$ID"
	assert_success
	assert_equal "$(cat "$(cgroup_file "$pid" pids pids.max pids.max)")" 22
}

@test "update: a lowered pids limit stops forks in the container" {
	run_container_detached
	runtime update --pids-limit 2 "$ID"
	run runtime exec "$ID" sh -c 'sleep 1 & sleep 1 & sleep 1 & wait'
	assert_output_contains "can't fork"
}

@test "update: bad values and unsupported resources are errors naming them" {
	run_container_detached
	run runtime update --memory lots "$ID"
	assert_failure
	assert_output_contains --memory lots
	run runtime update --l3-cache-schema L3:0=f "$ID"
	assert_failure
	assert_output_contains --l3-cache-schema "not supported"
	echo '{"hugepageLimits": [{"pageSize": "3MB", "limit": 1}]}' >"$BATS_TEST_TMPDIR/r.json"
	run runtime update -r "$BATS_TEST_TMPDIR/r.json" "$ID"
	assert_failure
	assert_output_contains hugepageLimits 3MB
}

@test "update: a stopped container cannot be updated" {
	set_args true
	run_container_detached
	wait_for_status stopped
	run runtime update --memory 64m "$ID"
	assert_failure
	assert_output_contains "not running"
}

@test "update: --cpuset-cpus and --memory-reservation" {
	run_container_detached
	run runtime update --cpuset-cpus 0 --memory-reservation 16m "$ID"
	assert_success
	run runtime exec "$ID" grep Cpus_allowed_list /proc/self/status
	assert_output_contains "Cpus_allowed_list:	0"
	f=$(cgroup_file "$(container_pid)" memory memory.soft_limit_in_bytes memory.low)
	assert_equal "$(cat "$f")" 16777216
}

@test "update: --blkio-weight sets the BFQ (or CFQ) weight, or cgroup2's io.weight" {
	[ -d /sys/fs/cgroup/blkio ] || grep -qsw io /sys/fs/cgroup/cgroup.controllers ||
		skip "no v1 blkio hierarchy nor cgroup2 io controller"
	run_container_detached
	run runtime update --blkio-weight 300 "$ID"
	assert_success
	d=$(dirname "$(cgroup_file "$(container_pid)" blkio cgroup.procs cgroup.procs)")
	if [ -d /sys/fs/cgroup/blkio ]; then
		got=$(cat "$d/blkio.bfq.weight" 2>/dev/null || cat "$d/blkio.weight")
		[[ $got == *300* ]] || fail "weight is $got"
	elif [ -e "$d/io.bfq.weight" ]; then
		[[ $(cat "$d/io.bfq.weight") == *300* ]] || fail "io.bfq.weight is $(cat "$d/io.bfq.weight")"
	else
		# runc's conversion to io.weight: 1 + (300 - 10) * 9999 / 990.
		[[ $(cat "$d/io.weight") == *2930* ]] || fail "io.weight is $(cat "$d/io.weight")"
	fi
}
