#!/usr/bin/env bats
# berth network create, ls, inspect, rm, prune: the records and the CLI.
# Containers here are only created, never started: their interfaces, the
# bridges, connect and disconnect are in the container tests, the address
# leases in network_store_test.cpp. Every test has its own --root.
# check-cgroupv2: not needed (no cgroup is involved; the host runs these)

# shellcheck disable=SC2154
load helpers
load manager

# Each berth runs in a network namespace made for that one command: rm and
# prune remove the bridge berthN and the nftables rules of the networks they
# remove, and those names are not this --root's alone (a berth on the host
# may have a berth1 as well).
berth() {
	unshare --net "$BERTH" --root "$ROOT" ${RUNROOT:+--runroot "$RUNROOT"} "$@"
}

setup_file() {
	make_busybox_image
}

setup() {
	manager_setup
}

teardown() {
	if [ -n "${RUNROOT:-}" ]; then
		container_teardown
		assert_no_container_leftovers
	else
		assert_root_empty
	fi
}

# network_json NETWORK FILTER: jq FILTER applied to the network's inspect object.
network_json() {
	berth network inspect "$1" | jq -c ".[0] | $2"
}

@test "network ls: the default network bridge is always there and cannot be removed" {
	run berth network ls -q
	assert_success
	assert_output "bridge"
	run berth network ls
	assert_success
	[ "${lines[0]}" = "NETWORK ID    NAME        DRIVER" ] || fail "header: ${lines[0]}"
	[[ ${lines[1]} =~ ^[0-9a-f]{12}\ {2}bridge\ {6}bridge$ ]] || fail "row: ${lines[1]}"
	[ "${#lines[@]}" -eq 2 ] || fail "more than the default network:" "$output"
	run berth network inspect bridge
	assert_success
	[ "$(jq -r '.[0].network_interface' <<<"$output")" = berth0 ]
	[ "$(jq -c '.[0].subnets' <<<"$output")" = '[{"subnet":"10.88.0.0/16","gateway":"10.88.0.1"}]' ]
	[ "$(jq -r '.[0].id' <<<"$output")" = "$(berth network ls --no-trunc | awk '$2 == "bridge" {print $1}')" ]
	[[ $(jq -r '.[0].id' <<<"$output") =~ ^[0-9a-f]{64}$ ]] || fail "id: $output"
	run berth network rm bridge
	assert_failure 125
	assert_output "berth: network bridge is the default network and cannot be removed"
	run berth network rm -f "$(berth network ls --format json -f name=bridge | jq -r '.[0].id' | cut -c1-12)"
	assert_failure 125
	assert_output "berth: network bridge is the default network and cannot be removed"
	run berth network ls -q
	assert_output "bridge"
}

@test "network ls: BERTH_DEFAULT_SUBNET sets the default network's subnet when it is first used, not later" {
	BERTH_DEFAULT_SUBNET=172.30.0.0/24 berth network ls >/dev/null
	run network_json bridge .subnets
	assert_output '[{"subnet":"172.30.0.0/24","gateway":"172.30.0.1"}]'
	BERTH_DEFAULT_SUBNET=172.31.0.0/24 berth network ls >/dev/null
	run network_json bridge .subnets
	assert_output '[{"subnet":"172.30.0.0/24","gateway":"172.30.0.1"}]'
}

