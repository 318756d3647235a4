#!/usr/bin/env bats
# linux.cgroupsPath and linux.resources, checked from the host's side of the
# cgroup files (v1 controllers on a v1 or hybrid host, the unified hierarchy
# otherwise).

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

# cgroup_path_of PID CONTROLLER: PID's cgroup path for CONTROLLER, as
# /proc/PID/cgroup shows it (the unified path if CONTROLLER is not on v1).
cgroup_path_of() {
	local f
	f=$(cgroup_file "$1" "$2" x x)
	f=${f%/x}
	_cgroup_mounts | awk '{ print $2 }' |
		while read -r m; do
			[[ $f == "$m"/* || $f == "$m" ]] && { echo "${f#"$m"}"; break; }
		done
}

@test "cgroups: the container's process is in a cgroup of its own" {
	set_args sleep 100
	create_container
	pid=$(container_pid)
	for c in memory pids; do
		path=$(cgroup_path_of "$pid" $c)
		[[ $path == *"$ID"* ]] || fail "$c cgroup '$path' is not named after $ID"
		[ "$path" != "$(cgroup_path_of $$ $c)" ] || fail "$c: same cgroup as the host shell"
		procs=$(cgroup_file "$pid" $c cgroup.procs cgroup.procs)
		grep -qx "$pid" "$procs" || fail "$pid is not in $procs:" "$(cat "$procs")"
	done
}

@test "cgroups: the process sees its cgroup in /proc/self/cgroup" {
	remove_namespace cgroup
	set_args cat /proc/self/cgroup
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_contains "$ID"
}

@test "cgroupsPath: an absolute path is used from the hierarchy's root" {
	update_config '.linux.cgroupsPath = $p' --arg p "/berth-test-$ID"
	set_args sleep 100
	create_container
	pid=$(container_pid)
	for c in memory pids; do
		assert_equal "$(cgroup_path_of "$pid" $c)" "/berth-test-$ID"
	done
}

@test "cgroups: the cgroup is removed by delete" {
	update_config '.linux.cgroupsPath = $p' --arg p "/berth-test-$ID"
	set_args sleep 100
	create_container
	dir=$(dirname "$(cgroup_file "$(container_pid)" pids cgroup.procs cgroup.procs)")
	[ -d "$dir" ] || fail "no cgroup at $dir"
	runtime delete --force "$ID"
	[ ! -d "$dir" ] || fail "$dir is still there after delete"
	assert_no_leftovers
}

@test "resources: memory.limit" {
	update_config '.linux.resources.memory = {"limit": 67108864}'
	set_args sleep 100
	create_container
	f=$(cgroup_file "$(container_pid)" memory memory.limit_in_bytes memory.max)
	assert_equal "$(cat "$f")" 67108864
}

@test "resources: pids.limit" {
	update_config '.linux.resources.pids = {"limit": 42}'
	set_args sleep 100
	create_container
	f=$(cgroup_file "$(container_pid)" pids pids.max pids.max)
	assert_equal "$(cat "$f")" 42
}

@test "resources: pids.limit stops forks in the container" {
	update_config '.linux.resources.pids = {"limit": 5}'
	set_cmd 'for i in 1 2 3 4 5 6 7 8 9 10; do sleep 10 & done; true'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_output_contains "can't fork"
}

@test "resources: cpu quota, period and shares" {
	update_config '.linux.resources.cpu = {"quota": 50000, "period": 100000, "shares": 512}'
	set_args sleep 100
	create_container
	pid=$(container_pid)
	f=$(cgroup_file "$pid" cpu cpu.cfs_quota_us cpu.max)
	if [[ $f == */cpu.max ]]; then
		assert_equal "$(cat "$f")" "50000 100000"
		# runc's conversion of shares to cgroup2's weight: 1 + (512 - 2) * 9999 / 262142.
		assert_equal "$(cat "$(dirname "$f")/cpu.weight")" 20
	else
		assert_equal "$(cat "$f")" 50000
		assert_equal "$(cat "$(dirname "$f")/cpu.cfs_period_us")" 100000
		assert_equal "$(cat "$(dirname "$f")/cpu.shares")" 512
	fi
}

