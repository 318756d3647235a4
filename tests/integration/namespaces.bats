#!/usr/bin/env bats
# linux.namespaces: new ones, joined ones, and what each isolates.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

# ns_links: the container's /proc/self/ns/* links, one "type:[inode]" a line,
# for the namespace types the host's /proc/self/ns has.
inside_ns() {
	set_cmd 'for t in pid net ipc uts mnt cgroup user; do echo "$t $(readlink /proc/self/ns/$t)"; done'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
}

# ns_of TYPE: the container's namespace TYPE from $output of inside_ns.
ns_of() {
	awk -v t="$1" '$1 == t { print $2 }' <<<"$output"
}

@test "namespaces: the default pid, network, ipc, uts and mount namespaces are new" {
	inside_ns
	for t in pid net ipc uts mnt; do
		[ "$(ns_of $t)" != "$(ns_inode $$ $t)" ] || fail "$t namespace is the host's: $(ns_of $t)"
	done
}

@test "namespaces: a namespace left out of the config is the host's" {
	remove_namespace network
	remove_namespace ipc
	remove_namespace cgroup
	inside_ns
	assert_equal "$(ns_of net)" "$(ns_inode $$ net)"
	assert_equal "$(ns_of ipc)" "$(ns_inode $$ ipc)"
	assert_equal "$(ns_of cgroup)" "$(ns_inode $$ cgroup)"
	assert_equal "$(ns_of user)" "$(ns_inode $$ user)"
}

@test "pid: the container's process is pid 1" {
	set_cmd 'echo $$; cat /proc/1/cmdline | tr "\0" " "'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_equal "${lines[0]}" 1
}

@test "pid: the container sees only its own processes" {
	set_cmd 'ls -d /proc/[0-9]* | wc -l'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	# sh, and ls or wc (busybox sh forks both sides of a pipe).
	[ "$output" -le 3 ] || fail "sees $output processes"
}

@test "pid: without a pid namespace the process is not pid 1" {
	remove_namespace pid
	set_cmd 'echo $$'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	[ "$output" -gt 1 ] || fail "pid is $output"
}

@test "uts: hostname is set" {
	update_config '.hostname = "berth-host"'
	set_args hostname
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output berth-host
	[ "$(hostname)" != berth-host ] || fail "the host's hostname changed"
}

@test "uts: domainname is set" {
	skip_if_runc "domainname is new in runc 1.2"
	update_config '.domainname = "berth.example"'
	set_args cat /proc/sys/kernel/domainname
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output berth.example
}

@test "network: a new network namespace has only lo, and lo is up" {
	set_cmd 'ls /sys/class/net; ip -o link show lo'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_equal "${lines[0]}" lo
	assert_equal "${#lines[@]}" 2
	[[ ${lines[1]} == *"<LOOPBACK,UP,LOWER_UP>"* ]] || fail "lo is not up:" "${lines[1]}"
}

@test "network: lo works" {
	set_cmd 'ping -c 1 -W 1 127.0.0.1 >/dev/null && echo reachable'
	# ping needs a raw socket.
	update_config '.process.capabilities.bounding += ["CAP_NET_RAW"]
		| .process.capabilities.effective += ["CAP_NET_RAW"]
		| .process.capabilities.permitted += ["CAP_NET_RAW"]'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output reachable
}

@test "cgroup: with a cgroup namespace the container's cgroups are all /" {
	add_namespace cgroup
	set_args cat /proc/self/cgroup
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	[ -n "$output" ] || fail "empty /proc/self/cgroup"
	while read -r line; do
		[[ $line == *:/ ]] || fail "not at the root of its cgroup namespace: $line" "$output"
	done <<<"$output"
}

@test "user: uid and gid mappings are applied" {
	add_userns 100000 200000
	set_cmd 'cat /proc/self/uid_map /proc/self/gid_map; id -u; stat -c %u /bin/busybox'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_equal "$(xargs <<<"${lines[0]}")" "0 100000 65536"
	assert_equal "$(xargs <<<"${lines[1]}")" "0 200000 65536"
	assert_equal "${lines[2]}" 0
	# Host root is not mapped: its files belong to the overflow uid.
	assert_equal "${lines[3]}" 65534
}

