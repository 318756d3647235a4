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
	"$BERTH" --root "$ROOT" "$@"
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
