#!/usr/bin/env bats
# The container tests' harness (manager.bash) can fail: each leftover check
# finds what it is there to find. A network namespace of the test's own is
# the only place these tests touch: a veth, an nftables table and a process
# are made in it and removed again.
# check-cgroupv2: not needed (no cgroup is involved)

# shellcheck disable=SC2154
load helpers
load manager

setup() {
	manager_setup
	container_setup
}

teardown() {
	container_teardown
}

@test "harness: berth, in_netns and BERTH_NS run in the test's network namespace, not the host's" {
	local ns
	ns="net:[$(stat -L -c %i "$RUNROOT.net")]"
	assert_equal "$(in_netns readlink /proc/self/ns/net)" "$ns"
	[ "$ns" != "$(readlink /proc/self/ns/net)" ] || fail "the test's netns is the host's"
	run bash -c "$BERTH_NS readlink /proc/self/ns/net"
	assert_output "$ns"
	run in_netns ip -o link show
	[ "${#lines[@]}" -eq 1 ] || fail "links other than lo:" "$output"
	assert_output_contains ": lo: " "UP"
}

@test "harness: a veth left in the test's netns is found" {
	in_netns ip link add bt-a type veth peer name bt-b
	run assert_no_container_leftovers
	assert_failure
	assert_output_contains "veth bt-a" "veth bt-b"
	in_netns ip link del bt-a
	run assert_no_container_leftovers
	assert_success
}

@test "harness: a rule with the comment ctr:ID is found, for the ids given or any" {
	in_netns nft add table inet berth
	in_netns nft add chain inet berth pre '{ type nat hook prerouting priority -100; }'
	in_netns nft add rule inet berth pre tcp dport 8080 dnat ip to 10.88.0.2:80 comment '"ctr:abc123"'
	run assert_no_container_leftovers
	assert_failure
	assert_output_contains "nft rule:" "ctr:abc123"
	run assert_no_container_leftovers abc
	assert_failure
	assert_output_contains "ctr:abc123"
	run assert_no_container_leftovers not-an-id-xyz
	assert_success
	in_netns nft delete table inet berth
}

@test "harness: a process left in the test's netns fails teardown and is killed" {
	nsenter --net="$RUNROOT.net" sleep 1000 &
	local pid=$!
	run container_teardown
	assert_failure
	assert_output_contains "process in the test's netns: $pid sleep 1000"
	wait "$pid" 2>/dev/null || true
	! kill -0 "$pid" 2>/dev/null || fail "sleep $pid still runs"
	[ ! -e "$RUNROOT.net" ] || fail "$RUNROOT.net is still there"
}

@test "harness: a network namespace bind-mounted under \$RUNROOT/netns is found, and teardown unmounts it" {
	# As berth's make_netns leaves one: a file under RUNROOT/netns with a
	# network namespace (the test's own here) bind-mounted on it.
	mkdir -p "$RUNROOT/netns"
	touch "$RUNROOT/netns/bt-ns"
	mount --bind "$RUNROOT.net" "$RUNROOT/netns/bt-ns"
	run assert_no_container_leftovers
	assert_failure
	assert_output_contains "netns bind mount: $RUNROOT/netns/bt-ns"
	run container_teardown
	assert_failure
	assert_output_contains "netns bind mount: $RUNROOT/netns/bt-ns"
	! grep -qF " $RUNROOT/netns/" /proc/self/mountinfo || fail "still mounted:" "$(grep -F "$RUNROOT/netns/" /proc/self/mountinfo)"
	[ ! -e "$RUNROOT" ] || fail "$RUNROOT is still there"
}

# With the host's berth objects stubbed: one that was there at setup, one new.
_host_check_with_stubs() {
	# shellcheck disable=SC2317 # called by _leftover_host_network
	_host_berth_network() { printf 'host link berth9\nhost link berthold\n'; }
	_HOST_NET_BEFORE="host link berthold"
	_leftover_host_network
}

@test "harness: a berth* link on the host that was not there at setup is found" {
	run _host_check_with_stubs
	assert_output "host link berth9"
	run _leftover_host_network
	assert_output ""
}