# 240:0 is in the range for local/experimental use: no driver claims it, so
# an open that the device cgroup lets through fails with ENXIO instead.
@test "resources: a device node not allowed by resources.devices cannot be opened" {
	update_config '.linux.devices = [{"path": "/dev/berth-dev", "type": "c", "major": 240, "minor": 0, "fileMode": 438}]'
	set_cmd 'head -c 4 /dev/berth-dev; true'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_contains "Operation not permitted"
}

@test "resources: a device node allowed by resources.devices can be opened" {
	update_config '.linux.devices = [{"path": "/dev/berth-dev", "type": "c", "major": 240, "minor": 0, "fileMode": 438}]
		| .linux.resources.devices += [{"allow": true, "type": "c", "major": 240, "minor": 0, "access": "rwm"}]'
	set_cmd 'head -c 4 /dev/berth-dev; true'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_not_contains "Operation not permitted"
	assert_output_contains "No such device"
}

@test "resources: memory reservation, swappiness, disableOOMKiller and swap on v1" {
	[ -d /sys/fs/cgroup/memory ] || skip "no v1 memory hierarchy"
	update_config '.linux.resources.memory = {"limit": 67108864, "reservation": 33554432, "swappiness": 10,
		"disableOOMKiller": true}'
	[ -e /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes ] &&
		update_config '.linux.resources.memory.swap = 134217728'
	set_args sleep 100
	create_container
	d=$(dirname "$(cgroup_file "$(container_pid)" memory memory.limit_in_bytes memory.max)")
	assert_equal "$(cat "$d/memory.soft_limit_in_bytes")" 33554432
	assert_equal "$(cat "$d/memory.swappiness")" 10
	grep -q "oom_kill_disable 1" "$d/memory.oom_control" || fail "oom killer not disabled:" "$(cat "$d/memory.oom_control")"
	if [ -e "$d/memory.memsw.limit_in_bytes" ]; then
		assert_equal "$(cat "$d/memory.memsw.limit_in_bytes")" 134217728
	fi
}

@test "resources: memory reservation and swap on v2; swappiness and disableOOMKiller are errors there" {
	[ -d /sys/fs/cgroup/memory ] && skip "memory is a v1 controller here"
	grep -qsw memory /sys/fs/cgroup/cgroup.controllers || skip "no cgroup2 memory controller"
	update_config '.linux.resources.memory = {"limit": 67108864, "reservation": 33554432, "swap": 134217728}'
	set_args sleep 100
	create_container
	d=$(dirname "$(cgroup_file "$(container_pid)" memory memory.limit_in_bytes memory.max)")
	assert_equal "$(cat "$d/memory.max")" 67108864
	assert_equal "$(cat "$d/memory.low")" 33554432
	# The spec's swap is memory + swap; memory.swap.max is the swap alone.
	if [ -e "$d/memory.swap.max" ]; then
		assert_equal "$(cat "$d/memory.swap.max")" 67108864
	fi
	runtime delete --force "$ID"
	for field in '"swappiness": 10' '"disableOOMKiller": true'; do
		update_config ".linux.resources.memory = {\"limit\": 67108864, $field}"
		run_detached runtime create --bundle "$BUNDLE" "$ID"
		assert_failure
		assert_output_contains "linux.resources.memory.${field%%\"*:*}" "cgroup v2"
		assert_no_leftovers
	done
}

@test "resources: cpu.cpus and cpu.mems go to the cpuset controller" {
	update_config '.linux.resources.cpu = {"cpus": "0", "mems": "0"}'
	set_cmd 'grep Cpus_allowed_list /proc/self/status'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_contains "Cpus_allowed_list:	0"
}

