# Shared by the manager's bats files (load manager after helpers): the berth
# binary, a busybox image built offline once per file, and one --root per test.
# Container tests (container_setup) also get a network namespace of their
# own, so the bridges, veths and nftables rules berth makes never reach the
# host's network.

BERTH=${BERTH:-${BERTH_BUILDDIR:-$BERTH_SRCDIR}/berth}

# The busybox OCI layout tar that tools/make-oci-image builds from Debian's
# busybox-static, at $BATS_FILE_TMPDIR/busybox.tar (call from setup_file).
make_busybox_image() {
	"$BERTH_SRCDIR/tools/make-oci-image" "$BATS_FILE_TMPDIR/busybox.tar" busybox >/dev/null
}

# ROOT: this test's own --root; IMAGE: the busybox tar (call from setup).
manager_setup() {
	ROOT=$BATS_TEST_TMPDIR/root
	IMAGE=$BATS_FILE_TMPDIR/busybox.tar
}

# berth ARGS...: berth with the test's --root (and --runroot), in the test's
# network namespace when it has one. (`berth ... &` forks a subshell: to
# signal berth itself, run `$BERTH_NS "$BERTH" ... &`; nsenter execs berth.)
berth() {
	if [ -n "${RUNROOT:-}" ] && [ -e "$RUNROOT.net" ]; then
		nsenter --net="$RUNROOT.net" "$BERTH" --root "$ROOT" --runroot "$RUNROOT" "$@"
	else
		"$BERTH" --root "$ROOT" ${RUNROOT:+--runroot "$RUNROOT"} "$@"
	fi
}

# in_netns CMD...: CMD in the test's network namespace (the "host" of its
# containers), e.g. `in_netns busybox wget -qO- http://127.0.0.1:8080/`.
# Without one (container_setup --host-network), CMD runs as it is.
in_netns() {
	if [ -n "${RUNROOT:-}" ] && [ -e "$RUNROOT.net" ]; then
		nsenter --net="$RUNROOT.net" "$@"
	else
		"$@"
	fi
}

# Container tests: a run root of the test's own (short: socket paths under it
# must fit in 108 bytes), removed by container_teardown; and a network
# namespace of the test's own, bind-mounted on $RUNROOT.net by util-linux
# unshare, with lo up: berth's default bridge berth0, its `table inet berth`
# and the containers' veths live there. BERTH_NS is the prefix for command
# strings that run berth without the berth function (tmux, script, bash -c,
# timeout): "$BERTH_NS $BERTH --root ...".
#
# container_setup --host-network: no namespace, berth runs in the host's
# (a test that pulls from a registry on the host's 127.0.0.1); such a test
# must run its containers with --network none or host, and teardown checks
# that no berth* link or berth nftables table appeared on the host.
container_setup() {
	RUNROOT=/run/berth-test-$$-${BATS_TEST_NUMBER:-0}
	BERTH_NS=
	export BERTH_NS
	_HOST_NET_BEFORE=$(_host_berth_network)
	[ "${1:-}" = --host-network ] && return 0
	# A namespace file left by an earlier run with the same pid and number.
	if mountpoint -q "$RUNROOT.net" 2>/dev/null; then umount "$RUNROOT.net"; fi
	touch "$RUNROOT.net" || return 1
	if ! unshare --net="$RUNROOT.net" ip link set lo up; then
		umount "$RUNROOT.net" 2>/dev/null
		rm -f "$RUNROOT.net"
		fail "could not make the test's network namespace at $RUNROOT.net"
		return 1
	fi
	BERTH_NS="nsenter --net=$RUNROOT.net"
}

# Removes every container, the run root and the network namespace, then
# fails when rm -af left a veth, a container's nftables rule or a process in
# the namespace, a container's network namespace bind-mounted under
# $RUNROOT/netns (unmounted here), or when the host got a berth* link or
# berth table.
container_teardown() {
	local left="" pids m
	berth rm -af >/dev/null 2>&1 || true
	if [ -n "${RUNROOT:-}" ]; then
		m=$(_leftover_netns_mounts)
		[ -z "$m" ] || left+=$m$'\n'
		for m in $(_netns_mount_points); do umount -l "$m" 2>/dev/null || true; done
	fi
	if [ -n "${RUNROOT:-}" ] && [ -e "$RUNROOT.net" ]; then
		# Whatever still runs in the namespace is the test's (a listener
		# it started): killed, and counted as left behind.
		pids=$(_netns_pids)
		if [ -n "$pids" ]; then
			left+=$(for p in $pids; do echo "process in the test's netns: $p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"; done)$'\n'
			# shellcheck disable=SC2086 # one pid a word
			kill -KILL $pids 2>/dev/null || true
		fi
		left+=$(_leftover_network)
		umount "$RUNROOT.net" 2>/dev/null || umount -l "$RUNROOT.net" 2>/dev/null || true
		rm -f "$RUNROOT.net"
	fi
	[ -z "${RUNROOT:-}" ] || rm -rf "$RUNROOT"
	[ -n "${RUNROOT:-}" ] && left+=$(_leftover_host_network)
	[ -z "$left" ] || fail "left behind after rm -af:" "$left"
}