@test "network create: printed, listed, inspected like podman's, found by id and id prefix, removed" {
	run berth network create -l app=web -l tier net1
	assert_success
	assert_output "net1"
	run berth network ls -q
	assert_output "bridge
net1"
	run berth network inspect net1
	assert_success
	[ "$(jq length <<<"$output")" = 1 ]
	[ "$(jq -r '.[0].name' <<<"$output")" = net1 ]
	[ "$(jq -r '.[0].driver' <<<"$output")" = bridge ]
	[ "$(jq -r '.[0].network_interface' <<<"$output")" = berth1 ]
	[ "$(jq -c '.[0].subnets' <<<"$output")" = '[{"subnet":"10.89.0.0/24","gateway":"10.89.0.1"}]' ]
	[ "$(jq -r '.[0].ipv6_enabled' <<<"$output")" = false ]
	[ "$(jq -r '.[0].internal' <<<"$output")" = false ]
	[ "$(jq -r '.[0].dns_enabled' <<<"$output")" = false ]
	[ "$(jq -c '.[0].labels' <<<"$output")" = '{"app":"web","tier":""}' ]
	[ "$(jq -c '.[0].options' <<<"$output")" = '{}' ]
	[ "$(jq -c '.[0].containers' <<<"$output")" = '{}' ]
	[[ $(jq -r '.[0].created' <<<"$output") == 20*Z ]] || fail "created: $output"
	local id
	id=$(jq -r '.[0].id' <<<"$output")
	[[ $id =~ ^[0-9a-f]{64}$ ]] || fail "id: $id"
	run network_json "$id" .name
	assert_output '"net1"'
	run network_json "${id:0:3}" .name
	assert_output '"net1"'
	run berth network rm "${id:0:12}"
	assert_success
	assert_output "${id:0:12}"
	run berth network ls -q
	assert_output "bridge"
}

@test "network create: --internal, --ipv6, --subnet and --gateway show in inspect" {
	berth network create --internal --ipv6 a >/dev/null
	berth network create --subnet 192.168.50.0/24 --gateway 192.168.50.254 --subnet fd00:99::/64 b >/dev/null
	berth network create --subnet fd00:98::/64 --gateway fd00:98::fe c >/dev/null
	run berth network inspect a b c
	assert_success
	[ "$(jq -c '.[0].subnets' <<<"$output")" = '[{"subnet":"10.89.0.0/24","gateway":"10.89.0.1"},{"subnet":"fd00:4254::/64","gateway":"fd00:4254::1"}]' ]
	[ "$(jq -r '.[0].internal' <<<"$output")" = true ]
	[ "$(jq -r '.[0].ipv6_enabled' <<<"$output")" = true ]
	[ "$(jq -c '.[1].subnets' <<<"$output")" = '[{"subnet":"192.168.50.0/24","gateway":"192.168.50.254"},{"subnet":"fd00:99::/64","gateway":"fd00:99::1"}]' ]
	[ "$(jq -r '.[1].internal' <<<"$output")" = false ]
	[ "$(jq -r '.[1].ipv6_enabled' <<<"$output")" = true ]
	# Only an IPv6 subnet: an IPv6-only network.
	[ "$(jq -c '.[2].subnets' <<<"$output")" = '[{"subnet":"fd00:98::/64","gateway":"fd00:98::fe"}]' ]
	[ "$(jq -r '[.[].network_interface] | join(",")' <<<"$output")" = berth1,berth2,berth3 ]
	berth network rm a b c >/dev/null
}

@test "network create: picked subnets and bridges are distinct, also for creates at once" {
	local i pids=()
	for i in $(seq 8); do
		berth network create "n$i" >"$BATS_TEST_TMPDIR/out$i" 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || fail "a create failed:" "$(cat "$BATS_TEST_TMPDIR"/out*)"; done
	run berth network ls --format json
	assert_success
	[ "$(jq length <<<"$output")" = 9 ] || fail "not 9 networks:" "$output"
	# 10.89.0.0/24 to 10.89.7.0/24 and berth1 to berth8, each once.
	[ "$(jq -r '[.[] | select(.name != "bridge") | .subnets[0].subnet] | sort | join(" ")' <<<"$output")" = \
		"$(printf '10.89.%s.0/24\n' 0 1 2 3 4 5 6 7 | sort | xargs)" ] || fail "subnets:" "$output"
	[ "$(jq -r '[.[] | select(.name != "bridge") | .network_interface] | sort | join(" ")' <<<"$output")" = \
		"$(printf 'berth%s\n' 1 2 3 4 5 6 7 8 | sort | xargs)" ] || fail "bridges:" "$output"
	# A removed network's subnet and bridge, the lowest free ones, are picked again.
	local was
	was=$(network_json n3 '[.subnets[0].subnet, .network_interface]')
	berth network rm n3 >/dev/null
	berth network create again >/dev/null
	run network_json again '[.subnets[0].subnet, .network_interface]'
	assert_output "$was"
	berth network prune -f >/dev/null
}

