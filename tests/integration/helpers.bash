# Shared setup for Berth's integration tests (bats, run as root).
#
# The tests are written against runc's CLI, so they can be checked with the
# real runc before berth-runtime can pass them:
#
#   RUNTIME=/usr/sbin/runc bats tests/integration/
#
# Each test gets its own container id ($ID), its own state root ($ROOT, passed
# as --root), and its own bundle ($BUNDLE) whose rootfs is a copy of a busybox
# rootfs built once per bats run. teardown deletes whatever the test left and
# then fails the test if anything (state dir, mount, cgroup, process) is still
# there: a runtime that leaks fails.
#
# In a .bats file:
#
#   load helpers
#   setup() { common_setup; }
#   teardown() { common_teardown; }

# jq filters are single-quoted on purpose; status/output come from bats.
# shellcheck disable=SC2016,SC2154

bats_require_minimum_version 1.5.0

BERTH_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# The runtime under test, made absolute because tests cd around.
RUNTIME=${RUNTIME:-${BERTH_BUILDDIR:-$BERTH_SRCDIR}/berth-runtime}
case $RUNTIME in
/*) ;;
*/*) RUNTIME=$(cd "$(dirname "$RUNTIME")" && pwd)/$(basename "$RUNTIME") ;;
*) RUNTIME=$(command -v "$RUNTIME" || echo "$RUNTIME") ;;
esac
export RUNTIME

# ---------------------------------------------------------------------------
# Small assertions (bats-assert is not packaged in Debian 12).

# fail MESSAGE...: fails the test with MESSAGE on stderr.
fail() {
	printf '%s\n' "$@" >&2
	return 1
}

# assert_success: the last `run` exited 0.
assert_success() {
	[ "$status" -eq 0 ] || fail "expected success, got status $status; output:" "$output"
}

