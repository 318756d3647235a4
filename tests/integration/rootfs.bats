#!/usr/bin/env bats
# berth's container rootfs storage (overlay mounts over an image's layers)
# and read-only image mounts: `berth rootfs ...` (internal verbs until
# containers use it), `berth image mount/unmount`, and rmi of images in use.
# Every test has its own --root; teardown unmounts what is mounted under it.
# check-cgroupv2: not needed (overlay storage does not depend on the cgroup layout)

# shellcheck disable=SC2154
load helpers
load manager

setup_file() {
	make_busybox_image
	make_two_layer_image "$BATS_FILE_TMPDIR/two.tar"
}

setup() {
	manager_setup
}

teardown() {
	local m
	# Only mounts under this test's own --root, deepest first.
	for m in $(mounts_under "$ROOT" | sort -r); do
		umount "$m" || true
	done
}

# mounts_under DIR: mount points at or below DIR.
mounts_under() {
	awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo
}

# mount_options DIR: the superblock options of the mount at DIR.
mount_options() {
	awk -v d="$1" '$5 == d { for (i = 7; $i != "-"; i++); print $(i + 3) }' /proc/self/mountinfo
}

# lowerdirs DIR: the overlay at DIR's lower dirs, one a line, as given (top first).
lowerdirs() {
	mount_options "$1" | tr ',' '\n' | sed -n 's/^lowerdir+\{0,1\}=//p' | tr ':' '\n'
}

# make_two_layer_image OUT.tar: an OCI layout "localhost/two:latest" of the
# busybox layer plus a layer that replaces etc/hostname, whites out etc/group
# and makes home/ opaque.
make_two_layer_image() {
	local x=$BATS_FILE_TMPDIR/two l1 l2 config manifest
	mkdir -p "$x/oci/blobs/sha256" "$x/l2/etc" "$x/l2/home" "$x/bb"
	tar -C "$x/bb" -xf "$BATS_FILE_TMPDIR/busybox.tar"
	l1=$(jq -r '.layers[0].digest[7:]' "$x/bb/blobs/sha256/$(jq -r '.manifests[0].digest[7:]' "$x/bb/index.json")")
	cp "$x/bb/blobs/sha256/$l1" "$x/oci/blobs/sha256/$l1"
	echo top >"$x/l2/etc/hostname"
	: >"$x/l2/etc/.wh.group"
	: >"$x/l2/home/.wh..wh..opq"
	tar -C "$x/l2" --numeric-owner --owner=0 --group=0 -cf "$x/l2.tar" .
	l2=$(oci_blob "$x/oci" "$x/l2.tar")
	printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s","sha256:%s"]}}' \
		"$l1" "$l2" >"$x/config.json"
	config=$(oci_blob "$x/oci" "$x/config.json")
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s},{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
		"$config" "$(stat -c %s "$x/oci/blobs/sha256/$config")" "$l1" "$(stat -c %s "$x/oci/blobs/sha256/$l1")" \
		"$l2" "$(stat -c %s "$x/oci/blobs/sha256/$l2")" >"$x/manifest.json"
	manifest=$(oci_blob "$x/oci" "$x/manifest.json")
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"localhost/two:latest"}}]}' \
		"$manifest" "$(stat -c %s "$x/oci/blobs/sha256/$manifest")" >"$x/oci/index.json"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$x/oci/oci-layout"
	tar -C "$x/oci" -cf "$1" .
}

# oci_blob DIR FILE: moves FILE into DIR/blobs/sha256 under its digest, prints the hex.
oci_blob() {
	local d
	d=$(sha256sum "$2" | cut -d' ' -f1)
	mv "$2" "$1/blobs/sha256/$d"
	echo "$d"
}

# layer_dirs IMAGE: the image's layer dirs, top first.
layer_dirs() {
	berth image inspect "$1" | jq -r '.[0].LayerDirs | reverse | .[]'
}

# assert_no_storage_left: no mount under --root, no rootfs or image mount dir.
assert_no_storage_left() {
	local left
	left=$(mounts_under "$ROOT")
	left+=$(find "$ROOT/containers" "$ROOT/image-mounts" -mindepth 1 2>/dev/null || true)
	[ -z "$left" ] || fail "left under $ROOT:" "$left"
}

