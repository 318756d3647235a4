#!/usr/bin/env bats
# The systemd cgroup driver (--systemd-cgroup, cgroupsPath "slice:prefix:name"):
# the container's cgroup is a transient scope that systemd made, with the
# limits as unit properties and in the cgroup files. These tests need systemd
# as PID 1: `make check` runs this file in VMs booted with systemd, on pure
# cgroup v2 and on the hybrid layout (tools/vm/check-cgroupv2). Without
# systemd only the error tests run.

load helpers

# Every runtime call of this file uses the systemd driver.
runtime() {
	"$RUNTIME" --root "$ROOT" --systemd-cgroup "$@"
}

setup() {
	common_setup
	UNIT=bt-$ID.scope
	SLICE_PATH=system.slice:bt:$ID
	# The unit property of the memory limit: cgroup2's, or v1's name.
	MEMPROP=MemoryMax
	[ -d /sys/fs/cgroup/memory ] && MEMPROP=MemoryLimit
	true
}

teardown() {
	common_teardown
	if have_systemd; then
		# No unit of the test's may be left, loaded or failed.
		local left
		left=$(systemctl list-units --all --no-legend --plain "*$ID*" 2>/dev/null)
		if [ -n "$left" ]; then
			systemctl stop "*$ID*" 2>/dev/null || true
			systemctl reset-failed "*$ID*" 2>/dev/null || true
			fail "systemd units left:" "$left"
		fi
	fi
}

have_systemd() {
	[ "$(cat /proc/1/comm)" = systemd ] && [ -S /run/systemd/private ]
}

need_systemd() {
	have_systemd || skip "systemd is not PID 1 here (make check runs this file in a VM booted with systemd)"
}

# The scope's cgroup (its path below each hierarchy's root) as the kernel
# sees it for PID: the cgroup2 line, or the named v1 controller's.
cgroup_of() {
	local pid=$1 ctrl=${2:-}
	if [ -z "$ctrl" ]; then
		awk -F: '$1 == "0" { print $3 }' "/proc/$pid/cgroup"
	else
		awk -F: -v c="$ctrl" '{ n = split($2, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) print $3 }' "/proc/$pid/cgroup"
	fi
}

# unit_prop UNIT PROPERTY: the property's value as systemd shows it.
unit_prop() {
	systemctl show -P "$2" "$1"
}

@test "systemd: a cgroupsPath that is not slice:prefix:name is an error that names it, and nothing is left" {
	update_config '.linux.cgroupsPath = "/not/systemd"'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains 'linux.cgroupsPath "/not/systemd": expected "slice:prefix:name" with --systemd-cgroup'
	assert_no_leftovers
	update_config '.linux.cgroupsPath = "bad--name.slice:p:x"'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains 'linux.cgroupsPath "bad--name.slice:p:x"' 'invalid slice name'
	assert_no_leftovers
}

@test "systemd: without systemd the driver says so, and nothing is left" {
	have_systemd && skip "systemd runs here"
	[ -e /run/dbus/system_bus_socket ] && skip "a system bus runs here"
	update_config '.linux.cgroupsPath = $p' --arg p "$SLICE_PATH"
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains "systemd cgroup driver: systemd is not running"
	assert_no_leftovers
}

@test "systemd: the container runs in a delegated transient scope with its limits, and delete removes it" {
	need_systemd
	update_config '.linux.cgroupsPath = $p | .linux.resources = {"memory": {"limit": 67108864}, "pids": {"limit": 77}, "cpu": {"shares": 512}}' \
		--arg p "$SLICE_PATH"
	set_args sleep 1000
	create_container
	pid=$(container_pid)
	assert_equal "$(unit_prop "$UNIT" ActiveState)" active
	assert_equal "$(unit_prop "$UNIT" Delegate)" yes
	assert_equal "$(unit_prop "$UNIT" Slice)" system.slice
	assert_equal "$(cgroup_of "$pid")" "/system.slice/$UNIT"
	# systemd's view and the kernel's files agree.
	assert_equal "$(unit_prop "$UNIT" "$MEMPROP")" 67108864
	assert_equal "$(unit_prop "$UNIT" TasksMax)" 77
	run cat "$(cgroup_file "$pid" memory memory.limit_in_bytes memory.max)"
	assert_output 67108864
	run cat "$(cgroup_file "$pid" pids pids.max pids.max)"
	assert_output 77
	run cat "$(cgroup_file "$pid" cpu cpu.shares cpu.weight)"
	[ "$output" = 512 ] || [ "$output" = 20 ] || fail "cpu shares/weight: $output"
	# On a hybrid host every v1 controller holds the init too, at the same path.
	if [ -d /sys/fs/cgroup/freezer ]; then
		assert_equal "$(cgroup_of "$pid" freezer)" "/system.slice/$UNIT"
		assert_equal "$(cgroup_of "$pid" memory)" "/system.slice/$UNIT"
	fi
	start_container
	runtime delete --force "$ID"
	run systemctl show -P LoadState "$UNIT"
	assert_output not-found
	[ -z "$(find /sys/fs/cgroup -maxdepth 4 -name "$UNIT")" ] || fail "cgroups left:" "$(find /sys/fs/cgroup -maxdepth 4 -name "$UNIT")"
}