@test "resources: cpu burst and idle" {
	# v1: cpu.cfs_burst_us; cgroup2: cpu.max.burst (not in the root cgroup:
	# look in this shell's).
	f=$(cgroup_file $$ cpu cpu.cfs_burst_us cpu.max.burst)
	[ -e "$f" ] || skip "no $(basename "$f") here"
	update_config '.linux.resources.cpu = {"quota": 50000, "period": 100000, "burst": 10000, "idle": 1}'
	set_args sleep 100
	create_container
	f=$(cgroup_file "$(container_pid)" cpu cpu.cfs_burst_us cpu.max.burst)
	assert_equal "$(cat "$f")" 10000
	assert_equal "$(cat "$(dirname "$f")/cpu.idle")" 1
}

@test "resources: hugepage limits (v1, or cgroup2 on a hybrid or v2 host)" {
	# (The root cgroup has no hugetlb.*.max files: look for the controller.)
	grep -qsw hugetlb /sys/fs/cgroup/unified/cgroup.controllers /sys/fs/cgroup/cgroup.controllers ||
		[ -d /sys/fs/cgroup/hugetlb ] || skip "no hugetlb controller"
	update_config '.linux.resources.hugepageLimits = [{"pageSize": "2MB", "limit": 4194304}]'
	set_args sleep 100
	create_container
	f=$(cgroup_file "$(container_pid)" hugetlb hugetlb.2MB.limit_in_bytes hugetlb.2MB.max)
	assert_equal "$(cat "$f")" 4194304
}

@test "resources: what this host cannot apply is an error naming the field, and leaves nothing" {
	update_config '.linux.resources.hugepageLimits = [{"pageSize": "3MB", "limit": 1}]'
	run_detached runtime create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains hugepageLimits 3MB
	assert_no_leftovers
	if [ ! -d /sys/fs/cgroup/net_cls ] && [ ! -d /sys/fs/cgroup/net_cls,net_prio ]; then
		update_config 'del(.linux.resources.hugepageLimits) | .linux.resources.network = {"classID": 1}'
		run_detached runtime create --bundle "$BUNDLE" "$ID"
		assert_failure
		assert_output_contains linux.resources.network
		assert_no_leftovers
	fi
	if [ -d /sys/fs/cgroup/memory ]; then
		update_config 'del(.linux.resources.network) | .linux.resources.unified = {"memory.high": "1000000"}'
		run_detached runtime create --bundle "$BUNDLE" "$ID"
		assert_failure
		assert_output_contains linux.resources.unified "cgroup v2"
		assert_no_leftovers
	fi
}

@test "cgroupsPath: an existing cgroup is joined, limited, and left in place by delete" {
	# runtime-spec (runtime.md, delete): only what create made is removed.
	skip_if_runc "runc 1.1.5 removes a joined cgroup too"
	update_config '.linux.cgroupsPath = $p | .linux.resources.pids = {"limit": 55}' --arg p "/berth-join-$ID"
	set_args sleep 100
	# Made beforehand (as an engine's parent cgroup would be), in the
	# hierarchies of memory and pids.
	pre=()
	for c in memory pids; do
		d=$(cgroup_file $$ "$c" x x)
		d=${d%/x}
		m=$(_cgroup_mounts | awk '{ print $2 }' | while read -r m; do [[ $d == "$m"/* || $d == "$m" ]] && echo "$m"; done | head -n1)
		[ -n "$m" ] || fail "no mount for $c"
		[ -d "$m/berth-join-$ID" ] || { mkdir "$m/berth-join-$ID" && pre+=("$m/berth-join-$ID"); }
	done
	create_container
	pid=$(container_pid)
	for c in memory pids; do
		assert_equal "$(cgroup_path_of "$pid" $c)" "/berth-join-$ID"
	done
	assert_equal "$(cat "$(cgroup_file "$pid" pids pids.max pids.max)")" 55
	runtime delete --force "$ID"
	# The runtime did not make them, so it leaves them; they are empty.
	for d in "${pre[@]}"; do
		[ -d "$d" ] || fail "delete removed the pre-existing cgroup $d"
		[ -z "$(cat "$d/cgroup.procs")" ] || fail "$d still has processes"
		rmdir "$d"
	done
}