@test "rootfs: an overlay of the image's layers, top first, with upper and work dirs" {
	berth load -i "$BATS_FILE_TMPDIR/two.tar" >/dev/null
	local id m
	id=$(berth rootfs create two)
	[[ $id =~ ^[0-9a-f]{64}$ ]] || fail "id: $id"
	m=$(berth rootfs mount "$id")
	assert_equal "$m" "$ROOT/containers/$id/merged"
	assert_equal "$(lowerdirs "$m")" "$(layer_dirs two)"
	local opts
	opts=$(mount_options "$m")
	[[ $opts == *"upperdir=$ROOT/containers/$id/upper"* ]] || fail "options: $opts"
	[[ $opts == *"workdir=$ROOT/containers/$id/work"* ]] || fail "options: $opts"
	# nodev, as podman mounts a rootfs.
	awk -v d="$m" '$5 == d { print $6 }' /proc/self/mountinfo | grep -q nodev || fail "not nodev"
	# The upper layer wins, its whiteout hides, its opaque dir hides the lower content.
	assert_equal "$(cat "$m/etc/hostname")" top
	[ ! -e "$m/etc/group" ] || fail "etc/group is not hidden"
	[ -f "$m/etc/passwd" ] || fail "etc/passwd is gone"
	[ -x "$m/bin/busybox" ]
	# Writes land in the upper dir only.
	echo new >"$m/etc/new"
	[ -f "$ROOT/containers/$id/upper/etc/new" ]
	[ ! -e "$(layer_dirs two | head -1)/etc/new" ]
	berth rootfs rm "$id"
	assert_no_storage_left
}

@test "rootfs: mount counts: the last unmount unmounts, rm unmounts whatever the count" {
	berth load -i "$IMAGE" >/dev/null
	local id m
	id=$(berth rootfs create busybox)
	m=$(berth rootfs mount "$id")
	assert_equal "$(berth rootfs mount "$id")" "$m"
	assert_equal "$(mounts_under "$m" | wc -l)" 1
	run berth rootfs ls
	assert_output "$id $(berth images -q) 2 $m"
	berth rootfs unmount "$id"
	assert_equal "$(mounts_under "$m")" "$m"
	berth rootfs unmount "$id"
	assert_equal "$(mounts_under "$m")" ""
	# unmount -f: whatever the count.
	berth rootfs mount "$id" >/dev/null
	berth rootfs mount "$id" >/dev/null
	berth rootfs unmount -f "$id"
	assert_equal "$(mounts_under "$m")" ""
	berth rootfs mount "$id" >/dev/null
	berth rootfs rm "$id"
	assert_no_storage_left
	run berth rootfs mount "$id"
	assert_failure 125
	assert_output "berth: rootfs $id: not known"
}

@test "rootfs: a rootfs that is in use is not removed" {
	berth load -i "$IMAGE" >/dev/null
	local id m
	id=$(berth rootfs create busybox)
	m=$(berth rootfs mount "$id")
	# A process whose cwd is inside the mount keeps it busy.
	bash -c 'cd "$1" && exec sleep 30' _ "$m" &
	local pid=$!
	sleep 0.2
	run berth rootfs rm "$id"
	kill "$pid"
	wait "$pid" || true
	assert_failure 125
	assert_output_contains "berth: rootfs $id: unmount $m: it is busy"
	berth rootfs rm "$id"
	assert_no_storage_left
}

@test "rootfs: the mount(2) options string is used where the new mount API is missing" {
	berth load -i "$BATS_FILE_TMPDIR/two.tar" >/dev/null
	local id m
	id=$(berth rootfs create two)
	m=$(BERTH_OVERLAY_MOUNT_API=legacy "$BERTH" --root "$ROOT" rootfs mount "$id")
	mount_options "$m" | grep -q "lowerdir=$(layer_dirs two | paste -sd:)," || fail "options: $(mount_options "$m")"
	assert_equal "$(cat "$m/etc/hostname")" top
	berth rootfs rm "$id"
	assert_no_storage_left
}

