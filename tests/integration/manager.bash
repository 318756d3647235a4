# Shared by the manager's bats files (load manager after helpers): the berth
# binary, a busybox image built offline once per file, and one --root per test.

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

berth() {
	"$BERTH" --root "$ROOT" ${RUNROOT:+--runroot "$RUNROOT"} "$@"
}

# Container tests: a run root of the test's own (short: socket paths under it
# must fit in 108 bytes), removed by container_teardown.
container_setup() {
	RUNROOT=/run/berth-test-$$-${BATS_TEST_NUMBER:-0}
}

container_teardown() {
	berth rm -af >/dev/null 2>&1 || true
	[ -z "${RUNROOT:-}" ] || rm -rf "$RUNROOT"
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
# tmpdir, no process started with this root, no cgroup named after one of
# the ids given.
assert_no_container_leftovers() {
	local left="" d id pid
	for d in "$ROOT/containers" "$RUNROOT/shim" "$RUNROOT/runtime" "$RUNROOT/locks" "$RUNROOT/exits"; do
		[ -d "$d" ] || continue
		left+=$(find "$d" -mindepth 1 -maxdepth 1 -printf '%p\n')
	done
	left+=$(_leftover_mounts)
	for id in "$@"; do
		left+=$(_leftover_cgroups "$id")
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