@test "user: the container's root is an unprivileged host uid" {
	add_userns 100000
	set_args sleep 100
	create_container
	pid=$(container_pid)
	assert_equal "$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")" 100000
	[ "$(ns_inode "$pid" user)" != "$(ns_inode $$ user)" ] || fail "init is in the host user namespace"
}

@test "user: several mapping ranges" {
	add_userns
	update_config '.linux.uidMappings = [
			{"containerID": 0, "hostID": 100000, "size": 1000},
			{"containerID": 1000, "hostID": 300000, "size": 1000}]'
	set_args cat /proc/self/uid_map
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_equal "$(xargs <<<"${lines[0]}")" "0 100000 1000"
	assert_equal "$(xargs <<<"${lines[1]}")" "1000 300000 1000"
}

@test "time: timeOffsets shift the boottime and monotonic clocks" {
	skip_if_runc "time namespaces are new in runc 1.2"
	[ -e /proc/self/ns/time ] || skip "the kernel has no time namespaces"
	add_namespace time
	update_config '.linux.timeOffsets = {
		"boottime": {"secs": 31536000, "nanosecs": 0},
		"monotonic": {"secs": 86400, "nanosecs": 0}}'
	set_cmd 'cat /proc/self/timens_offsets; cut -d. -f1 /proc/uptime'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_equal "$(awk '/^monotonic/ { print $2, $3 }' <<<"$output")" "86400 0"
	assert_equal "$(awk '/^boottime/ { print $2, $3 }' <<<"$output")" "31536000 0"
	[ "${lines[2]}" -ge 31536000 ] || fail "uptime ${lines[2]} is not offset"
}

@test "network: joining a namespace by path" {
	unshare --net sleep 1000 3>&- &
	holder=$!
	track_pid "$holder"
	for i in $(seq 100); do
		[ "$(ns_inode "$holder" net)" != "$(ns_inode $$ net)" ] && break
		sleep 0.02
	done
	add_namespace network "/proc/$holder/ns/net"
	inside_ns
	assert_equal "$(ns_of net)" "$(ns_inode "$holder" net)"
	# Only the container is gone; the namespace's holder is untouched.
	kill -0 "$holder"
}

@test "namespaces: a container joins another container's uts and network namespaces" {
	update_config '.hostname = "alpha"'
	set_args sleep 100
	create_container "$ID-a"
	pid=$(container_pid "$ID-a")

	make_bundle hostname
	update_config 'del(.hostname)'
	add_namespace uts "/proc/$pid/ns/uts"
	add_namespace network "/proc/$pid/ns/net"
	run runtime run --bundle "$BUNDLE" "$ID-b"
	assert_success
	assert_output alpha
}

@test "namespaces: a path to a namespace of another type fails and leaves nothing" {
	add_namespace network /proc/self/ns/uts
	run_detached runtime create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_error_names /proc/self/ns/uts
	assert_no_leftovers
}

@test "namespaces: without a mount namespace the container's mounts are the host's, and delete removes them" {
	update_config '.linux.namespaces = [] | del(.hostname) | .root.readonly = false'
	set_cmd 'cat /proc/self/mountinfo >/dev/null && ls /dev/null && sleep 100'
	run_container_detached
	[ "$(ns_inode "$(container_pid)" mnt)" = "$(ns_inode $$ mnt)" ] || fail "not in the host's mount namespace"
	grep -q " $BUNDLE/rootfs/proc " /proc/self/mountinfo || fail "the container's /proc is not a host mount"
	run runtime delete --force "$ID"
	assert_success
	grep -q " $BUNDLE/rootfs/" /proc/self/mountinfo && fail "mounts left under the rootfs:" "$(grep " $BUNDLE/rootfs/" /proc/self/mountinfo)"
	assert_no_leftovers
}

@test "namespaces: without a mount namespace a failed create leaves no host mount" {
	update_config '.linux.namespaces = [] | del(.hostname) | .root.readonly = false'
	set_args /nope
	run_detached runtime create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains /nope
	grep -q " $BUNDLE/rootfs/" /proc/self/mountinfo && fail "mounts left under the rootfs"
	assert_no_leftovers
}