@test "rootfs: an image without layers gets an empty rootfs" {
	local x=$BATS_TEST_TMPDIR/scratch config manifest
	mkdir -p "$x/blobs/sha256"
	echo '{"os":"linux","architecture":"amd64","rootfs":{"type":"layers","diff_ids":[]}}' >"$x/config.json"
	config=$(oci_blob "$x" "$x/config.json")
	printf '{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[]}' \
		"$config" "$(stat -c %s "$x/blobs/sha256/$config")" >"$x/manifest.json"
	manifest=$(oci_blob "$x" "$x/manifest.json")
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"localhost/scratch:1"}}]}' \
		"$manifest" "$(stat -c %s "$x/blobs/sha256/$manifest")" >"$x/index.json"
	tar -C "$x" -cf "$BATS_TEST_TMPDIR/scratch.tar" .
	berth load -i "$BATS_TEST_TMPDIR/scratch.tar" >/dev/null
	local id m p
	id=$(berth rootfs create scratch:1)
	m=$(berth rootfs mount "$id")
	assert_equal "$(ls -A "$m")" ""
	touch "$m/f"
	p=$(berth image mount scratch:1)
	assert_equal "$(ls -A "$p")" ""
	berth image unmount scratch:1 >/dev/null
	berth rootfs rm "$id"
	assert_no_storage_left
}

@test "rootfs diff: changes through the merged dir become a layer with whiteouts and an opaque dir" {
	berth load -i "$BATS_FILE_TMPDIR/two.tar" >/dev/null
	local id m
	id=$(berth rootfs create two)
	m=$(berth rootfs mount "$id")
	echo hello >"$m/etc/motd"
	rm "$m/etc/passwd" "$m/bin/ls"
	rm -r "$m/tmp"
	mkdir "$m/tmp"
	ln "$m/etc/motd" "$m/etc/motd2"
	chown 1000:1000 "$m/etc/motd"
	berth rootfs unmount "$id"
	run berth rootfs diff "$id" -o "$BATS_TEST_TMPDIR/layer.tar.gz"
	assert_success
	local digest diff_id
	digest=$(jq -r .Digest <<<"$output")
	diff_id=$(jq -r .DiffID <<<"$output")
	assert_equal "sha256:$(sha256sum <"$BATS_TEST_TMPDIR/layer.tar.gz" | cut -d' ' -f1)" "$digest"
	assert_equal "sha256:$(gzip -dc "$BATS_TEST_TMPDIR/layer.tar.gz" | sha256sum | cut -d' ' -f1)" "$diff_id"
	run tar -tzf "$BATS_TEST_TMPDIR/layer.tar.gz"
	assert_equal "$(sort <<<"$output")" "$(printf '%s\n' bin/ bin/.wh.ls etc/ etc/.wh.passwd etc/motd etc/motd2 tmp/ tmp/.wh..wh..opq | sort)"
	run tar -tvzf "$BATS_TEST_TMPDIR/layer.tar.gz" etc/motd etc/motd2
	assert_output_contains "1000/1000" "etc/motd2 link to etc/motd"
	# The blob is not kept in the store: no image uses it.
	[ ! -e "$ROOT/blobs/sha256/${digest#sha256:}" ]
	berth rootfs rm "$id"
	assert_no_storage_left
}

@test "rootfs: a container runs on it with berth-runtime" {
	berth load -i "$IMAGE" >/dev/null
	local id m b=$BATS_TEST_TMPDIR/bundle
	id=$(berth rootfs create busybox)
	m=$(berth rootfs mount "$id")
	mkdir -p "$b"
	(cd "$b" && "$RUNTIME" spec)
	jq --arg r "$m" '.root = {path: $r, readonly: false} | .process.terminal = false |
		.process.args = ["sh", "-c", "echo written >/written; cat /etc/hostname"]' "$b/config.json" >"$b/c.json"
	mv "$b/c.json" "$b/config.json"
	run "$RUNTIME" --root "$BATS_TEST_TMPDIR/run" run --bundle "$b" "rootfs-$$-$BATS_TEST_NUMBER"
	assert_success
	assert_output berth
	assert_equal "$(cat "$ROOT/containers/$id/upper/written")" written
	berth rootfs rm "$id"
	assert_no_storage_left
}