@test "network ls: -q, --format json, --no-trunc, --filter" {
	berth network create -l app=web web1 >/dev/null
	berth network create -l app=db db1 >/dev/null
	run berth network ls
	assert_success
	[ "${#lines[@]}" -eq 4 ] || fail "$output"
	[[ ${lines[2]} =~ ^[0-9a-f]{12}\ {2}db1\ {9}bridge$ ]] || fail "row: ${lines[2]}"
	run berth network ls --format json
	assert_success
	[ "$(jq -r '[.[].name] | join(",")' <<<"$output")" = "bridge,db1,web1" ]
	[ "$(jq -r '.[2].labels.app' <<<"$output")" = web ]
	[ "$(jq -r '.[2].network_interface' <<<"$output")" = berth1 ]
	[ "$(jq -r '.[2] | has("containers")' <<<"$output")" = false ]
	run berth network ls --no-trunc -f name=web
	[[ ${lines[1]} =~ ^[0-9a-f]{64}\ {2}web1\ {8}bridge$ ]] || fail "row: ${lines[1]}"
	run berth network ls -q -f name=web
	assert_output "web1"
	run berth network ls -q --filter label=app=db
	assert_output "db1"
	run berth network ls -q --filter label=app
	assert_output "db1
web1"
	run berth network ls -q -f name=web -f name=db
	assert_output "db1
web1"
	run berth network ls -q -f name=web -f label=app=db
	assert_output ""
	run berth network ls -q -f "id=$(network_json db1 .id | tr -d '"' | cut -c1-5)"
	assert_output "db1"
	run berth network ls -q -f driver=bridge
	assert_output "bridge
db1
web1"
	run berth network ls -q -f driver=macvlan
	assert_output ""
	run berth network ls -f bogus=1
	assert_failure 125
	assert_output 'berth: --filter "bogus": unknown filter (name, id, driver, label)'
	run berth network ls -f name
	assert_failure 125
	assert_output 'berth: --filter "name": want KEY=VALUE'
	run berth network ls --format yaml
	assert_failure 125
	assert_output 'berth: network ls: unsupported --format "yaml" (table or json)'
	run berth network ls extra
	assert_failure 125
	assert_output 'berth: network ls: unexpected argument: extra'
	berth network rm web1 db1 >/dev/null
}

@test "network create: a bad name is an error that leaves no database" {
	local name
	for name in -bad .x _x "a b" a/b container:x "$(printf 'a%.0s' $(seq 65))"; do
		run berth network create -- "$name"
		assert_failure 125
		assert_output "berth: invalid network name \"$name\": names are [a-zA-Z0-9][a-zA-Z0-9_.-]* (64 at most)"
	done
	[ ! -e "$ROOT" ] || [ -z "$(ls -A "$ROOT")" ] || fail "left in $ROOT: $(ls -A "$ROOT")"
}