# assert_failure [STATUS]: the last `run` exited non-zero (or exactly STATUS).
assert_failure() {
	if [ $# -gt 0 ]; then
		[ "$status" -eq "$1" ] || fail "expected status $1, got $status; output:" "$output"
	else
		[ "$status" -ne 0 ] || fail "expected failure, got status 0; output:" "$output"
	fi
}

# assert_equal ACTUAL EXPECTED
assert_equal() {
	[ "$1" = "$2" ] || fail "expected: '$2'" "actual:   '$1'"
}

# assert_output EXPECTED: $output is exactly EXPECTED.
assert_output() {
	[ "$output" = "$1" ] || fail "expected output: '$1'" "actual output:   '$output'"
}

# assert_output_contains STR...: $output contains every STR.
assert_output_contains() {
	local s
	for s in "$@"; do
		[[ $output == *"$s"* ]] || fail "output does not contain '$s'; output:" "$output"
	done
}

# assert_output_contains_i STR...: like assert_output_contains, ignoring case
# (errno texts: Go says "no such file", strerror "No such file").
assert_output_contains_i() {
	local s
	for s in "$@"; do
		[[ ${output,,} == *"${s,,}"* ]] || fail "output does not contain '$s' (any case); output:" "$output"
	done
}

# assert_output_not_contains STR...: $output contains none of STR.
assert_output_not_contains() {
	local s
	for s in "$@"; do
		[[ $output != *"$s"* ]] || fail "output contains '$s'; output:" "$output"
	done
}

# assert_error_names STR...: an error message that names every STR (the file,
# field or value at fault). runc 1.1.5 often leaves the value out ("container
# does not exist"), so against runc only a non-empty message is required.
assert_error_names() {
	[ -n "$output" ] || fail "expected an error message, got none"
	is_runc && return 0
	assert_output_contains "$@"
}

# ---------------------------------------------------------------------------
# The runtime under test.

# runtime ARGS...: runs the runtime with the test's private --root.
runtime() {
	"$RUNTIME" --root "$ROOT" "$@"
}

# is_runc: true when the runtime under test is runc (used to skip tests of
# features that runc 1.1.5 lacks but berth-runtime must have).
is_runc() {
	if [ -z "${_BERTH_IS_RUNC:-}" ]; then
		if "$RUNTIME" --version 2>/dev/null | head -n1 | grep -q '^runc version'; then
			_BERTH_IS_RUNC=yes
		else
			_BERTH_IS_RUNC=no
		fi
	fi
	[ "$_BERTH_IS_RUNC" = yes ]
}

# skip_if_runc REASON: skip when testing runc, e.g. for `run --keep`.
skip_if_runc() {
	if is_runc; then
		skip "runc 1.1.5: $*"
	fi
}

# run_detached CMD...: like bats' `run`, for commands that leave a container
# behind (create, run -d). The container inherits the runtime's stdio; if that
# were bats' capture pipe, `run` would wait until the container exits. Here
# stdout+stderr go through a file, read into $output when CMD returns.
run_detached() {
	local out
	out=$(mktemp "$BATS_TEST_TMPDIR/detached.XXXXXX")
	run _run_detached_inner "$out" "$@"
}
_run_detached_inner() {
	local out=$1 rc=0
	shift
	"$@" >"$out" 2>&1 </dev/null || rc=$?
	cat "$out"
	return "$rc"
}

# create_container [ID] [RUNTIME-ARGS...]: `create --bundle $BUNDLE`, which
# must succeed. The container's stdout/stderr go to $BATS_TEST_TMPDIR/ID.log.
create_container() {
	local id=${1:-$ID}
	[ $# -gt 0 ] && shift
	runtime create --bundle "$BUNDLE" "$@" "$id" \
		>"$BATS_TEST_TMPDIR/$id.log" 2>&1 </dev/null ||
		fail "create $id failed:" "$(cat "$BATS_TEST_TMPDIR/$id.log")"
}

# run_container_detached [ID]: `run -d --bundle $BUNDLE`, which must succeed.
run_container_detached() {
	local id=${1:-$ID}
	runtime run -d --bundle "$BUNDLE" "$id" \
		>"$BATS_TEST_TMPDIR/$id.log" 2>&1 </dev/null ||
		fail "run -d $id failed:" "$(cat "$BATS_TEST_TMPDIR/$id.log")"
}

# start_container [ID]: `start`, which must succeed.
start_container() {
	local id=${1:-$ID} out
	out=$(runtime start "$id" 2>&1) || fail "start $id failed:" "$out"
}

# container_state [ID]: prints the state JSON.
container_state() {
	runtime state "${1:-$ID}"
}

# container_status [ID]: prints created/running/stopped/...
container_status() {
	container_state "${1:-$ID}" | jq -r .status
}

# container_pid [ID]: prints the pid from the state.
container_pid() {
	container_state "${1:-$ID}" | jq -r .pid
}

# wait_for_status STATUS [ID] [SECONDS]: polls the state until it is STATUS.
wait_for_status() {
	local want=$1 id=${2:-$ID} secs=${3:-10} i got=
	for ((i = 0; i < secs * 20; i++)); do
		got=$(container_status "$id" 2>/dev/null) || got=
		[ "$got" = "$want" ] && return 0
		sleep 0.05
	done
	fail "container $id: status '$got' after ${secs}s, expected '$want'"
}

# wait_for_file FILE [SECONDS]: polls until FILE exists and is not empty.
wait_for_file() {
	local f=$1 secs=${2:-10} i
	for ((i = 0; i < secs * 20; i++)); do
		[ -s "$f" ] && return 0
		sleep 0.05
	done
	fail "$f did not appear within ${secs}s"
}

# track_pid PID...: a host process the test started; teardown kills it.
track_pid() {
	TEST_PIDS+=("$@")
}

# ---------------------------------------------------------------------------
# Bundles.

# The busybox rootfs and the runtime's default config.json, built once per
# bats run by tools/make-bundle and copied into each test's bundle.
_base_bundle() {
	local base=$BATS_RUN_TMPDIR/base-bundle
	if [ ! -s "$base/config.json" ]; then
		(
			flock 9
			[ -s "$base/config.json" ] ||
				RUNTIME=$RUNTIME "$BERTH_SRCDIR/tools/make-bundle" "$base" >&2
		) 9>"$BATS_RUN_TMPDIR/base-bundle.lock" || {
			fail "tools/make-bundle failed (does '$RUNTIME spec' work?)"
			return 1
		}
	fi
	echo "$base"
}

# make_bundle [ARGS...]: (re)creates $BUNDLE: a fresh copy of the busybox
# rootfs and the runtime's `spec` with terminal=false and process.args=ARGS
# (default: sh). BUNDLE may be pointed elsewhere before calling it.
make_bundle() {
	local base
	base=$(_base_bundle) || return 1
	rm -rf "$BUNDLE"
	mkdir -p "$BUNDLE"
	# Hard links make the copy cheap (copying 300 symlinks costs 0.2 s);
	# the only regular files, busybox and /etc, get real copies so that a
	# test writing to them cannot change the base.
	cp -al "$base/rootfs" "$BUNDLE/rootfs"
	rm -rf "$BUNDLE/rootfs/etc" "$BUNDLE/rootfs/bin/busybox"
	cp -a "$base/rootfs/etc" "$BUNDLE/rootfs/etc"
	cp -a "$base/rootfs/bin/busybox" "$BUNDLE/rootfs/bin/busybox"
	cp "$base/config.json" "$BUNDLE/config.json"
	[ $# -eq 0 ] || set_args "$@"
}

# update_config FILTER [JQ-OPTIONS...]: edits $BUNDLE/config.json in place,
# e.g. update_config '.process.cwd = $d' --arg d /tmp
update_config() {
	local filter=$1 cfg=$BUNDLE/config.json
	shift
	jq "$@" "$filter" "$cfg" >"$cfg.new" || fail "update_config: jq failed on '$filter'"
	mv "$cfg.new" "$cfg"
}

# json_array STR...: prints STR... as a JSON array of strings (no fork:
# jq 1.6 cannot take an argv whose elements look like options, e.g. "-c").
json_array() {
	local out='' s
	for s in "$@"; do
		s=${s//\\/\\\\}
		s=${s//\"/\\\"}
		s=${s//$'\n'/\\n}
		s=${s//$'\t'/\\t}
		s=${s//$'\r'/\\r}
		out+=${out:+,}\"$s\"
	done
	printf '[%s]' "$out"
}

# set_args ARGS...: process.args = ARGS.
set_args() {
	update_config '.process.args = $args' --argjson args "$(json_array "$@")"
}

# set_cmd SCRIPT: process.args = ["sh", "-c", SCRIPT].
set_cmd() {
	set_args sh -c "$1"
}

# add_bind_mount SOURCE DEST [OPTIONS...]: appends a bind mount (default
# options: bind). SOURCE is a host path.
add_bind_mount() {
	local src=$1 dst=$2
	shift 2
	[ $# -gt 0 ] || set -- bind
	update_config '.mounts += [{"destination": $d, "type": "bind", "source": $s, "options": $o}]' \
		--arg s "$src" --arg d "$dst" --argjson o "$(json_array "$@")"
}

# add_shared_dir: bind-mounts the host dir $SHARED (created empty) read-write
# at /shared in the container, for files the container writes and the test
# reads (or the other way round).
add_shared_dir() {
	SHARED=$BATS_TEST_TMPDIR/shared
	mkdir -p "$SHARED"
	add_bind_mount "$SHARED" /shared rbind rw
}

# add_hook KIND SCRIPT [ARGS...]: appends to hooks.KIND a hook that runs
# /bin/sh -c SCRIPT ARGS... (the state JSON is on its stdin). Set HOOK_EXTRA
# to a JSON object to merge in more fields, e.g. '{"timeout": 1}'.
add_hook() {
	local kind=$1 script=$2
	shift 2
	update_config '.hooks[$k] += [{"path": "/bin/sh", "args": (["sh", "-c", $s] + $a)} + $x]' \
		--arg k "$kind" --arg s "$script" --argjson a "$(json_array "$@")" \
		--argjson x "${HOOK_EXTRA:-{\}}"
}

# remove_namespace TYPE: drops TYPE from linux.namespaces.
remove_namespace() {
	update_config '.linux.namespaces |= map(select(.type != $t))' --arg t "$1"
}

# add_namespace TYPE [PATH]: adds (or replaces) a linux.namespaces entry.
add_namespace() {
	if [ $# -gt 1 ]; then
		update_config '.linux.namespaces = (.linux.namespaces | map(select(.type != $t))) + [{"type": $t, "path": $p}]' \
			--arg t "$1" --arg p "$2"
	else
		update_config '.linux.namespaces = (.linux.namespaces | map(select(.type != $t))) + [{"type": $t}]' \
			--arg t "$1"
	fi
}

# add_userns [UID-BASE [GID-BASE]]: a new user namespace mapping container
# ids 0-65535 to host ids from UID-BASE (default 100000) and GID-BASE (default
# UID-BASE). bats makes its tmpdirs 0700, so the path to the bundle is opened
# up (search only) for the unprivileged host uid.
add_userns() {
	local uid=${1:-100000} gid=${2:-${1:-100000}} d
	add_namespace user
	update_config '.linux.uidMappings = [{"containerID": 0, "hostID": $u, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": $g, "size": 65536}]' \
		--argjson u "$uid" --argjson g "$gid"
	d=$BUNDLE
	while [[ $d == "$BATS_RUN_TMPDIR"* ]]; do
		chmod o+x "$d"
		d=$(dirname "$d")
	done
}

# ---------------------------------------------------------------------------
# Host-side inspection.

# cgroup_file PID CONTROLLER V1FILE V2FILE: the host path of the file that
# holds PID's setting: V1FILE in the v1 hierarchy of CONTROLLER when that
# controller is mounted as v1 (cgroup v1 or hybrid), else V2FILE in the
# unified hierarchy.
cgroup_file() {
	local pid=$1 ctrl=$2 v1=$3 v2=$4 mnt rel
	mnt=$(_cgroup_mounts | awk -v c="$ctrl" '$1 == "cgroup" {
		n = split($3, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) { print $2; exit } }')
	if [ -n "$mnt" ]; then
		rel=$(awk -F: -v c="$ctrl" '{ n = split($2, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) { print $3; exit } }' "/proc/$pid/cgroup")
		echo "$mnt$rel/$v1"
	else
		mnt=$(_cgroup_mounts | awk '$1 == "cgroup2" { print $2; exit }')
		rel=$(awk -F: '$1 == "0" { print $3; exit }' "/proc/$pid/cgroup")
		echo "$mnt$rel/$v2"
	fi
}

# _cgroup_mounts: "FSTYPE MOUNTPOINT SUPEROPTIONS" for the host's cgroup and
# cgroup2 mounts (mountinfo's optional fields end at a lone "-").
_cgroup_mounts() {
	awk '{ for (i = 7; i < NF; i++) if ($i == "-") break
		if ($(i + 1) == "cgroup" || $(i + 1) == "cgroup2") print $(i + 1), $5, $(i + 3) }' /proc/self/mountinfo
}

# ns_inode PID TYPE: e.g. "net:[4026531840]" (TYPE as in /proc/PID/ns).
ns_inode() {
	readlink "/proc/$1/ns/$2"
}

# ---------------------------------------------------------------------------
# Leftovers. Everything a test's containers own carries $ID in its name or
# lives under $BATS_TEST_TMPDIR, so leftovers can be found without touching
# anything else on the machine. The searches below span the whole machine,
# so they refuse to run with a pattern that is not specific to the test (an
# empty one would match every process, mount and cgroup), and the clean-up
# refuses to act on more than a test could plausibly have left.

_LEFTOVER_MAX=10

# _leftover_scope_ok ID: true when ID, $ROOT and $BATS_TEST_TMPDIR are
# specific to this test; otherwise says why on stderr.
_leftover_scope_ok() {
	local id=$1
	if [[ ! $id =~ ^[A-Za-z0-9][A-Za-z0-9._+-]{3,}$ ]]; then
		echo "leftover check: refusing the unspecific id '$id'" >&2
		return 1
	fi
	if [[ ! ${BATS_TEST_TMPDIR:-} =~ ^/.+/.+ ]] || [ ! -d "$BATS_TEST_TMPDIR" ]; then
		echo "leftover check: refusing BATS_TEST_TMPDIR='${BATS_TEST_TMPDIR:-}'" >&2
		return 1
	fi
	if [[ ${ROOT:-} != "$BATS_TEST_TMPDIR"/* ]]; then
		echo "leftover check: ROOT='${ROOT:-}' is not under $BATS_TEST_TMPDIR" >&2
		return 1
	fi
}

# list_leftovers [ID]: prints one line per leftover; empty when clean. Fails
# (printing nothing) when ID is not specific enough to search with.
list_leftovers() {
	local id=${1:-${ID:-}} d line pid
	_leftover_scope_ok "$id" || return 1
	# State dirs in the private root.
	if [ -d "$ROOT" ]; then
		for d in "$ROOT"/*/ "$ROOT"/.*/; do
			[ -d "$d" ] || continue
			case ${d%/} in */. | */..) continue ;; esac
			echo "state dir: ${d%/}"
		done
	fi
	# Mounts in the host's namespace under the test's tmpdir (mount point or
	# the mounted root: a bind of a bundle path shows up as root).
	while read -r line; do
		echo "mount: $line"
	done < <(_leftover_mounts)
	# Cgroups named after the container.
	while read -r d; do
		echo "cgroup: $d"
	done < <(_leftover_cgroups "$id")
	# Processes: in a cgroup named after the container, or with the id or
	# the test's tmpdir on their command line. Zombies are not counted:
	# reaping orphans is the job of pid 1, not the runtime.
	while read -r pid; do
		echo "process: $pid $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
	done < <(_leftover_pids "$id")
}

# Mount lines whose mount point or root is under the test's tmpdir.
_leftover_mounts() {
	awk -v t="$BATS_TEST_TMPDIR/" 't != "/" && (index($4 "/", t) == 1 || index($5 "/", t) == 1)' \
		/proc/self/mountinfo
}

# Cgroup directories whose name contains ID.
_leftover_cgroups() {
	find /sys/fs/cgroup -maxdepth 5 -type d -name "*$1*" 2>/dev/null
}

# Live processes that belong to the test (never this shell or its parents).
_leftover_pids() {
	local id=$1 f pid stat
	_leftover_scope_ok "$id" 2>/dev/null || return 0
	for f in $({
		grep -lF -- "$id" /proc/[0-9]*/cgroup
		grep -lzF -e "$id" -e "$BATS_TEST_TMPDIR/" /proc/[0-9]*/cmdline
	} 2>/dev/null | sort -u); do
		pid=${f#/proc/}
		pid=${pid%%/*}
		[ "$pid" -gt 1 ] 2>/dev/null || continue
		stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
		stat=${stat##*) }
		case ${stat%% *} in Z | X | '') continue ;; esac
		_is_ancestor_or_self "$pid" || echo "$pid"
	done
}

# True when PID is this shell or one of its ancestors.
_is_ancestor_or_self() {
	local p=$BASHPID key val
	while [ -n "$p" ] && [ "$p" != 0 ]; do
		[ "$p" = "$1" ] && return 0
		val=
		while read -r key val; do
			[ "$key" = PPid: ] && break
		done <"/proc/$p/status" 2>/dev/null || true
		p=$val
	done
	return 1
}

# assert_no_leftovers [ID]: no state dir, mount, cgroup or process is left.
assert_no_leftovers() {
	local left
	left=$(list_leftovers "$@") || fail "cannot check for leftovers (see above)" || return 1
	[ -z "$left" ] || fail "leftovers:" "$left"
}

# ---------------------------------------------------------------------------
# setup / teardown.

common_setup() {
	# A unique id per test: $$ differs for every test bats runs. Set
	# first, so that teardown never runs without them.
	ID="t$$-$BATS_TEST_NUMBER"
	ROOT=$BATS_TEST_TMPDIR/state
	BUNDLE=$BATS_TEST_TMPDIR/bundle
	TEST_PIDS=()
	[ "$(id -u)" = 0 ] || skip "integration tests need root"
	[ -x "$RUNTIME" ] || fail "RUNTIME=$RUNTIME is not an executable" || return 1
	mkdir -p "$ROOT"
	# A container whose process reads stdin must never wait on a terminal.
	exec </dev/null
	make_bundle sh -c 'echo default args; exit 0'
}

common_teardown() {
	local c pid left rc=0
	cd /
	_leftover_scope_ok "${ID:-}" 2>/dev/null || return 0
	# Delete every container in the private root, by the runtime first.
	for c in $(_containers_in_root); do
		pid=$(container_pid "$c" 2>/dev/null) || pid=
		runtime delete --force "$c" >/dev/null 2>&1 || true
		# If the runtime could not delete it, kill its init by pid.
		if [ -d "$ROOT/$c" ] && [ "$pid" -gt 1 ] 2>/dev/null &&
			grep -qF -- "$c" "/proc/$pid/cgroup" 2>/dev/null; then
			kill -9 "$pid" 2>/dev/null || true
		fi
	done
	# Host processes the test started itself.
	for pid in "${TEST_PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done

	left=$(list_leftovers "$ID") || return 1
	if [ -n "$left" ]; then
		_clean_leftovers
		fail "the test left behind (now cleaned up):" "$left"
		rc=1
	fi
	return "$rc"
}

_containers_in_root() {
	{
		[ -d "$ROOT" ] && runtime list -q 2>/dev/null
		[ -d "$ROOT" ] && find "$ROOT" -mindepth 1 -maxdepth 1 -type d -printf '%f\n'
	} | sort -u
}

# Removes what list_leftovers found, so one leaking test does not make the
# next ones fail or bats' `rm -rf` of the tmpdir walk into a leaked bind
# mount. Only things named after this test's id or under its tmpdir, and
# never more than a test could have made.
_clean_leftovers() {
	local pids m d i
	_leftover_scope_ok "${ID:-}" || return 1
	for i in 1 2 3; do
		pids=$(_leftover_pids "$ID")
		[ -z "$pids" ] && break
		if [ "$(wc -l <<<"$pids")" -gt "$_LEFTOVER_MAX" ]; then
			echo "clean-up: refusing to kill $(wc -l <<<"$pids") processes" >&2
			break
		fi
		# shellcheck disable=SC2086 # one pid a word
		kill -9 $pids 2>/dev/null || true
		sleep 0.2
	done
	for i in 1 2 3; do
		m=$(_leftover_mounts | awk '{ print $5 }' | tac)
		[ -z "$m" ] && break
		if [ "$(wc -l <<<"$m")" -gt $((2 * _LEFTOVER_MAX)) ]; then
			echo "clean-up: refusing to unmount $(wc -l <<<"$m") mounts" >&2
			break
		fi
		while read -r d; do
			d=$(printf '%b' "$d")
			if [[ $d == "$BATS_TEST_TMPDIR"/* ]]; then
				umount -l "$d" 2>/dev/null || true
			fi
		done <<<"$m"
	done
	m=$(_leftover_cgroups "$ID")
	if [ -n "$m" ] && [ "$(wc -l <<<"$m")" -le $((10 * _LEFTOVER_MAX)) ]; then
		# Deepest first; rmdir only removes empty cgroups.
		sort -r <<<"$m" | while read -r d; do rmdir "$d" 2>/dev/null || true; done
	fi
	find "$ROOT" -mindepth 1 -maxdepth 1 -exec rm -rf {} + 2>/dev/null || true
}

# skip_unless_idmap_fs DIR: skips the test when DIR's filesystem cannot be
# idmapped on this kernel: tmpfs gained idmapped mounts in Linux 6.3 (a pure
# cgroup v2 VM of `make check-cgroupv2` boots Debian 12's 6.1).
skip_unless_idmap_fs() {
	local fs kv major minor
	fs=$(stat -f -c %T "$1")
	kv=$(uname -r)
	major=${kv%%.*}
	minor=${kv#*.}
	minor=${minor%%[!0-9]*}
	if [ "$fs" = tmpfs ] && { [ "$major" -lt 6 ] || { [ "$major" -eq 6 ] && [ "$minor" -lt 3 ]; }; }; then
		skip "tmpfs ($1) has no idmapped mounts before Linux 6.3 (this is $kv)"
	fi
}