@test "image mount: a read-only overlay, counted, listed, unmounted" {
	berth load -i "$BATS_FILE_TMPDIR/two.tar" >/dev/null
	local p id
	id=$(berth images -q)
	run berth image mount two
	assert_success
	p=$output
	[[ $p == "$ROOT/image-mounts/$id"* ]] || fail "mount point: $p"
	assert_equal "$(lowerdirs "$p")" "$(layer_dirs two)"
	awk -v d="$p" '$5 == d { print $6 }' /proc/self/mountinfo | grep -q '^ro,' || fail "not read-only"
	assert_equal "$(cat "$p/etc/hostname")" top
	[ ! -e "$p/etc/group" ]
	run touch "$p/x"
	assert_failure
	assert_equal "$(berth image mount two)" "$p"
	run berth image mount
	assert_output "$id localhost/two:latest $p"
	# The mount outlives berth and survives one unmount of two.
	berth image unmount two
	assert_equal "$(mounts_under "$p")" "$p"
	run berth image umount two
	assert_success
	assert_output "$(berth image inspect two | jq -r '.[0].Id')"
	assert_no_storage_left
	run berth image mount
	assert_output ""
	run berth image unmount two
	assert_failure 125
	assert_output "berth: two: image is not mounted"
}

@test "image mount: one layer is enough; unmount -a and -f unmount whatever the count" {
	berth load -i "$IMAGE" >/dev/null
	berth load -i "$BATS_FILE_TMPDIR/two.tar" >/dev/null
	local p
	p=$(berth image mount busybox)
	[ -x "$p/bin/busybox" ]
	berth image mount busybox two >/dev/null
	berth image unmount -f busybox >/dev/null
	[ -z "$(mounts_under "$p")" ] || fail "still mounted: $p"
	berth image mount busybox busybox >/dev/null
	run berth image unmount -a
	assert_success
	assert_equal "${#lines[@]}" 2
	assert_no_storage_left
	run berth image unmount
	assert_failure 125
	assert_output "berth: image unmount: give image names or ids, or --all"
	run berth image mount nosuch
	assert_failure 125
	assert_output "berth: nosuch: image not known"
	assert_no_storage_left
}

@test "rmi: an image used by a rootfs or mounted is refused; -f removes the rootfs and unmounts" {
	berth load -i "$IMAGE" >/dev/null
	local id
	id=$(berth rootfs create busybox)
	berth rootfs mount "$id" >/dev/null
	run berth rmi busybox
	assert_failure 125
	assert_output "berth: busybox: image used by $id: image is in use by a container"
	# Refused means untouched: the name is still there.
	run berth images --format json
	[ "$(jq -r '.[0].Names[0]' <<<"$output")" = localhost/busybox:latest ]
	berth rootfs rm "$id"
	berth image mount busybox >/dev/null
	run berth rmi busybox
	assert_failure 125
	assert_output_contains "berth: busybox: image is mounted"
	id=$(berth rootfs create busybox)
	berth rootfs mount "$id" >/dev/null
	run berth rmi -f busybox
	assert_success
	assert_output_contains "Untagged: localhost/busybox:latest" "Deleted: "
	assert_no_storage_left
	run berth rootfs ls
	assert_output ""
	[ -z "$(find "$ROOT/layers" "$ROOT/blobs/sha256" -mindepth 1)" ]
}

@test "cleanup: a counted rootfs whose mount is gone is mounted again by the next command" {
	berth load -i "$IMAGE" >/dev/null
	local id m p
	id=$(berth rootfs create busybox)
	m=$(berth rootfs mount "$id")
	p=$(berth image mount busybox)
	# As after a reboot, or an unmount behind berth's back.
	umount "$m" "$p"
	run berth image mount
	assert_success
	assert_output_contains "mounting it again"
	assert_equal "$(mounts_under "$m")" "$m"
	assert_equal "$(mounts_under "$p")" "$p"
	[ -x "$m/bin/busybox" ]
	berth image unmount busybox >/dev/null
	berth rootfs rm "$id"
	assert_no_storage_left
}