@test "network create: errors name their cause, exit 125, and record nothing" {
	berth network create --subnet 10.90.0.0/16 taken >/dev/null
	local before r
	before=$(berth network ls --no-trunc)
	for r in bridge none host default; do
		run berth network create "$r"
		assert_failure 125
		assert_output "berth: network name \"$r\" is reserved"
	done
	run berth network create taken
	assert_failure 125
	assert_output "berth: network taken already exists"
	run berth network create --subnet 10.90.3.0/24 n
	assert_failure 125
	assert_output "berth: subnet 10.90.3.0/24 overlaps network taken (10.90.0.0/16)"
	run berth network create --subnet 10.88.1.0/24 n
	assert_failure 125
	assert_output "berth: subnet 10.88.1.0/24 overlaps network bridge (10.88.0.0/16)"
	run berth network create --subnet 10.1.2.3/33 n
	assert_failure 125
	assert_output 'berth: --subnet 10.1.2.3/33: "10.1.2.3/33": the prefix length must be 0 to 32'
	run berth network create --subnet 10.91.0.1/24 n
	assert_failure 125
	assert_output 'berth: --subnet 10.91.0.1/24: "10.91.0.1/24": host bits are set (did you mean 10.91.0.0/24?)'
	run berth network create --subnet nonsense n
	assert_failure 125
	assert_output 'berth: --subnet nonsense: "nonsense" is not a subnet (ADDRESS/PREFIX)'
	run berth network create --subnet 10.91.0.0/31 n
	assert_failure 125
	assert_output "berth: --subnet 10.91.0.0/31: subnet 10.91.0.0/31 is too small: a network needs 4 addresses at least (/30)"
	run berth network create --subnet 10.91.0.0/24 --subnet 10.92.0.0/24 n
	assert_failure 125
	assert_output "berth: --subnet 10.92.0.0/24: one subnet per address family (10.91.0.0/24 given already)"
	run berth network create --subnet 10.91.0.0/24 --gateway 10.92.0.1 n
	assert_failure 125
	assert_output "berth: --gateway 10.92.0.1: not in subnet 10.91.0.0/24"
	run berth network create --subnet 10.91.0.0/24 --gateway 10.91.0.0 n
	assert_failure 125
	assert_output "berth: --gateway 10.91.0.0: the network or broadcast address of 10.91.0.0/24 cannot be a gateway"
	run berth network create --subnet 10.91.0.0/24 --gateway 10.91.0.255 n
	assert_failure 125
	assert_output "berth: --gateway 10.91.0.255: the network or broadcast address of 10.91.0.0/24 cannot be a gateway"
	run berth network create --gateway 10.91.0.1 n
	assert_failure 125
	assert_output "berth: --gateway 10.91.0.1: needs a --subnet of its address family"
	run berth network create --ipv6 --subnet 10.91.0.0/24 --gateway fd00::1 n
	assert_failure 125
	assert_output "berth: --gateway fd00::1: needs a --subnet of its address family"
	run berth network create --subnet 10.91.0.0/24 --gateway nope n
	assert_failure 125
	assert_output 'berth: --gateway nope: "nope" is not an IP address'
	run berth network create --driver macvlan n
	assert_failure 125
	assert_output "berth: network driver macvlan is not supported (bridge)"
	run berth network create -d ipvlan n
	assert_failure 125
	assert_output "berth: network driver ipvlan is not supported (bridge)"
	run berth network create -o mtu=1400 n
	assert_failure 125
	assert_output "berth: network option mtu is not supported"
	run berth network create -o novalue n
	assert_failure 125
	assert_output 'berth: --opt "novalue": want KEY=VALUE'
	run berth network create -l =x n
	assert_failure 125
	assert_output 'berth: --label "=x": want KEY=VALUE'
	run berth network create
	assert_failure 125
	assert_output "berth: network create: give one NAME"
	run berth network create a b
	assert_failure 125
	assert_output "berth: network create: give one NAME"
	run berth network create --bogus n
	assert_failure 125
	assert_output_contains "--bogus"
	run berth network ls --no-trunc
	assert_output "$before"
	berth network rm taken >/dev/null
}