@test "systemd: an empty cgroupsPath is berth-runtime-ID.scope in system.slice" {
	need_systemd
	update_config 'del(.linux.cgroupsPath)'
	set_args sleep 1000
	run_container_detached
	pid=$(container_pid)
	assert_equal "$(cgroup_of "$pid")" "/system.slice/berth-runtime-$ID.scope"
	assert_equal "$(unit_prop "berth-runtime-$ID.scope" ActiveState)" active
	runtime delete --force "$ID"
	assert_equal "$(unit_prop "berth-runtime-$ID.scope" LoadState)" not-found
}

@test "systemd: a nested slice is expanded to its path, and the container exits cleanly" {
	need_systemd
	# "-" nests slices: btest-ID.slice is /btest.slice/btest-ID.slice.
	slice=btest-${ID//-/}.slice
	update_config '.linux.cgroupsPath = $p' --arg p "$slice:p:$ID"
	# Without a cgroup namespace the container sees its cgroup's host path.
	remove_namespace cgroup
	set_cmd 'cat /proc/self/cgroup; exit 3'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_failure 3
	assert_output_contains "0::/btest.slice/$slice/p-$ID.scope"
	# The scope went with its last process; the slices are systemd's.
	assert_equal "$(unit_prop "p-$ID.scope" LoadState)" not-found
	systemctl stop "$slice"
	# Nothing of the slice is left in the v1 hierarchies systemd leaves to us.
	[ -z "$(find /sys/fs/cgroup -maxdepth 3 -name "$slice")" ] || fail "left:" "$(find /sys/fs/cgroup -maxdepth 3 -name "$slice")"
}

@test "systemd: update sets the unit's properties and the files" {
	need_systemd
	update_config '.linux.cgroupsPath = $p | .linux.resources = {"memory": {"limit": 67108864}}' --arg p "$SLICE_PATH"
	set_args sleep 1000
	run_container_detached "$ID"
	pid=$(container_pid)
	runtime update --memory 100663296 --pids-limit 55 "$ID"
	assert_equal "$(unit_prop "$UNIT" "$MEMPROP")" 100663296
	assert_equal "$(unit_prop "$UNIT" TasksMax)" 55
	run cat "$(cgroup_file "$pid" memory memory.limit_in_bytes memory.max)"
	assert_output 100663296
	runtime delete --force "$ID"
}

@test "systemd: a scope name already taken is an error, and the other container is left alone" {
	need_systemd
	update_config '.linux.cgroupsPath = $p' --arg p "$SLICE_PATH"
	set_args sleep 1000
	run_container_detached "$ID"
	run_detached runtime run -d --bundle "$BUNDLE" "$ID-b"
	assert_failure
	assert_output_contains "systemd unit $UNIT exists already"
	[ ! -d "$ROOT/$ID-b" ] || fail "state dir of $ID-b left"
	assert_equal "$(container_status)" running
	assert_equal "$(unit_prop "$UNIT" ActiveState)" active
	runtime delete --force "$ID"
}

@test "systemd: pause, exec and ps work on a container in a scope" {
	need_systemd
	update_config '.linux.cgroupsPath = $p' --arg p "$SLICE_PATH"
	remove_namespace cgroup
	set_args sleep 1000
	run_container_detached "$ID"
	run runtime exec "$ID" cat /proc/self/cgroup
	assert_success
	assert_output_contains "/system.slice/$UNIT"
	runtime pause "$ID"
	assert_equal "$(container_status)" paused
	runtime resume "$ID"
	assert_equal "$(container_status)" running
	run runtime ps --format json "$ID"
	assert_success
	assert_output_contains "$(container_pid)"
	runtime kill "$ID" KILL
	wait_for_status stopped
	runtime delete "$ID"
	assert_equal "$(unit_prop "$UNIT" LoadState)" not-found
}