# The pids of the processes in the test's network namespace.
_netns_pids() {
	local ino
	ino=$(stat -L -c %i "$RUNROOT.net" 2>/dev/null) || return 0
	find /proc/[0-9]*/ns/net -maxdepth 0 -lname "net:\[$ino\]" 2>/dev/null | cut -d/ -f3
}

# The host's network objects named after berth: links berth*, nftables
# tables *berth*, one a line.
_host_berth_network() {
	ip -o link show 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); if ($2 ~ /^berth/) print "host link " $2 }'
	nft list tables 2>/dev/null | awk '/berth/ { print "host nft " $0 }'
}

# Host network objects named after berth that were not there at
# container_setup.
_leftover_host_network() {
	local now line
	now=$(_host_berth_network)
	while read -r line; do
		[ -n "$line" ] || continue
		grep -qxF -e "$line" <<<"${_HOST_NET_BEFORE:-}" || echo "$line"
	done <<<"$now"
}

# In the test's network namespace: veths (the kernel deletes a pair
# asynchronously once the container's namespace dies: up to 5 s) and
# nftables rules with the comment ctr:ID for the ids given (any container's
# when none is given). No namespace or no berth table: nothing to find.
_leftover_network() {
	local i veths rules id
	[ -n "${RUNROOT:-}" ] && [ -e "$RUNROOT.net" ] || return 0
	for i in $(seq 50); do
		veths=$(in_netns ip -o link show type veth 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }')
		[ -n "$veths" ] || break
		sleep 0.1
	done
	# shellcheck disable=SC2086 # one name a word
	[ -z "$veths" ] || printf 'veth %s\n' $veths
	rules=$(in_netns nft list table inet berth 2>/dev/null) || return 0
	if [ $# -eq 0 ]; then
		grep -F '"ctr:' <<<"$rules" | sed 's/^[[:space:]]*/nft rule: /'
	else
		for id in "$@"; do
			grep -F "\"ctr:$id" <<<"$rules" | sed 's/^[[:space:]]*/nft rule: /'
		done
	fi
	return 0
}

# The containers' network namespaces bind-mounted under $RUNROOT/netns
# (berth's make_netns; drop_netns unmounts them), from the mount table: one
# mount point a line.
_netns_mount_points() {
	[ -n "${RUNROOT:-}" ] || return 0
	awk -v d="$RUNROOT/netns/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo
}

# Those mounts as leftover lines: "netns bind mount: PATH (a container's network
# namespace that was never dropped)".
_leftover_netns_mounts() {
	local m
	for m in $(_netns_mount_points); do
		echo "netns bind mount: $m (a container's network namespace that was never dropped)"
	done
}

# Nothing of an image is left under the manager's --root $ROOT: no blob, no
# layer, no temp file (the database and the store's lock file stay; find
# fails on the dirs a test never made, which is fine).
assert_root_empty() {
	local left
	left=$(find "$ROOT" -mindepth 1 ! -name 'berth.db*' ! -name storage.lock ! -type d 2>/dev/null || true)
	left+=$(find "$ROOT/layers" "$ROOT/blobs/sha256" "$ROOT/blobs/ingest" -mindepth 1 2>/dev/null || true)
	[ -z "$left" ] || fail "left under $ROOT:" "$left"
}

# Nothing of any container is left under $ROOT and on the host: no container
# dir, no shim or runtime state, lock or exit file, no mount under the test's
# tmpdir, no network namespace bind-mounted under $RUNROOT/netns, no process
# started with this root, no cgroup named after one of the ids given; in the
# test's network namespace no veth and no nftables rule of those ids (of any
# container when none is given); on the host no new berth* link or berth
# table.
assert_no_container_leftovers() {
	local left="" d id pid
	for d in "$ROOT/containers" "$RUNROOT/shim" "$RUNROOT/runtime" "$RUNROOT/locks" "$RUNROOT/exits"; do
		[ -d "$d" ] || continue
		left+=$(find "$d" -mindepth 1 -maxdepth 1 -printf '%p\n')
	done
	left+=$(_leftover_mounts)
	d=$(_leftover_netns_mounts)
	[ -z "$d" ] || left+=${left:+$'\n'}$d$'\n'
	for id in "$@"; do
		left+=$(_leftover_cgroups "$id")
	done
	left+=$(_leftover_network "$@")
	left+=$(_leftover_host_network)
	[ -z "${RUNROOT:-}" ] || [ ! -e "$RUNROOT.net" ] ||
		for pid in $(_netns_pids); do
			left+="process in the test's netns: $pid $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"$'\n'
		done
	for pid in $(grep -lzF -e "$ROOT/" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
		[ "$pid" != "$$" ] || continue
		grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null && continue
		[ -e "/proc/$pid" ] && left+="process $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"$'\n'
	done
	[ -z "$left" ] || fail "left behind:" "$left"
}

# The busybox image loaded into this test's root.
load_busybox() {
	berth load -i "$IMAGE" >/dev/null
}

# wait_for_log CONTAINER TEXT: until the container's log has TEXT (10 s at
# most), so a test acts only once the container is set up (traps installed,
# files written) however slow the machine.
wait_for_log() {
	local i
	for i in $(seq 200); do
		[[ $(berth logs "$1" 2>&1) == *"$2"* ]] && return 0
		sleep 0.05
	done
	fail "container $1 never logged '$2':" "$(berth logs "$1" 2>&1)"
}

# screen_shows TEXT: until the tmux pane of $TMUX_SOCK shows TEXT (5 s at most).
screen_shows() {
	local i screen
	for i in $(seq 100); do
		screen=$(tmux -L "$TMUX_SOCK" capture-pane -p)
		[[ $screen == *"$1"* ]] && return 0
		sleep 0.05
	done
	fail "the screen never showed '$1':" "$screen"
}

# exit_code_in FILE: the code a tmux session's command wrote to FILE (5 s at most).
exit_code_in() {
	local i
	for i in $(seq 100); do
		[ -s "$1" ] && break
		sleep 0.05
	done
	cat "$1"
}

# store_blob DIR FILE: moves FILE into DIR/blobs/sha256 under its digest, prints the hex.
store_blob() {
	local d
	d=$(sha256sum "$2" | cut -d' ' -f1)
	mv "$2" "$1/blobs/sha256/$d"
	echo "$d"
}

# variant OUT.tar NAME JQ: the busybox image ($IMAGE) named NAME with its
# config changed by the jq filter JQ: another image with the same layer (a
# history, a StopSignal: what berth commit has no change for).
variant() {
	local x manifest config
	x=$(mktemp -d "$BATS_TEST_TMPDIR/variant.XXXXXX")
	tar -C "$x" -xf "$IMAGE"
	manifest=$(jq -r '.manifests[0].digest[7:]' "$x/index.json")
	config=$(jq -r '.config.digest[7:]' "$x/blobs/sha256/$manifest")
	jq -c "$3" "$x/blobs/sha256/$config" >"$x/config.json"
	rm "$x/blobs/sha256/$config"
	config=$(store_blob "$x" "$x/config.json")
	jq -c --arg c "sha256:$config" --argjson s "$(stat -c %s "$x/blobs/sha256/$config")" \
		'.config.digest = $c | .config.size = $s' "$x/blobs/sha256/$manifest" >"$x/manifest.json"
	rm "$x/blobs/sha256/$manifest"
	manifest=$(store_blob "$x" "$x/manifest.json")
	jq -c --arg m "sha256:$manifest" --argjson s "$(stat -c %s "$x/blobs/sha256/$manifest")" --arg n "$2" \
		'.manifests[0].digest = $m | .manifests[0].size = $s |
		 .manifests[0].annotations = {"io.containerd.image.name": $n, "org.opencontainers.image.ref.name": $n}' "$x/index.json" >"$x/index.new"
	mv "$x/index.new" "$x/index.json"
	tar -C "$x" -cf "$1" .
	rm -rf "$x"
}