@test "network rm and inspect: a missing network is an error (rm: status 1), -f makes it none; the others are still done" {
	berth network create n1 >/dev/null
	berth network create n2 >/dev/null
	berth network create n3 >/dev/null
	run berth network inspect nope n1
	assert_failure 125
	assert_output_contains "berth: network nope not found"
	[ "$(jq -r '.[0].name' <<<"$(berth network inspect nope n1 2>/dev/null)")" = n1 ]
	run berth network rm nope n1
	assert_failure 1
	assert_output "berth: network nope not found
n1"
	run berth network rm -f nope n2
	assert_success
	assert_output "n2"
	# Any other error wins over a missing network.
	run berth network rm nope none n3
	assert_failure 125
	assert_output "berth: network nope not found
berth: network none is reserved and cannot be removed
n3"
	run berth network rm -f host
	assert_failure 125
	assert_output "berth: network host is reserved and cannot be removed"
	run berth network ls -q
	assert_output "bridge"
	run berth network rm
	assert_failure 125
	assert_output "berth: network rm: give one or more network names"
	run berth network inspect
	assert_failure 125
	assert_output "berth: network inspect: give one or more network names"
	run berth network frob
	assert_failure 125
	assert_output "berth: network: unknown subcommand: frob"
	run berth network
	assert_failure 125
	assert_output "berth: network: give a subcommand (create, ls, inspect, rm, prune, connect, disconnect, reload)"
}

@test "network rm: a network in use is an error (status 2) naming the container; -f removes its containers as rm -f does" {
	container_setup
	load_busybox
	berth network create appnet >/dev/null
	local web other
	web=$(berth create --name web --network appnet --network-alias www busybox sleep 100)
	other=$(berth create --name other --network bridge --network appnet --ip 10.88.9.9 busybox true)
	run berth network inspect appnet
	assert_success
	[ "$(jq -r ".[0].containers[\"$web\"].name" <<<"$output")" = web ]
	[ "$(jq -c ".[0].containers[\"$web\"].interfaces" <<<"$output")" = \
		'{"eth0":{"subnets":[{"ipnet":"10.89.0.2/24","gateway":"10.89.0.1"}],"aliases":["www"]}}' ]
	[ "$(jq -c ".[0].containers[\"$other\"].interfaces" <<<"$output")" = \
		'{"eth1":{"subnets":[{"ipnet":"10.89.0.3/24","gateway":"10.89.0.1"}],"aliases":[]}}' ]
	run network_json bridge ".containers[\"$other\"].interfaces.eth0.subnets[0].ipnet"
	assert_output '"10.88.9.9/16"'

	local before
	before=$(berth network ls --no-trunc)
	run berth network rm appnet
	assert_failure 2
	assert_output "berth: network appnet is in use by container $(
		[[ $web < $other ]] && echo web || echo other
	)"
	run berth network prune -f
	assert_success
	assert_output ""
	run berth network ls --no-trunc
	assert_output "$before"
	run berth ps -aq
	[ "${#lines[@]}" -eq 2 ] || fail "containers went:" "$output"

	# The one without -f removes nothing; a missing one beside it: still 2.
	run berth network rm nope appnet
	assert_failure 2
	run berth network rm -f appnet
	assert_success
	assert_output "appnet"
	run berth ps -aq
	assert_output ""
	run berth network ls -q
	assert_output "bridge"
	assert_no_container_leftovers "$web" "$other"
}

@test "network prune: the unused user networks, asks without -f; the default network stays" {
	berth network create p1 >/dev/null
	berth network create p2 >/dev/null
	run berth network prune <<<"n"
	assert_success
	assert_output "WARNING! This will remove all networks not used by at least one container.
Are you sure you want to continue? [y/N] "
	run berth network ls -q
	assert_output "bridge
p1
p2"
	run berth network prune <<<"y"
	assert_success
	assert_output_contains "p1
p2"
	run berth network ls -q
	assert_output "bridge"
	run berth network prune -f
	assert_success
	assert_output ""
	run berth network prune -f extra
	assert_failure 125
	assert_output "berth: network prune: unexpected argument: extra"
}
