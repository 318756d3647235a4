#!/usr/bin/env bats
# berth's container networks: the default bridge berth0 (10.88.0.0/16),
# --network none, host, container:NAME and user networks (berth network
# create/connect/disconnect), published ports (-p, -P, berth port) through
# nftables, /etc/hosts and /etc/resolv.conf, isolation, --internal, IPv6,
# bad values refused with nothing left behind.
#
# Every test runs in a network namespace of its own (container_setup, in
# manager.bash): the bridges, veths and `table inet berth` berth makes live
# there, and all traffic stays in it (127.0.0.1, the bridges' subnets). No
# test looks a name up through DNS: the names are in /etc/hosts, and the
# containers that resolve names get --dns 127.0.0.1 so that a miss asks
# their own lo.
# check-cgroupv2: not needed (no cgroup is involved in networking)

# shellcheck disable=SC2154
load helpers
load manager

setup_file() {
	make_busybox_image
	# busybox nc cannot listen on UDP: a static echo server and client.
	cat >"$BATS_FILE_TMPDIR/udpecho.c" <<'C'
/* udpecho serve PORT: answers each datagram with "echo:" and the datagram.
 * udpecho send ADDRESS PORT TEXT: sends TEXT, prints the answer (2 s at most). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
int main(int argc, char **argv) {
	char buf[512];
	if (argc == 3 && strcmp(argv[1], "serve") == 0) {
		int fd = socket(AF_INET, SOCK_DGRAM, 0);
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0) { perror("bind"); return 1; }
		printf("ready\n");
		fflush(stdout);
		for (;;) {
			struct sockaddr_in from;
			socklen_t len = sizeof from;
			ssize_t n = recvfrom(fd, buf + 5, sizeof buf - 5, 0, (struct sockaddr *)&from, &len);
			if (n < 0) continue;
			memcpy(buf, "echo:", 5);
			sendto(fd, buf, n + 5, 0, (struct sockaddr *)&from, len);
		}
	}
	if (argc == 5 && strcmp(argv[1], "send") == 0) {
		int fd = socket(AF_INET, SOCK_DGRAM, 0);
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[3]))};
		struct timeval tv = {.tv_sec = 2};
		if (fd < 0 || inet_pton(AF_INET, argv[2], &a.sin_addr) != 1) { fprintf(stderr, "bad address\n"); return 2; }
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		if (sendto(fd, argv[4], strlen(argv[4]), 0, (struct sockaddr *)&a, sizeof a) < 0) { perror("sendto"); return 1; }
		ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
		if (n < 0) { perror("recv"); return 1; }
		buf[n] = 0;
		printf("%s\n", buf);
		return 0;
	}
	fprintf(stderr, "usage: udpecho serve PORT | send ADDRESS PORT TEXT\n");
	return 2;
}
C
	mkdir -p "$BATS_FILE_TMPDIR/bin"
	gcc -static -O1 -o "$BATS_FILE_TMPDIR/bin/udpecho" "$BATS_FILE_TMPDIR/udpecho.c"
}

setup() {
	manager_setup
	container_setup
	load_busybox
}

teardown() {
	container_teardown
}

# The web server of these tests, as a container's command: `sh -c "$WEB" NAME`
# serves "served-by-NAME" on ports 80 and 81 (busybox httpd, which listens
# before it goes to the background), logs "ready", and exits on SIGTERM.
# shellcheck disable=SC2016 # expanded by the container's sh
WEB='trap "exit 0" TERM; mkdir -p /www; echo "served-by-$0" >/www/index.html
httpd -p 80 -h /www && httpd -p 81 -h /www || exit 1
echo ready; sleep 1000 & wait'

# run_web NAME [RUN-FLAGS...]: a detached web container (image $WEB_IMAGE,
# default busybox), once it serves; prints its id.
run_web() {
	local name=$1 id
	shift
	id=$(berth run -d --name "$name" "$@" "${WEB_IMAGE:-busybox}" sh -c "$WEB" "$name") ||
		fail "run_web $name failed: $id" || return 1
	wait_for_log "$name" ready >&2 || return 1
	echo "$id"
}

# run_sleeper NAME [RUN-FLAGS...]: a detached container that sleeps (and
# looks names up in /etc/hosts only: --dns 127.0.0.1); prints its id.
run_sleeper() {
	local name=$1
	shift
	berth run -d --name "$name" --dns 127.0.0.1 "$@" busybox sleep 1000
}

# inspect_net CONTAINER NETWORK FIELD: .NetworkSettings.Networks.NETWORK.FIELD
inspect_net() {
	berth inspect "$1" | jq -r --arg n "$2" --arg f "$3" '.[0].NetworkSettings.Networks[$n][$f]'
}

# ip_of CONTAINER [NETWORK]: its IPv4 address on NETWORK (default: bridge).
ip_of() {
	inspect_net "$1" "${2:-bridge}" IPAddress
}

# netns_get URL [SECONDS]: the page at URL, fetched from the test's network
# namespace (5 s at most). (busybox 1.35's wget -T crashes: timeout instead.)
netns_get() {
	in_netns timeout "${2:-5}" busybox wget -q -O- "$1"
}

# veths: the names of the veths in the test's network namespace.
veths() {
	in_netns ip -o link show type veth | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'
}

# wait_veths N: until the test's network namespace has N veths (5 s at most:
# the kernel deletes a pair asynchronously once a container's namespace is
# gone).
wait_veths() {
	local i n
	for i in $(seq 50); do
		n=$(veths | wc -l)
		[ "$n" -eq "$1" ] && return 0
		sleep 0.1
	done
	fail "expected $1 veths in the test's netns, found $n:" "$(veths)"
}

# rule_ids: the container ids that the comments of table inet berth name
# (sorted, one a line; nothing when there is no table).
rule_ids() {
	{ in_netns nft list table inet berth 2>/dev/null || true; } |
		grep -o '"ctr:[0-9a-f]*"' | tr -d '"' | cut -d: -f2 | sort -u
}

# rules_of ID: how many rules carry the comment ctr:ID.
rules_of() {
	{ in_netns nft list table inet berth 2>/dev/null || true; } | grep -cF "\"ctr:$1\"" || true
}

# wait_rules ID N: until N rules carry ctr:ID (5 s at most), N being 0 or
# "some".
wait_rules() {
	local i n
	for i in $(seq 50); do
		n=$(rules_of "$1")
		case $2 in
		0) [ "$n" -eq 0 ] && return 0 ;;
		some) [ "$n" -gt 0 ] && return 0 ;;
		esac
		sleep 0.1
	done
	fail "container $1: $n nftables rules, expected $2:" "$(in_netns nft list table inet berth 2>&1)"
}

# wait_get URL TEXT: until the page at URL (from the test's network
# namespace) is TEXT, 10 s at most: a container that was just started may
# not listen yet.
wait_get() {
	local i out
	for i in $(seq 50); do
		out=$(netns_get "$1" 2>&1) && [ "$out" = "$2" ] && return 0
		sleep 0.2
	done
	fail "$1 never served '$2'; last answer:" "$out"
}

# netns_mount_ids: the container ids whose network namespace is
# bind-mounted under $RUNROOT/netns (sorted, one a line).
netns_mount_ids() {
	_netns_mount_points | xargs -r -n1 basename | sort
}

# make_gated_runtime: $GATE/runtime, berth-runtime but for its create, which
# waits while $GATE/hold exists (touching $GATE/in-create) and then fails
# when $GATE/fail exists: a start held where its shim runs the runtime.
make_gated_runtime() {
	GATE=$BATS_TEST_TMPDIR/gate
	mkdir -p "$GATE"
	cat >"$GATE/runtime" <<EOF
#!/bin/sh
for a in "\$@"; do
	[ "\$a" = create ] || continue
	[ -e "$GATE/hold" ] || break
	touch "$GATE/in-create"
	while [ -e "$GATE/hold" ]; do sleep 0.05; done
	[ ! -e "$GATE/fail" ] || { echo "gated create fails" >&2; exit 1; }
	break
done
exec "$RUNTIME" "\$@"
EOF
	chmod +x "$GATE/runtime"
}

# start_killed_in_create NAME: `berth start NAME` SIGKILLed while its shim
# runs the gated runtime's create, i.e. after berth made the network
# namespace, the veths and the port rules, and before it recorded a start.
start_killed_in_create() {
	local pid i
	rm -f "$GATE/in-create"
	touch "$GATE/hold"
	# nsenter execs berth: $! is berth's pid.
	nsenter --net="$RUNROOT.net" "$BERTH" --root "$ROOT" --runroot "$RUNROOT" start "$1" >/dev/null 2>&1 &
	pid=$!
	for i in $(seq 200); do
		[ -e "$GATE/in-create" ] && break
		sleep 0.05
	done
	[ -e "$GATE/in-create" ] || fail "the runtime's create never ran" || return 1
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
}

# assert_berth_error TEXT: the last `run --separate-stderr` exited 125 and
# wrote one line on stderr, "berth: ..." with TEXT in it, nothing on stdout.
assert_berth_error() {
	[ "$status" -eq 125 ] || fail "expected status 125, got $status; stdout: $output" "stderr: $stderr" || return 1
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "expected one line on stderr, got:" "$stderr" || return 1
	[[ $stderr == "berth: "* ]] || fail "stderr does not start with 'berth: ':" "$stderr" || return 1
	[[ $stderr == *"$1"* ]] || fail "stderr does not contain '$1':" "$stderr" || return 1
	[ -z "$output" ] || fail "expected nothing on stdout, got:" "$output"
}

# assert_only_containers NAME...: berth ps -a lists exactly these names.
assert_only_containers() {
	local want got
	want=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
	got=$(berth ps -a --format '{{.Names}}' | sort)
	[ "$got" = "$want" ] || fail "containers: expected '$want', got '$got'"
}

# listen_in_netns PORT: a TCP listener on PORT in the test's network
# namespace (busybox nc), once it listens; its pid in LISTENER.
listen_in_netns() {
	local i
	# nsenter, not in_netns: $! must be nc's pid, not a subshell's.
	nsenter --net="$RUNROOT.net" busybox nc -l -p "$1" >/dev/null 2>&1 </dev/null &
	LISTENER=$!
	for i in $(seq 100); do
		[ -n "$(in_netns ss -Hltn "sport = :$1")" ] && return 0
		sleep 0.05
	done
	fail "nc never listened on port $1"
}

stop_listener() {
	[ -z "${LISTENER:-}" ] || { kill "$LISTENER" 2>/dev/null; wait "$LISTENER" 2>/dev/null; } || true
	LISTENER=
}

# ---------------------------------------------------------------------------
# The default bridge.

@test "default bridge: eth0 on berth0 in 10.88.0.0/16, default route via 10.88.0.1, lo up; the host reaches the container" {
	run berth run --rm busybox sh -c 'ip -o addr show; ip route'
	assert_success
	assert_output_contains "lo    inet 127.0.0.1/8" "default via 10.88.0.1 dev eth0"
	[[ $output =~ eth0\ +inet\ 10\.88\.[0-9]+\.[0-9]+/16 ]] || fail "no 10.88.0.0/16 address on eth0:" "$output"
	run in_netns ip -o addr show dev berth0
	assert_success
	assert_output_contains "inet 10.88.0.1/16"
	# The --rm container's veth is gone.
	wait_veths 0

	local id ip
	id=$(run_web web)
	ip=$(ip_of web)
	[[ $ip == 10.88.* ]] || fail "inspect IPAddress: '$ip'"
	[ "$(berth inspect web | jq -r '.[0].NetworkSettings.IPAddress')" = "$ip" ] || fail "NetworkSettings.IPAddress is not $ip"
	[ "$(inspect_net web bridge Gateway)" = 10.88.0.1 ] || fail "Gateway: $(inspect_net web bridge Gateway)"
	[ "$(inspect_net web bridge IPPrefixLen)" = 16 ] || fail "IPPrefixLen: $(inspect_net web bridge IPPrefixLen)"
	[ "$(berth inspect web | jq -r '.[0].HostConfig.NetworkMode')" = bridge ] || fail "NetworkMode is not bridge"
	# Its veth is on the bridge while it runs.
	[ "$(in_netns ip -o link show master berth0 | wc -l)" -eq 1 ] || fail "veths on berth0:" "$(in_netns ip -o link show master berth0)"
	run netns_get "http://$ip/"
	assert_success
	assert_output "served-by-web"
	# inspect's MacAddress is eth0's.
	local mac
	mac=$(berth exec web cat /sys/class/net/eth0/address)
	[ "$(inspect_net web bridge MacAddress)" = "$mac" ] || fail "MacAddress: '$(inspect_net web bridge MacAddress)', eth0 has $mac"
	berth rm -f web
	assert_no_container_leftovers "$id"
}

@test "default bridge: an address that rm freed and a new container got is reached at once from the host and from peers" {
	# A peer keeps the bridge up (its carrier, and so the host's neighbour
	# cache) and talks to the address before and after.
	run_sleeper peer >/dev/null
	local id1 id2 ip
	id1=$(run_web web1)
	ip=$(ip_of web1)
	run netns_get "http://$ip/"
	assert_output "served-by-web1"
	run berth exec peer timeout 5 wget -q -O- "http://$ip/"
	assert_output "served-by-web1"
	berth rm -f web1 >/dev/null
	id2=$(run_web web2)
	# The lowest free address: the one web1 had.
	[ "$(ip_of web2)" = "$ip" ] || fail "web2 got $(ip_of web2), not the lowest free address $ip"
	run netns_get "http://$ip/"
	assert_success
	assert_output "served-by-web2"
	run berth exec peer timeout 5 wget -q -O- "http://$ip/"
	assert_success
	assert_output "served-by-web2"
	berth rm -f web2 peer >/dev/null
	assert_no_container_leftovers "$id1" "$id2"
}

@test "default bridge: containers get no names of their peers (docker's rule); the own name and host-gateway are there" {
	run_sleeper peer1 >/dev/null
	run berth run --rm --name self -h selfhost --add-host gw:host-gateway busybox cat /etc/hosts
	assert_success
	assert_output_not_contains peer1
	[[ $output =~ (^|$'\n')127\.0\.0\.1[[:space:]]+localhost ]] || fail "no localhost line:" "$output"
	[[ $output =~ (^|$'\n')10\.88\.[0-9.]+[[:space:]][^$'\n']*selfhost ]] || fail "no line for its own address and hostname:" "$output"
	[[ $output =~ (^|$'\n')10\.88\.[0-9.]+[[:space:]][^$'\n']*self($|[[:space:]]) ]] || fail "no line for its own address and name:" "$output"
	[[ $output =~ (^|$'\n')10\.88\.0\.1[[:space:]]+gw($|$'\n') ]] || fail "no gw line for host-gateway:" "$output"
	berth rm -f peer1
	assert_no_container_leftovers
}

# ---------------------------------------------------------------------------
# none, host, container:NAME.

@test "--network none: lo only, and no veth on the host" {
	run_sleeper alone --network none >/dev/null
	run berth exec alone ip -o link show
	assert_success
	[ "${#lines[@]}" -eq 1 ] || fail "links other than lo:" "$output"
	assert_output_contains ": lo: " "UP"
	run veths
	assert_output ""
	[ "$(berth inspect alone | jq -r '.[0].HostConfig.NetworkMode')" = none ] || fail "NetworkMode is not none"
	berth rm -f alone
	assert_no_container_leftovers
}

@test "--network host: the host's network namespace and /etc/hosts" {
	# Something only this test's "host" has: a bridge of its own.
	in_netns ip link add bt-br0 type bridge
	run berth run --rm --network host busybox sh -c 'readlink /proc/self/ns/net; ip -o link show'
	assert_success
	[ "${lines[0]}" = "net:[$(stat -L -c %i "$RUNROOT.net")]" ] || fail "not in the test's netns: ${lines[0]}"
	assert_output_contains "bt-br0"
	run berth run --rm --network host busybox cat /etc/hosts
	assert_success
	assert_output "$(cat /etc/hosts)"
	in_netns ip link del bt-br0
	run veths
	assert_output ""
	assert_no_container_leftovers
}

@test "--network container:NAME: joins a running container's network namespace" {
	run_sleeper first >/dev/null
	local ns ip
	ns=$(berth exec first readlink /proc/self/ns/net)
	ip=$(ip_of first)
	run berth run --rm --network container:first busybox sh -c 'readlink /proc/self/ns/net; ip -4 -o addr show eth0'
	assert_success
	assert_equal "${lines[0]}" "$ns"
	assert_output_contains "inet $ip/16"
	# No second veth for the joiner.
	wait_veths 1
	# Its hosts and resolv.conf are the joined container's.
	run berth run --rm --network container:first busybox cat /etc/hosts /etc/resolv.conf
	assert_success
	assert_output "$(berth exec first cat /etc/hosts /etc/resolv.conf)"
	run --separate-stderr berth run -d --network container:nosuch busybox true
	assert_berth_error nosuch
	assert_only_containers first
	berth rm -f first
	assert_no_container_leftovers
}

# ---------------------------------------------------------------------------
# Published ports.

@test "-p 127.0.0.1:8080:80 and -p 8081:80: reached from 127.0.0.1 and the bridge address; berth port; inspect" {
	local id
	id=$(run_web web -p 127.0.0.1:8080:80 -p 8081:80)
	run netns_get http://127.0.0.1:8080/
	assert_success
	assert_output "served-by-web"
	run netns_get http://127.0.0.1:8081/
	assert_output "served-by-web"
	run netns_get http://10.88.0.1:8081/
	assert_output "served-by-web"
	# Bound to 127.0.0.1: not on the bridge's address.
	run netns_get http://10.88.0.1:8080/ 2
	assert_failure

	run berth port web
	assert_success
	assert_output_contains "80/tcp -> 127.0.0.1:8080" "80/tcp -> 0.0.0.0:8081"
	[ "${#lines[@]}" -eq 2 ] || fail "berth port:" "$output"
	run berth port web 80/tcp
	assert_success
	assert_output_contains "127.0.0.1:8080" "0.0.0.0:8081"
	run berth port web 82
	assert_failure
	assert_output_contains "82/tcp"

	run berth inspect web
	assert_success
	run jq -c '.[0].NetworkSettings.Ports["80/tcp"] | sort_by(.HostPort)' <<<"$output"
	assert_output '[{"HostIp":"127.0.0.1","HostPort":"8080"},{"HostIp":"0.0.0.0","HostPort":"8081"}]'
	run berth inspect web
	run jq -c '.[0].HostConfig.PortBindings["80/tcp"] | length' <<<"$output"
	assert_output 2
	berth rm -f web
	assert_no_container_leftovers "$id"
}

@test "published ports: another container reaches them through the gateway's address" {
	local id
	id=$(run_web web -p 8081:80)
	run berth run --rm busybox timeout 5 wget -q -O- http://10.88.0.1:8081/
	assert_success
	assert_output "served-by-web"
	berth rm -f web
	assert_no_container_leftovers "$id"
}

@test "-p ranges: 8000-8001:80-81 publishes both ports" {
	local id
	id=$(run_web web -p 127.0.0.1:8000-8001:80-81)
	run netns_get http://127.0.0.1:8000/
	assert_output "served-by-web"
	run netns_get http://127.0.0.1:8001/
	assert_output "served-by-web"
	run berth port web
	assert_output_contains "80/tcp -> 127.0.0.1:8000" "81/tcp -> 127.0.0.1:8001"
	berth rm -f web
	assert_no_container_leftovers "$id"
}

@test "published ports: the rules (ctr:ID) go when the container stops or exits and come back when it starts" {
	local id
	id=$(run_web web -p 127.0.0.1:8080:80)
	[ "$(rules_of "$id")" -gt 0 ] || fail "no rule with ctr:$id:" "$(in_netns nft list table inet berth 2>&1)"
	berth stop web
	wait_rules "$id" 0
	run netns_get http://127.0.0.1:8080/ 2
	assert_failure
	berth start web
	# (The log still has the first run's "ready": wait for an answer.)
	wait_rules "$id" some
	wait_get http://127.0.0.1:8080/ "served-by-web"
	run berth port web
	assert_output "80/tcp -> 127.0.0.1:8080"

	# A container that exits by itself.
	local brief
	brief=$(berth run -d --name brief -p 127.0.0.1:8090:80 busybox sh -c 'while [ ! -e /tmp/go ]; do sleep 0.1; done')
	wait_rules "$brief" some
	berth exec brief touch /tmp/go
	berth wait brief
	wait_rules "$brief" 0
	run berth port brief
	assert_output ""
	berth rm -f web brief
	assert_no_container_leftovers "$id" "$brief"
}

@test "network reload: the rules come back after the table was removed (a firewall reload); not for containers that do not run" {
	local id off
	id=$(run_web web -p 127.0.0.1:8080:80)
	off=$(berth create --name off -p 127.0.0.1:8091:80 busybox true)
	# What a firewall reload or `nft flush ruleset` does; the bridge stays.
	in_netns nft delete table inet berth
	run netns_get http://127.0.0.1:8080/ 2
	assert_failure
	run berth network reload --all
	assert_success
	assert_output "$id"
	run netns_get http://127.0.0.1:8080/
	assert_success
	assert_output "served-by-web"
	# The network's own rules (masquerade, isolation) are back too.
	in_netns nft list table inet berth | grep -qF '"net:bridge"' ||
		fail "no net:bridge rule:" "$(in_netns nft list table inet berth)"
	[ "$(rules_of "$off")" -eq 0 ] || fail "a created container got rules"
	# By name; again is no error and no duplicate.
	local before
	before=$(rules_of "$id")
	run berth network reload web
	assert_success
	assert_output "$id"
	[ "$(rules_of "$id")" -eq "$before" ] || fail "rules of web: $before, then $(rules_of "$id")"
	run --separate-stderr berth network reload off
	assert_berth_error "container off is not running"
	run --separate-stderr berth network reload
	assert_berth_error "give --all or one or more containers"
	berth rm -f web off
	assert_no_container_leftovers "$id" "$off"
}

@test "-P publishes every EXPOSE of the image on a free port; -p 80 too" {
	berth run --name base busybox true
	berth commit -c 'EXPOSE 80/tcp' -c 'EXPOSE 81' base localhost/exposed >/dev/null
	berth rm base
	local id port80 port81
	id=$(WEB_IMAGE=exposed run_web web -P)
	run berth port web
	assert_success
	[ "${#lines[@]}" -eq 2 ] || fail "berth port:" "$output"
	port80=$(berth port web 80/tcp)
	port81=$(berth port web 81)
	port80=${port80##*:}
	port81=${port81##*:}
	[[ $port80 =~ ^[1-9][0-9]*$ && $port81 =~ ^[1-9][0-9]*$ && $port80 != "$port81" ]] ||
		fail "ports: '$port80' '$port81':" "$output"
	run netns_get "http://127.0.0.1:$port80/"
	assert_output "served-by-web"
	run netns_get "http://127.0.0.1:$port81/"
	assert_output "served-by-web"
	run berth inspect web
	run jq -r '.[0].NetworkSettings.Ports["80/tcp"][0].HostPort' <<<"$output"
	assert_output "$port80"

	local id2 port
	id2=$(run_web web2 -p 80)
	port=$(berth port web2 80)
	port=${port##*:}
	[[ $port =~ ^[1-9][0-9]*$ && $port != "$port80" && $port != "$port81" ]] || fail "-p 80 gave port '$port'"
	run netns_get "http://127.0.0.1:$port/"
	assert_output "served-by-web2"
	berth rm -f web web2
	assert_no_container_leftovers "$id" "$id2"
}

@test "-p 127.0.0.1:5353:53/udp: UDP datagrams reach the container and come back" {
	local id i
	id=$(berth run -d --name udp -p 127.0.0.1:5353:53/udp -v "$BATS_FILE_TMPDIR/bin:/xbin:ro" busybox /xbin/udpecho serve 53)
	wait_for_log udp ready
	run in_netns "$BATS_FILE_TMPDIR/bin/udpecho" send 127.0.0.1 5353 hello-udp
	assert_success
	assert_output "echo:hello-udp"
	run in_netns "$BATS_FILE_TMPDIR/bin/udpecho" send "$(ip_of udp)" 53 direct
	assert_output "echo:direct"
	run berth port udp
	assert_output "53/udp -> 127.0.0.1:5353"
	# TCP 5353 is not published.
	run netns_get http://127.0.0.1:5353/ 2
	assert_failure
	berth rm -f udp
	assert_no_container_leftovers "$id"
}

@test "-p: a host port in use (a listener, another container's -p) is refused; nothing is left" {
	listen_in_netns 8080
	run --separate-stderr berth run -d --name web -p 8080:80 busybox sleep 100
	assert_berth_error "8080/tcp is already in use"
	stop_listener
	assert_only_containers
	wait_veths 0
	run rule_ids
	assert_output ""

	local a
	a=$(run_web first -p 8080:80)
	run --separate-stderr berth run -d --name second -p 8080:80 busybox sleep 100
	assert_berth_error "8080/tcp is already in use"
	run --separate-stderr berth run -d --name second -p 127.0.0.1:8080:80 busybox sleep 100
	assert_berth_error "8080/tcp is already in use"
	assert_only_containers first
	wait_veths 1
	run rule_ids
	assert_output "$a"
	run netns_get http://127.0.0.1:8080/
	assert_output "served-by-first"
	# The same number in UDP is another port.
	run_sleeper udp -p 8080:80/udp >/dev/null
	run berth port udp
	assert_output "80/udp -> 0.0.0.0:8080"
	berth rm -f first udp
	# Freed: the port can be published again.
	a=$(run_web a2 -p 8080:80)
	run netns_get http://127.0.0.1:8080/
	assert_output "served-by-a2"
	berth rm -f a2
	assert_no_container_leftovers
}

# ---------------------------------------------------------------------------
# User networks.

@test "user network: containers reach each other by name, alias and short id; disconnect cuts them, connect brings them back" {
	run berth network create appnet
	assert_success
	local web client ip
	web=$(run_web web --network appnet --network-alias www)
	client=$(run_sleeper client --network appnet)
	ip=$(ip_of web appnet)
	[ "$(berth inspect web | jq -r '.[0].HostConfig.NetworkMode')" = appnet ] || fail "NetworkMode is not appnet"
	run berth inspect web
	run jq -c '.[0].NetworkSettings.Networks.appnet.Aliases' <<<"$output"
	assert_output_contains '"www"'
	[ -n "$(inspect_net web appnet NetworkID)" ] || fail "no NetworkID"
	for name in web www "${web:0:12}" "$ip"; do
		run berth exec client timeout 5 wget -q -O- "http://$name/"
		assert_success
		assert_output "served-by-web"
	done
	# The peer's entry in the client's /etc/hosts, and the client's in the peer's.
	run berth exec client cat /etc/hosts
	assert_output_contains "$ip"
	[[ $output =~ (^|$'\n')${ip}[[:space:]][^$'\n']*web ]] || fail "no line '$ip ... web':" "$output"
	run berth exec web cat /etc/hosts
	assert_output_contains client

	run berth network disconnect appnet web
	assert_success
	run berth exec client cat /etc/hosts
	! grep -qw -e web -e www <<<"$output" || fail "web is still in the client's hosts:" "$output"
	! grep -q "^${ip//./\\.}[[:space:]]" <<<"$output" || fail "$ip is still in the client's hosts:" "$output"
	run berth exec web ip -o link show
	[ "${#lines[@]}" -eq 1 ] || fail "web still has links other than lo:" "$output"
	run berth exec client timeout 2 wget -q -O- "http://$ip/"
	assert_failure
	run berth inspect web
	run jq -c '.[0].NetworkSettings.Networks | keys' <<<"$output"
	assert_output '[]'
	wait_veths 1

	run berth network connect --alias www2 appnet web
	assert_success
	for name in web www2; do
		run berth exec client timeout 5 wget -q -O- "http://$name/"
		assert_success
		assert_output "served-by-web"
	done
	wait_veths 2
	berth rm -f web client
	# Not in use any more: the network and its bridge go.
	run berth network rm appnet
	assert_success
	run bash -c "$BERTH_NS ip -o link show type bridge | grep -v ': berth0:'"
	assert_output ""
	assert_no_container_leftovers "$web" "$client"
}

@test "stopped container: disconnected from its only network it starts with lo only; connected again it starts on it" {
	run berth network create stopnet
	assert_success
	run_sleeper quiet --network stopnet >/dev/null
	run berth stop -t 1 quiet
	assert_success
	run berth network disconnect stopnet quiet
	assert_success
	run berth start quiet
	assert_success
	run berth exec quiet ip -o link show
	assert_success
	[ "${#lines[@]}" -eq 1 ] || fail "links other than lo:" "$output"
	run berth stop -t 1 quiet
	assert_success
	run berth network connect stopnet quiet
	assert_success
	run berth start quiet
	assert_success
	run berth exec quiet ip -o link show eth0
	assert_success
	run berth exec quiet ip -o -4 addr show eth0
	assert_output_contains "inet "
	berth rm -f quiet
	run berth network rm stopnet
	assert_success
}

@test "user networks: --network A --network B gives eth0 and eth1; connect --ip --alias hot-plugs, disconnect unplugs" {
	berth network create --subnet 10.77.1.0/24 neta >/dev/null
	berth network create --subnet 10.77.2.0/24 --gateway 10.77.2.254 netb >/dev/null
	run berth run --rm --network neta --network netb busybox sh -c 'ip -4 -o addr show eth0; ip -4 -o addr show eth1; ip route'
	assert_success
	[[ ${lines[0]} =~ inet\ 10\.77\.1\.[0-9]+/24 ]] || fail "eth0:" "$output"
	[[ ${lines[1]} =~ inet\ 10\.77\.2\.[0-9]+/24 ]] || fail "eth1:" "$output"
	assert_output_contains "default via 10.77.1.1 dev eth0"
	# --gateway: the container's default route goes there, and the bridge has that address.
	run berth run --rm --network netb busybox ip route
	assert_success
	assert_output_contains "default via 10.77.2.254 dev eth0"
	run in_netns ip -o -4 addr show dev "$(berth network inspect netb | jq -r '.[0].network_interface')"
	assert_success
	assert_output_contains "inet 10.77.2.254/24"

	local hot
	hot=$(run_sleeper hot --network neta)
	run berth network connect --ip 10.77.2.50 --alias hotalias netb hot
	assert_success
	run berth exec hot ip -4 -o addr show eth1
	assert_success
	assert_output_contains "inet 10.77.2.50/24"
	[ "$(ip_of hot netb)" = 10.77.2.50 ] || fail "inspect netb IPAddress: $(ip_of hot netb)"
	[ "$(inspect_net hot netb Gateway)" = 10.77.2.254 ] || fail "inspect netb Gateway: $(inspect_net hot netb Gateway)"
	run berth run --rm --dns 127.0.0.1 --network netb busybox sh -c 'ping -c1 -W2 hotalias && ping -c1 -W2 hot'
	assert_success
	run berth network connect netb hot
	assert_failure 125
	assert_output_contains "already connected"

	run berth network disconnect netb hot
	assert_success
	run berth exec hot ip -o link show eth1
	assert_failure
	run berth inspect hot
	run jq -c '.[0].NetworkSettings.Networks | keys' <<<"$output"
	assert_output '["neta"]'
	run berth network disconnect netb hot
	assert_failure 125
	assert_output_contains "not connected"
	berth rm -f hot
	assert_no_container_leftovers "$hot"
}

@test "network disconnect of the network the published ports go to: they answer through the one left, no rule names the released address, the default route moves; none left: no rule; connect: back" {
	berth network create --subnet 10.77.6.0/24 neta >/dev/null
	berth network create --subnet 10.77.7.0/24 netb >/dev/null
	local id ipa ipb
	id=$(run_web web --network neta --network netb -p 127.0.0.1:8080:80 -p 8081:80)
	ipa=$(ip_of web neta)
	ipb=$(ip_of web netb)
	run in_netns nft list table inet berth
	assert_output_contains "to $ipa:80"
	run netns_get http://127.0.0.1:8080/
	assert_output "served-by-web"

	run berth network disconnect neta web
	assert_success
	run in_netns nft list table inet berth
	assert_output_not_contains "$ipa:"
	assert_output_contains "to $ipb:80"
	run netns_get http://127.0.0.1:8080/
	assert_success
	assert_output "served-by-web"
	run netns_get http://10.77.7.1:8081/
	assert_output "served-by-web"
	run berth exec web ip route
	assert_output_contains "default via 10.77.7.1 dev eth1"
	run berth port web
	assert_output_contains "80/tcp -> 127.0.0.1:8080" "80/tcp -> 0.0.0.0:8081"

	# No network left: no rule; the ports stay the container's.
	run berth network disconnect netb web
	assert_success
	wait_rules "$id" 0
	run berth port web
	assert_output_contains "80/tcp -> 127.0.0.1:8080"
	# Connected again: the rules go to its new (and only) interface.
	run berth network connect neta web
	assert_success
	wait_rules "$id" some
	ipa=$(ip_of web neta)
	run in_netns nft list table inet berth
	assert_output_contains "to $ipa:80"
	run netns_get http://127.0.0.1:8080/
	assert_output "served-by-web"
	run berth exec web ip route
	assert_output_contains "default via 10.77.6.1 dev eth0"
	berth rm -f web
	assert_no_container_leftovers "$id"
}

@test "after a reboot (bridge, table inet berth and the run root's boot id gone), start makes bridge and rules again; the published port answers" {
	berth network create --subnet 10.77.8.0/24 bootnet >/dev/null
	local id br
	id=$(run_web web --network bootnet -p 127.0.0.1:8080:80)
	br=$(berth network inspect bootnet | jq -r '.[0].network_interface')
	run berth stop -t 1 web
	assert_success
	# What a reboot takes: the bridge, the table, and the boot id on the run
	# root (a tmpfs), which tells berth the machine came up again.
	in_netns ip link del "$br"
	in_netns nft delete table inet berth
	rm "$RUNROOT/boot-id"
	run berth start web
	assert_success
	wait_get http://127.0.0.1:8080/ served-by-web
	run in_netns ip -o -4 addr show dev "$br"
	assert_output_contains "inet 10.77.8.1/24"
	run in_netns nft list table inet berth
	assert_output_contains '"net:bootnet"' "\"ctr:$id\""
	[ -s "$RUNROOT/boot-id" ] || fail "no boot id written again"
	berth rm -f web
	assert_no_container_leftovers "$id"
}

@test "user networks are isolated from each other; the host reaches both" {
	berth network create --subnet 10.77.1.0/24 neta >/dev/null
	berth network create --subnet 10.77.2.0/24 netb >/dev/null
	local ipa ipb
	run_web weba --network neta >/dev/null
	run_web webb --network netb >/dev/null
	run_sleeper ca --network neta >/dev/null
	run_sleeper cb --network netb >/dev/null
	ipa=$(ip_of weba neta)
	ipb=$(ip_of webb netb)
	# Each client reaches its own network's server...
	run berth exec ca timeout 5 wget -q -O- "http://$ipa/"
	assert_output "served-by-weba"
	run berth exec cb timeout 5 wget -q -O- "http://$ipb/"
	assert_output "served-by-webb"
	# ...and not the other's, by address (the name is not in its hosts).
	run berth exec ca timeout 2 wget -q -O- "http://$ipb/"
	assert_failure
	run berth exec cb timeout 2 wget -q -O- "http://$ipa/"
	assert_failure
	run berth exec ca cat /etc/hosts
	assert_output_not_contains webb
	# The default bridge is another network too. (Under a sh that waits:
	# timeout's SIGTERM is ignored by a pid 1 without a handler, and wget
	# would wait out the kernel's two minutes of SYN retries.)
	run berth run --rm busybox sh -c 'timeout 2 wget -q -O- "http://$0/" || exit 1' "$ipa"
	assert_failure
	run netns_get "http://$ipa/"
	assert_output "served-by-weba"
	run netns_get "http://$ipb/"
	assert_output "served-by-webb"
	berth rm -f weba webb ca cb
	assert_no_container_leftovers
}

@test "--internal network: no default route (a route lookup fails), peers on it still talk" {
	run berth network create --internal --subnet 10.77.3.0/24 inside
	assert_success
	run berth run --rm --network inside busybox ip route get 1.1.1.1
	assert_failure
	assert_output_contains "Network is unreachable"
	run berth run --rm --network inside busybox ip route
	assert_success
	assert_output_not_contains default
	run_web web --network inside >/dev/null
	run berth run --rm --dns 127.0.0.1 --network inside busybox timeout 5 wget -q -O- http://web/
	assert_success
	assert_output "served-by-web"
	# A container on an ordinary network has its default route.
	berth network create --subnet 10.77.4.0/24 outside >/dev/null
	run berth run --rm --network outside busybox ip route
	assert_output_contains "default via 10.77.4.1"
	# Connected to one, a running container of the internal network gets its default route from it.
	run_sleeper both --network inside >/dev/null
	run berth network connect outside both
	assert_success
	run berth exec both ip route
	assert_output_contains "default via 10.77.4.1 dev eth1"
	berth rm -f web both
	assert_no_container_leftovers
}

@test "IPv6: --ipv6 --subnet fd00:beef::/64; containers reach each other by IPv6 address; inspect" {
	run berth network create --ipv6 --subnet fd00:beef::/64 v6net
	assert_success
	local web i
	web=$(run_web web --network v6net --ip6 fd00:beef::10)
	[ "$(inspect_net web v6net GlobalIPv6Address)" = fd00:beef::10 ] || fail "GlobalIPv6Address: $(inspect_net web v6net GlobalIPv6Address)"
	[ "$(inspect_net web v6net GlobalIPv6PrefixLen)" = 64 ] || fail "GlobalIPv6PrefixLen: $(inspect_net web v6net GlobalIPv6PrefixLen)"
	[[ $(inspect_net web v6net IPv6Gateway) == fd00:beef::* ]] || fail "IPv6Gateway: $(inspect_net web v6net IPv6Gateway)"
	run berth exec web ip -6 -o addr show eth0
	assert_output_contains "fd00:beef::10/64"
	run_sleeper client --network v6net >/dev/null
	# Duplicate address detection may keep a new address tentative for a while.
	for i in $(seq 50); do
		run berth exec client timeout 2 wget -q -O- "http://[fd00:beef::10]/"
		[ "$status" -eq 0 ] && break
		sleep 0.2
	done
	assert_success
	assert_output "served-by-web"
	run netns_get "http://[fd00:beef::10]/"
	assert_output "served-by-web"
	berth rm -f web client
	assert_no_container_leftovers "$web"
}

# ---------------------------------------------------------------------------
# --ip, --dns*, --add-host.

@test "--ip, --dns, --dns-search, --dns-option, --add-host (host-gateway too): seen in the container and in inspect" {
	run berth run --rm --ip 10.88.7.7 busybox ip -4 -o addr show eth0
	assert_success
	assert_output_contains "inet 10.88.7.7/16"

	# The host's resolv.conf less its loopback nameservers.
	local want
	want=$(grep -E '^nameserver' /etc/resolv.conf | grep -vE '^nameserver[[:space:]]+(127\.|::1)' || true)
	run berth run --rm busybox cat /etc/resolv.conf
	assert_success
	assert_output_not_contains "nameserver 127." "nameserver ::1"
	if [ -n "$want" ]; then
		assert_equal "$(grep '^nameserver' <<<"$output")" "$want"
	fi

	berth run -d --name dns --dns 10.0.0.53 --dns-search example.test --dns-option ndots:2 \
		--add-host db:10.1.2.3 --add-host gw:host-gateway busybox sleep 1000 >/dev/null
	run berth exec dns cat /etc/resolv.conf
	assert_success
	[ "$(grep -c '^nameserver' <<<"$output")" -eq 1 ] || fail "resolv.conf:" "$output"
	assert_output_contains "nameserver 10.0.0.53" "search example.test" "options ndots:2"
	run berth exec dns cat /etc/hosts
	[[ $output =~ (^|$'\n')10\.1\.2\.3[[:space:]]+db($|$'\n') ]] || fail "no db line:" "$output"
	[[ $output =~ (^|$'\n')10\.88\.0\.1[[:space:]]+gw($|$'\n') ]] || fail "no gw line:" "$output"
	run berth inspect dns
	run jq -c '.[0].HostConfig.Dns' <<<"$output"
	assert_output '["10.0.0.53"]'
	run berth inspect dns
	run jq -r '.[0].HostConfig.ExtraHosts | join(" ")' <<<"$output"
	assert_output_contains db 10.1.2.3 gw host-gateway

	# host-gateway is the gateway of the container's first network.
	berth network create --subnet 10.77.5.0/24 --gateway 10.77.5.254 gwnet >/dev/null
	run berth run --rm --network gwnet --add-host gw:host-gateway busybox cat /etc/hosts
	[[ $output =~ (^|$'\n')10\.77\.5\.254[[:space:]]+gw($|$'\n') ]] || fail "no gw line:" "$output"
	berth rm -f dns
	assert_no_container_leftovers
}

@test "resolv.conf: a host with only loopback nameservers and no systemd-resolved file: the container gets none and berth warns, naming the file and --dns" {
	printf 'nameserver 127.0.0.53\nsearch lan\n' >"$BATS_TEST_TMPDIR/resolv.conf"
	# Such a host, in a mount namespace of berth's own: the host's files stay as they are.
	local host_files='mount --bind "$1" /etc/resolv.conf || exit 1
		if [ -d /run/systemd/resolve ]; then mount -t tmpfs none /run/systemd/resolve || exit 1; fi
		shift; exec "$@"'
	run --separate-stderr unshare -m --propagation private sh -c "$host_files" _ "$BATS_TEST_TMPDIR/resolv.conf" \
		nsenter --net="$RUNROOT.net" "$BERTH" --root "$ROOT" --runroot "$RUNROOT" run --rm busybox cat /etc/resolv.conf
	assert_success
	assert_output "search lan"
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "expected one line on stderr:" "$stderr"
	[[ $stderr == *'level=warning msg="/etc/resolv.conf has no nameserver but loopback ones'*'give one with --dns"' ]] ||
		fail "stderr:" "$stderr"
	run --separate-stderr unshare -m --propagation private sh -c "$host_files" _ "$BATS_TEST_TMPDIR/resolv.conf" \
		nsenter --net="$RUNROOT.net" "$BERTH" --root "$ROOT" --runroot "$RUNROOT" run --rm --dns 10.0.0.53 busybox cat /etc/resolv.conf
	assert_success
	assert_output $'search lan\nnameserver 10.0.0.53'
	[ -z "$stderr" ] || fail "a warning with --dns:" "$stderr"
	assert_no_container_leftovers
}

@test "bad values are refused (125, one line naming the value) and nothing is left" {
	local v
	run --separate-stderr berth run -d --network NOPE busybox sleep 100
	assert_berth_error "network NOPE not found"
	for v in 99999:80 abc 80/sctp 127.0.0.1:8080:0 999.1.1.1:8080:80; do
		run --separate-stderr berth run -d -p "$v" busybox sleep 100
		assert_berth_error "$v"
	done
	run --separate-stderr berth run -d --network none -p 8080:80 busybox sleep 100
	assert_berth_error "--network none"
	run --separate-stderr berth run -d -p '[::1]:8080:80' busybox sleep 100
	assert_berth_error "::1 cannot be published"
	run --separate-stderr berth run -d --ip 10.99.0.5 busybox sleep 100
	assert_berth_error "is not in network"
	run --separate-stderr berth run -d --ip 10.88.0.1 busybox sleep 100
	assert_berth_error "10.88.0.1"
	assert_only_containers
	wait_veths 0

	local a
	a=$(run_sleeper holder --ip 10.88.3.3)
	run --separate-stderr berth run -d --name second --ip 10.88.3.3 busybox sleep 100
	assert_berth_error "is already in use"
	assert_only_containers holder
	wait_veths 1
	run --separate-stderr berth network connect NOPE holder
	assert_berth_error "network NOPE not found"
	run --separate-stderr berth network connect bridge nosuch
	assert_berth_error nosuch
	run rule_ids
	assert_output ""
	berth rm -f holder
	assert_no_container_leftovers "$a"
}

# ---------------------------------------------------------------------------
# Many containers, and a berth killed half way.

@test "50 containers on the default bridge: distinct addresses, all reachable from the host; nothing left after rm" {
	local i j pids ids=() ip ips failed=0
	for i in $(seq 0 4); do
		pids=()
		for j in $(seq 10); do
			berth run -d --name "c$((i * 10 + j))" busybox sleep 1000 >"$BATS_TEST_TMPDIR/id$((i * 10 + j))" 2>&1 &
			pids+=($!)
		done
		for j in "${pids[@]}"; do wait "$j" || failed=$((failed + 1)); done
	done
	[ "$failed" -eq 0 ] || fail "$failed runs failed:" "$(cat "$BATS_TEST_TMPDIR"/id*)"
	# shellcheck disable=SC2046 # one id a word
	ips=$(berth inspect $(berth ps -q) | jq -r '.[].NetworkSettings.Networks.bridge.IPAddress')
	[ "$(wc -l <<<"$ips")" -eq 50 ] || fail "expected 50 addresses:" "$ips"
	[ "$(sort -u <<<"$ips" | wc -l)" -eq 50 ] || fail "addresses not distinct:" "$(sort <<<"$ips" | uniq -d)"
	for ip in $ips; do
		[[ $ip == 10.88.* ]] || fail "address $ip is not in 10.88.0.0/16"
		in_netns busybox ping -c1 -W2 "$ip" >/dev/null || fail "$ip does not answer ping"
	done
	wait_veths 50
	[ "$(in_netns ip -o link show master berth0 | wc -l)" -eq 50 ] || fail "not 50 ports on berth0"
	for i in $(seq 50); do ids+=("$(cat "$BATS_TEST_TMPDIR/id$i")"); done
	# shellcheck disable=SC2046 # one id a word
	berth rm -f $(berth ps -aq) >/dev/null
	run berth ps -aq
	assert_output ""
	assert_no_container_leftovers "${ids[@]}"
}

@test "berth SIGKILLed in the middle of run -d -p: the next ps keeps what runs and undoes the rest (no veth, netns mount or rule); all start and answer; rm -af leaves nothing" {
	local i d name state id ids=() running=()
	i=0
	for d in 0.01 0.02 0.03 0.04 0.05 0.06 0.08 0.1; do
		i=$((i + 1))
		# shellcheck disable=SC2086 # BERTH_NS is a command prefix
		timeout -s KILL "$d" $BERTH_NS "$BERTH" --root "$ROOT" --runroot "$RUNROOT" \
			run -d --name "half$i" -p "127.0.0.1:$((9100 + i)):80" busybox sh -c "$WEB" "half$i" >/dev/null 2>&1 || true
	done
	run berth ps -a --no-trunc --format '{{.Names}} {{.State}} {{.ID}}'
	assert_success
	local ps=$output
	while read -r name state id; do
		[ -n "$name" ] || continue
		ids+=("$id")
		case $state in
		running) running+=("$id") ;;
		created) ;;
		*) fail "after ps, $name is $state:" "$ps" ;;
		esac
	done <<<"$ps"
	# Before any rm: a veth on the bridge, a network namespace under the
	# run root and rules only for the containers that run.
	wait_veths "${#running[@]}"
	[ "$(in_netns ip -o link show master berth0 | wc -l)" -eq "${#running[@]}" ] ||
		fail "ports of berth0:" "$(in_netns ip -o link show master berth0)" "ps: $ps"
	local want
	want=$(printf '%s\n' "${running[@]}" | sed '/^$/d' | sort)
	run netns_mount_ids
	assert_output "$want"
	run rule_ids
	assert_output "$want"
	# Those that run answer; those that were undone start again and answer.
	while read -r name state id; do
		[ -n "$name" ] || continue
		[ "$state" = running ] || berth start "$name" >/dev/null
		wait_get "http://127.0.0.1:$((9100 + ${name#half}))/" "served-by-$name"
	done <<<"$ps"
	run berth rm -af
	assert_success
	run berth ps -aq
	assert_output ""
	wait_veths 0
	run rule_ids
	assert_output ""
	assert_no_container_leftovers "${ids[@]}"
	id=$(run_web again -p 127.0.0.1:9101:80 -p 127.0.0.1:9108:81)
	run netns_get http://127.0.0.1:9101/
	assert_output "served-by-again"
	run netns_get http://127.0.0.1:9108/
	assert_output "served-by-again"
	berth rm -f again
	assert_no_container_leftovers "$id"
}

@test "berth SIGKILLed while its shim creates the container, which then fails: the next ps undoes the start (no veth, netns mount or rule); start works again" {
	make_gated_runtime
	local id
	id=$(berth create --name late --runtime "$GATE/runtime" -p 127.0.0.1:9120:80 busybox sh -c "$WEB" late)
	touch "$GATE/fail"
	start_killed_in_create late
	# What the start made before its shim ran.
	wait_veths 1
	run netns_mount_ids
	assert_output "$id"
	wait_rules "$id" some
	rm "$GATE/hold"
	run berth ps -a --format '{{.Names}} {{.State}}'
	assert_success
	assert_output "late created"
	wait_veths 0
	run netns_mount_ids
	assert_output ""
	run rule_ids
	assert_output ""
	rm "$GATE/fail"
	run berth start late
	assert_success
	wait_get http://127.0.0.1:9120/ served-by-late
	run netns_mount_ids
	assert_output "$id"
	berth rm -f late
	assert_no_container_leftovers "$id"
}

@test "berth SIGKILLed while its shim creates the container, which then runs: the next ps records it running; it answers and stops as any" {
	make_gated_runtime
	local id
	id=$(berth create --name kept --runtime "$GATE/runtime" -p 127.0.0.1:9121:80 busybox sh -c "$WEB" kept)
	start_killed_in_create kept
	rm "$GATE/hold"
	run berth ps -a --format '{{.Names}} {{.State}}'
	assert_success
	assert_output "kept running"
	wait_get http://127.0.0.1:9121/ served-by-kept
	[ "$(berth inspect kept | jq -r '.[0].State.Pid')" -gt 0 ] || fail "no pid in inspect"
	run berth stop -t 1 kept
	assert_success
	wait_rules "$id" 0
	wait_veths 0
	run netns_mount_ids
	assert_output ""
	berth rm kept
	assert_no_container_leftovers "$id"
}

@test "rm of containers on one user network at once: each rm rewrites the others' hosts, none fails on a directory another removes" {
	berth network create together >/dev/null
	local round i pids ids=()
	for round in 1 2 3; do
		for i in 1 2 3 4 5 6; do ids+=("$(berth run -d --name "c$round$i" --network together busybox sleep 1000)"); done
		# Stopped first, as docker-compose down does: the removals then race.
		berth stop -t 0 "c${round}1" "c${round}2" "c${round}3" "c${round}4" "c${round}5" "c${round}6" >/dev/null
		pids=()
		for i in 1 2 3 4 5 6; do
			berth rm "c$round$i" >"$BATS_TEST_TMPDIR/rm$i.out" 2>&1 &
			pids+=($!)
		done
		for i in 1 2 3 4 5 6; do
			wait "${pids[i - 1]}" || fail "rm c$round$i failed:" "$(cat "$BATS_TEST_TMPDIR/rm$i.out")"
		done
	done
	run berth ps -aq
	assert_output ""
	berth network rm together >/dev/null
	assert_no_container_leftovers "${ids[@]}"
}