@test "cleanup: a rootfs directory without a record (berth killed in rm) is unmounted and removed" {
	berth load -i "$IMAGE" >/dev/null
	# Killed mid-create: a record without its directory.
	local id
	id=$(berth rootfs create busybox)
	rm -r "$ROOT/containers/$id"
	local stray
	stray=$ROOT/containers/$(printf '%064d' 7)
	mkdir -p "$stray/merged" "$stray/upper"
	mount -t tmpfs tmpfs "$stray/merged"
	run berth rootfs ls
	assert_success
	assert_output_contains "no record; removing its directory" "its directory is gone; removing the record"
	[ "$(grep -c " $id " <<<"$output")" -eq 0 ] || fail "record kept: $output"
	[ ! -e "$stray" ] || fail "$stray is still there"
	assert_no_storage_left
}

@test "rootfs: a berth killed with SIGKILL while it waits for the storage lock changes nothing" {
	berth load -i "$IMAGE" >/dev/null
	local id m pid
	id=$(berth rootfs create busybox)
	m=$(berth rootfs mount "$id")
	# Hold the lock, so the next mount is surely blocked when it is killed.
	exec 9>"$ROOT/storage.lock"
	flock 9
	"$BERTH" --root "$ROOT" rootfs mount "$id" >/dev/null 2>&1 &
	pid=$!
	sleep 0.3
	grep -q '^State:.*S (sleeping)' "/proc/$pid/status" || fail "berth is not waiting"
	kill -9 "$pid"
	wait "$pid" || true
	flock -u 9
	exec 9>&-
	run berth rootfs ls
	assert_output "$id $(berth images -q) 1 $m"
	assert_equal "$(mounts_under "$m" | wc -l)" 1
	berth rootfs rm "$id"
	assert_no_storage_left
}

@test "rootfs: ten concurrent mounts make one mount with a count of ten" {
	berth load -i "$IMAGE" >/dev/null
	local id m i pids=()
	id=$(berth rootfs create busybox)
	for i in $(seq 10); do
		berth rootfs mount "$id" >"$BATS_TEST_TMPDIR/m$i" &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i"
	done
	m=$ROOT/containers/$id/merged
	assert_equal "$(cat "$BATS_TEST_TMPDIR"/m* | sort -u)" "$m"
	assert_equal "$(mounts_under "$m" | wc -l)" 1
	run berth rootfs ls
	assert_output "$id $(berth images -q) 10 $m"
	berth rootfs rm "$id"
	assert_no_storage_left
}

@test "rootfs: an unknown image or rootfs is named, nothing is left" {
	berth load -i "$IMAGE" >/dev/null
	run berth rootfs create nosuch
	assert_failure 125
	assert_output "berth: nosuch: image not known"
	run berth rootfs ls
	assert_output ""
	local id=0123456789012345678901234567890123456789012345678901234567890123
	for verb in mount unmount rm; do
		run berth rootfs "$verb" "$id"
		assert_failure 125
		assert_output "berth: rootfs $id: not known"
	done
	run berth rootfs diff "$id" -o "$BATS_TEST_TMPDIR/x"
	assert_failure 125
	[ ! -e "$BATS_TEST_TMPDIR/x" ]
	run berth rootfs nosuch
	assert_failure 125
	assert_output "berth: unknown command: rootfs nosuch"
	assert_no_storage_left
}

@test "commit: a rootfs's changes become a layer on its image: whiteout, opaque dir, --change, -m" {
	berth load -i "$IMAGE" >/dev/null
	local id m img
	id=$(berth rootfs create busybox)
	m=$(berth rootfs mount "$id")
	echo added >"$m/added"
	rm "$m/bin/ls"
	rm -r "$m/etc"
	mkdir "$m/etc"
	echo only >"$m/etc/only"
	# Committed while mounted (the upper dir is read as it is), by an id prefix.
	run berth commit --change 'CMD=["/bin/cat","/added"]' -c ENV=COMMITTED=1 -m "a test commit" -a tester \
		"${id:0:12}" committed:v1
	assert_success
	img=$output
	[[ $img =~ ^[0-9a-f]{64}$ ]] || fail "id: $img"
	run berth image inspect committed:v1
	assert_success
	assert_equal "$(jq -r '.[0].Id' <<<"$output")" "$img"
	assert_equal "$(jq -c '.[0].Config.Cmd' <<<"$output")" '["/bin/cat","/added"]'
	jq -e '.[0].Config.Env | index("COMMITTED=1")' <<<"$output" >/dev/null || fail "env: $output"
	assert_equal "$(jq -r '.[0].LayerDirs | length' <<<"$output")" 2
	# The base image's layer is shared; the new one is unpacked already.
	assert_equal "$(jq -r '.[0].LayerDirs[0]' <<<"$output")" "$(layer_dirs busybox)"
	[ -f "$(jq -r '.[0].LayerDirs[1]' <<<"$output")/added" ]
	run berth history --format json committed:v1
	assert_equal "$(jq -r '.[0].comment' <<<"$output")" "a test commit"
	assert_equal "$(jq -r '.[0].CreatedBy' <<<"$output")" "berth commit"
	# One row per layer: the new one on top, with its own (small) size.
	assert_equal "$(jq -r 'length' <<<"$output")" 2
	[ "$(jq -r '.[0].size' <<<"$output")" -lt "$(jq -r '.[1].size' <<<"$output")" ] || fail "sizes: $output"
	berth rootfs rm "$id"
	# A rootfs of the committed image has the changes.
	id=$(berth rootfs create committed:v1)
	m=$(berth rootfs mount "$id")
	assert_equal "$(cat "$m/added")" added
	[ ! -e "$m/bin/ls" ] || fail "bin/ls is not whited out"
	[ -x "$m/bin/busybox" ]
	assert_equal "$(ls -A "$m/etc")" only
	berth rootfs rm "$id"
	assert_no_storage_left
}

@test "commit: an unmounted, unchanged rootfs gives an empty layer; the image saves and skopeo reads it" {
	berth load -i "$IMAGE" >/dev/null
	local id img
	id=$(berth rootfs create busybox)
	img=$(berth commit -q --pause "$id")
	run berth images --format json
	assert_equal "$(jq -r '.[] | select(.Id == "'"$img"'") | .Names // [] | length' <<<"$output")" 0
	local blob
	blob=$(jq -r '.layers[1].digest[7:]' "$ROOT/blobs/sha256/$(berth image inspect "$img" | jq -r '.[0].Digest[7:]')")
	assert_equal "$(tar -tzf "$ROOT/blobs/sha256/$blob")" ""
	berth tag "$img" committed
	berth save --format oci-archive -o "$BATS_TEST_TMPDIR/o.tar" committed
	run skopeo inspect "oci-archive:$BATS_TEST_TMPDIR/o.tar"
	assert_success
	assert_equal "$(jq -r '.Layers | length' <<<"$output")" 2
	run skopeo inspect --config "oci-archive:$BATS_TEST_TMPDIR/o.tar"
	assert_success
	assert_equal "$(jq -r '.rootfs.diff_ids | length' <<<"$output")" 2
	assert_equal "$(jq -r '.history[-1].created_by' <<<"$output")" "berth commit"
	berth rootfs rm "$id"
	assert_no_storage_left
}

@test "commit: an unknown rootfs, a bad --change or a bad name is named, nothing is left" {
	berth load -i "$IMAGE" >/dev/null
	local id m before
	id=$(berth rootfs create busybox)
	m=$(berth rootfs mount "$id")
	echo x >"$m/x"
	before=$(find "$ROOT/blobs" "$ROOT/layers" | sort)
	run berth commit 0123456789012345678901234567890123456789012345678901234567890123
	assert_failure 125
	assert_output "berth: rootfs 0123456789012345678901234567890123456789012345678901234567890123: not known"
	run berth commit --change "FROM=x" "$id" bad
	assert_failure 125
	assert_output_contains 'berth: --change "FROM=x": unknown instruction FROM'
	run berth commit "$id" "Bad:Name"
	assert_failure 125
	[[ $output == "berth: "*"Bad:Name"* ]] || fail "output: $output"
	[ "${#lines[@]}" -eq 1 ] || fail "not one line: $output"
	run berth commit
	assert_failure 125
	assert_equal "$(find "$ROOT/blobs" "$ROOT/layers" | sort)" "$before"
	assert_equal "$(berth images -q | wc -l)" 1
	berth rootfs rm "$id"
	assert_no_storage_left
}
