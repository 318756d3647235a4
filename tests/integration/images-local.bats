#!/usr/bin/env bats
# berth's local image verbs: tag/untag, save, load from stdin, import,
# history, image prune, rmi -f/-a, concurrent load/rmi, layer size limits.
# Every test has its own --root; the busybox image is the one
# tools/make-oci-image builds offline from Debian's busybox-static.
# check-cgroupv2: not needed (no cgroup is involved; the host runs these)

# ROOT is set per test (bats runs each test in a subshell).
# shellcheck disable=SC2154,SC2030,SC2031
load helpers
load manager

setup_file() {
	make_busybox_image
}

setup() {
	manager_setup
}

@test "tag: adds names to an image; image tag is the same verb" {
	berth load -i "$IMAGE" >/dev/null
	run berth tag busybox bb:1 localhost:5000/team/bb:2
	assert_success
	assert_output ""
	berth image tag busybox:latest bb:3
	run berth image inspect bb:1
	assert_success
	[ "$(jq -c '.[0].RepoTags' <<<"$output")" = \
		'["localhost/bb:1","localhost/bb:3","localhost/busybox:latest","localhost:5000/team/bb:2"]' ] ||
		fail "names: $output"
	[ "$(berth images -q | wc -l)" -eq 1 ]
}

@test "tag: an unknown source, a bad target or a digest target is an error, nothing is added" {
	berth load -i "$IMAGE" >/dev/null
	run berth tag nosuch bb:1
	assert_failure 125
	assert_output "berth: nosuch: image not known"
	run berth tag busybox ok:1 Bad:2
	assert_failure 125
	assert_output_contains 'berth: invalid reference "Bad:2"'
	run berth tag busybox "bb@sha256:$(printf '%064d' 0)"
	assert_failure 125
	assert_output_contains "a digest cannot be a tag"
	run berth tag busybox
	assert_failure 125
	assert_output "berth: tag: SOURCE and at least one TARGET are required"
	[ "$(berth image inspect busybox | jq -c '.[0].RepoTags')" = '["localhost/busybox:latest"]' ]
}

@test "untag: removes the given names or all of them; the image stays" {
	berth load -i "$IMAGE" >/dev/null
	berth tag busybox bb:1 bb:2
	run berth untag busybox bb:1
	assert_success
	[ "$(berth image inspect busybox | jq -c '.[0].RepoTags')" = '["localhost/bb:2","localhost/busybox:latest"]' ]
	run berth untag bb:2 bb:9
	assert_failure 125
	assert_output "berth: bb:9: tag not known"
	run berth untag bb:2
	assert_success
	run berth images --format json
	[ "$(jq -c '.[0].Names' <<<"$output")" = '[]' ]
	run berth images
	assert_output_contains "<none>"
}

# podman with a private store under the test's temp dir: PM load|images|...
PM() {
	local pm=$BATS_TEST_TMPDIR/podman
	mkdir -p "$pm/tmp"
	podman --root "$pm/root" --runroot "$pm/runroot" --storage-driver vfs --tmpdir "$pm/tmp" "$@"
}

@test "save: docker-archive (the default) round-trips: same id, same names" {
	berth load -i "$IMAGE" >/dev/null
	berth tag busybox bb:2
	local id
	id=$(berth images --format json | jq -r '.[0].Id')
	run berth save -o "$BATS_TEST_TMPDIR/out.tar" busybox bb:2
	assert_success
	assert_output ""
	# One image, written once, with both names.
	tar -xOf "$BATS_TEST_TMPDIR/out.tar" manifest.json >"$BATS_TEST_TMPDIR/m.json"
	[ "$(jq -c '[length, .[0].RepoTags]' "$BATS_TEST_TMPDIR/m.json")" = '[1,["localhost/busybox:latest","localhost/bb:2"]]' ] ||
		fail "manifest.json: $(cat "$BATS_TEST_TMPDIR/m.json")"
	ROOT=$BATS_TEST_TMPDIR/root2
	run berth load -i "$BATS_TEST_TMPDIR/out.tar"
	assert_success
	assert_output_contains "Loaded image: localhost/busybox:latest" "Loaded image: localhost/bb:2"
	run berth images --format json
	[ "$(jq -r '.[0].Id' <<<"$output")" = "$id" ]
	[ "$(jq -c '.[0].Names' <<<"$output")" = '["localhost/bb:2","localhost/busybox:latest"]' ]
	local layer
	layer=$(berth image inspect busybox | jq -r '.[0].LayerDirs[0]')
	[ -x "$layer/bin/busybox" ]
}

@test "save: oci-archive and oci-dir round-trip" {
	berth load -i "$IMAGE" >/dev/null
	local id
	id=$(berth images --format json | jq -r '.[0].Id')
	berth save --format oci-archive -o "$BATS_TEST_TMPDIR/oci.tar" busybox
	berth save --format oci-dir -o "$BATS_TEST_TMPDIR/dir" busybox
	[ "$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$BATS_TEST_TMPDIR/dir/index.json")" = \
		localhost/busybox:latest ]
	[ -f "$BATS_TEST_TMPDIR/dir/blobs/sha256/$id" ]
	[ "$(cat "$BATS_TEST_TMPDIR/dir/oci-layout")" = '{"imageLayoutVersion":"1.0.0"}' ]
	ROOT=$BATS_TEST_TMPDIR/root2
	run berth load -i "$BATS_TEST_TMPDIR/oci.tar"
	assert_success
	assert_output "Loaded image: localhost/busybox:latest"
	[ "$(berth images --format json | jq -r '.[0].Id')" = "$id" ]
	# The directory tarred up is the same layout.
	ROOT=$BATS_TEST_TMPDIR/root3
	tar -C "$BATS_TEST_TMPDIR/dir" -cf "$BATS_TEST_TMPDIR/dir.tar" .
	run berth load -i "$BATS_TEST_TMPDIR/dir.tar"
	assert_success
	[ "$(berth images --format json | jq -r '.[0].Id')" = "$id" ]
}

@test "save: several images in one docker-archive" {
	berth load -i "$IMAGE" >/dev/null
	rootfs_tar "$BATS_TEST_TMPDIR/rootfs.tar"
	berth import "$BATS_TEST_TMPDIR/rootfs.tar" other:1 >/dev/null
	berth save -o "$BATS_TEST_TMPDIR/two.tar" busybox other:1
	ROOT=$BATS_TEST_TMPDIR/root2
	run berth load -i "$BATS_TEST_TMPDIR/two.tar"
	assert_success
	assert_output_contains "Loaded image: localhost/busybox:latest" "Loaded image: localhost/other:1"
	[ "$(berth images -q | wc -l)" -eq 2 ]
}

@test "save: the archives load in podman and skopeo reads them" {
	command -v podman >/dev/null || skip "podman is not installed"
	command -v skopeo >/dev/null || skip "skopeo is not installed"
	berth load -i "$IMAGE" >/dev/null
	local id
	id=$(berth images --format json | jq -r '.[0].Id')
	berth save -o "$BATS_TEST_TMPDIR/d.tar" busybox
	berth save --format oci-archive -o "$BATS_TEST_TMPDIR/o.tar" busybox
	run skopeo inspect --config "docker-archive:$BATS_TEST_TMPDIR/d.tar"
	assert_success
	[ "$(jq -r '.rootfs.diff_ids | length' <<<"$output")" = 1 ]
	run skopeo inspect "oci-archive:$BATS_TEST_TMPDIR/o.tar"
	assert_success
	[ "$(jq -r '.Layers | length' <<<"$output")" = 1 ]
	run PM load -i "$BATS_TEST_TMPDIR/d.tar"
	assert_success
	run PM images --format '{{.Id}} {{.Repository}}:{{.Tag}}' --no-trunc
	assert_success
	assert_output "$id localhost/busybox:latest"
	PM rmi -a -f >/dev/null
	run PM load -i "$BATS_TEST_TMPDIR/o.tar"
	assert_success
	run PM images --format '{{.Id}} {{.Repository}}:{{.Tag}}' --no-trunc
	assert_output "$id localhost/busybox:latest"
	PM rmi -a -f >/dev/null
	# Two images in one docker-archive.
	rootfs_tar "$BATS_TEST_TMPDIR/r.tar"
	berth import "$BATS_TEST_TMPDIR/r.tar" other:1 >/dev/null
	berth save -o "$BATS_TEST_TMPDIR/two.tar" busybox other:1
	run PM load -i "$BATS_TEST_TMPDIR/two.tar"
	assert_success
	[ "$(PM images --format '{{.Id}} {{.Repository}}:{{.Tag}}' --no-trunc | sort)" = \
		"$(berth images --format json | jq -r '.[] | "\(.Id) \(.Names[0])"' | sort)" ] ||
		fail "podman: $(PM images)"
	PM rmi -a -f >/dev/null
}

@test "save: refuses a terminal, an unknown format or image; a failed save leaves no file" {
	berth load -i "$IMAGE" >/dev/null
	run berth save --format tar busybox
	assert_failure 125
	assert_output 'berth: unsupported --format "tar" (docker-archive, oci-archive or oci-dir)'
	run berth save -o "$BATS_TEST_TMPDIR/x.tar" busybox nosuch
	assert_failure 125
	assert_output "berth: nosuch: image not known"
	run berth save --format oci-dir busybox
	assert_failure 125
	assert_output "berth: save: --format oci-dir needs -o DIR"
	# A layer blob gone from the store: the save fails and leaves nothing.
	rm "$ROOT/blobs/sha256/$(berth image inspect busybox | jq -r '.[0].RootFS.diff_ids[0][7:]')"
	run berth save -o "$BATS_TEST_TMPDIR/x.tar" busybox
	assert_failure 125
	assert_output_contains "berth: " "No such file or directory"
	[ -z "$(find "$BATS_TEST_TMPDIR" -maxdepth 1 -name 'x.tar*')" ] || fail "left: $(ls "$BATS_TEST_TMPDIR")"
	if command -v script >/dev/null; then
		run script -qec "$BERTH --root $ROOT save busybox" /dev/null
		assert_output_contains "refusing to write an archive to a terminal"
	fi
}

@test "save: to stdout when it is not a terminal" {
	berth load -i "$IMAGE" >/dev/null
	berth save busybox >"$BATS_TEST_TMPDIR/s.tar"
	tar -tf "$BATS_TEST_TMPDIR/s.tar" | grep -qx manifest.json
}

@test "load: from stdin without -i, with -i -, and gzip-compressed" {
	run berth load <"$IMAGE"
	assert_success
	assert_output "Loaded image: localhost/busybox:latest"
	berth rmi busybox >/dev/null
	run bash -c "gzip -c '$IMAGE' | '$BERTH' --root '$ROOT' load -i -"
	assert_success
	assert_output "Loaded image: localhost/busybox:latest"
	local layer
	layer=$(berth image inspect busybox | jq -r '.[0].LayerDirs[0]')
	[ -x "$layer/bin/busybox" ]
}

@test "load: a terminal on stdin is refused" {
	command -v script >/dev/null || skip "script (bsdutils) is not installed"
	run script -qec "$BERTH --root $ROOT load" /dev/null
	assert_output_contains "berth: load: cannot read an archive from a terminal; use -i FILE or redirect stdin"
	assert_root_empty
}

@test "load: junk on stdin is named stdin, nothing is left" {
	run bash -c "head -c 4096 /dev/urandom | '$BERTH' --root '$ROOT' load"
	assert_failure 125
	assert_output_contains "berth: stdin: "
	[ "${#lines[@]}" -eq 1 ] || fail "more than one line: $output"
	assert_root_empty
}

# rootfs_tar OUT [COMPRESS]: a small rootfs tarball (etc/hello), optionally compressed.
rootfs_tar() {
	local d=$BATS_TEST_TMPDIR/rootfs
	mkdir -p "$d/etc"
	printf 'hello\n' >"$d/etc/hello"
	case ${2:-} in
	gzip) tar -C "$d" -czf "$1" . ;;
	zstd) tar -C "$d" --zstd -cf "$1" . ;;
	*) tar -C "$d" -cf "$1" . ;;
	esac
}

@test "import: a rootfs tarball becomes a one-layer image with the changes; the id is printed" {
	rootfs_tar "$BATS_TEST_TMPDIR/r.tar.gz" gzip
	run berth import --change 'CMD=["/bin/cat","/etc/hello"]' -c 'ENV FOO=bar' -c EXPOSE=8080 -c LABEL=a=b \
		-c USER=1000 -c WORKDIR=/etc -m "from a test" "$BATS_TEST_TMPDIR/r.tar.gz" imp:1
	assert_success
	[[ $output =~ ^[0-9a-f]{64}$ ]] || fail "output: $output"
	local id=$output
	run berth image inspect imp:1
	assert_success
	[ "$(jq -r '.[0].Id' <<<"$output")" = "$id" ]
	[ "$(jq -c '.[0].Config' <<<"$output")" = \
		'{"Cmd":["/bin/cat","/etc/hello"],"Env":["FOO=bar"],"ExposedPorts":{"8080/tcp":{}},"Labels":{"a":"b"},"User":"1000","WorkingDir":"/etc"}' ] ||
		fail "config: $output"
	[ "$(jq -r '.[0].Os' <<<"$output")" = linux ]
	local arch
	arch=$(dpkg --print-architecture)
	[ "$(jq -r '.[0].Architecture' <<<"$output")" = "$arch" ]
	# The layer is stored uncompressed: its digest is its diff id.
	local diff
	diff=$(jq -r '.[0].RootFS.diff_ids[0][7:]' <<<"$output")
	[ "$(gzip -dc "$BATS_TEST_TMPDIR/r.tar.gz" | sha256sum | cut -d' ' -f1)" = "$diff" ]
	[ "$(cat "$(jq -r '.[0].LayerDirs[0]' <<<"$output")/etc/hello")" = hello ]
	[ "$(jq -r '.history[0].comment' "$ROOT/blobs/sha256/$id")" = "from a test" ]
}

@test "import: a sparse file keeps its holes, its size and its bytes (also a trailing hole)" {
	local w=$BATS_TEST_TMPDIR/sparse layer
	mkdir -p "$w/rootfs"
	printf head | dd of="$w/rootfs/disk" bs=1 conv=notrunc status=none
	printf middle | dd of="$w/rootfs/disk" bs=1 seek=$((4 << 20)) conv=notrunc status=none
	truncate -s 8M "$w/rootfs/disk"
	tar -C "$w/rootfs" --sparse --numeric-owner -cf "$w/sparse.tar" .
	run berth import "$w/sparse.tar" sparse:1
	assert_success
	layer=$(berth image inspect sparse:1 | jq -r '.[0].LayerDirs[0]')
	[ "$(stat -c %s "$layer/disk")" = $((8 << 20)) ] || fail "size: $(stat -c %s "$layer/disk")"
	cmp "$w/rootfs/disk" "$layer/disk" || fail "the bytes differ"
	# Holes stay holes: far less than 8 MiB is allocated.
	[ "$(du -k "$layer/disk" | cut -f1)" -lt 1024 ] || fail "allocated: $(du -k "$layer/disk")"
}

@test "import: zstd and plain tarballs, from stdin, without a name" {
	rootfs_tar "$BATS_TEST_TMPDIR/r.tar.zst" zstd
	rootfs_tar "$BATS_TEST_TMPDIR/r.tar"
	run berth import "$BATS_TEST_TMPDIR/r.tar.zst" z:1
	assert_success
	run berth import -m second - <"$BATS_TEST_TMPDIR/r.tar"
	assert_success
	run berth images --format json
	[ "$(jq -r 'map(.Names | length) | sort | join(",")' <<<"$output")" = "0,1" ] || fail "$output"
	# Same layer content, one unpacked layer.
	[ "$(find "$ROOT/layers" -mindepth 1 -maxdepth 1 | wc -l)" -eq 1 ]
}

@test "import: a bad --change, junk or an escaping tarball is an error, nothing is left" {
	rootfs_tar "$BATS_TEST_TMPDIR/r.tar"
	run berth import -c FROM=scratch "$BATS_TEST_TMPDIR/r.tar"
	assert_failure 125
	assert_output 'berth: --change "FROM=scratch": unknown instruction FROM (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR)'
	head -c 5000 /dev/urandom >"$BATS_TEST_TMPDIR/junk"
	run berth import "$BATS_TEST_TMPDIR/junk" j:1
	assert_failure 125
	[ "${#lines[@]}" -eq 1 ] || fail "more than one line: $output"
	assert_output_contains "berth: $BATS_TEST_TMPDIR/junk: "
	python3 -c '
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    i = tarfile.TarInfo("../escape"); data = b"x"; i.size = len(data)
    t.addfile(i, io.BytesIO(data))' "$BATS_TEST_TMPDIR/evil.tar"
	run berth import "$BATS_TEST_TMPDIR/evil.tar" evil:1
	assert_failure 125
	assert_output_contains 'entry "../escape"' 'path has a ".." component'
	[ ! -e "$ROOT/../escape" ]
	run berth import "$BATS_TEST_TMPDIR/nosuch.tar"
	assert_failure 125
	assert_output_contains "nosuch.tar"
	run berth images -q
	assert_output ""
	assert_root_empty
}

@test "tag: a name moves from the image it named before" {
	berth load -i "$IMAGE" >/dev/null
	rootfs_tar "$BATS_TEST_TMPDIR/r.tar"
	berth import -c CMD=true "$BATS_TEST_TMPDIR/r.tar" other:1 >/dev/null
	berth tag other:1 busybox
	[ "$(berth image inspect busybox | jq -r '.[0].Config.Cmd[2]')" = true ]
	run berth images --format json
	# busybox's image lost its only name: it is dangling, not gone.
	[ "$(jq -r 'map(.Names | length) | sort | join(",")' <<<"$output")" = "0,2" ] || fail "$output"
}

# with_history OUT.tar: the busybox image with a history of one layer entry
# and one empty_layer entry (a config change).
with_history() {
	variant "$1" localhost/busybox:latest '.created = "2024-01-02T00:00:00Z" | .history = [
		{"created":"2024-01-01T00:00:00Z","created_by":"/bin/sh -c #(nop) ADD file:busybox in / ","comment":"the rootfs"},
		{"created":"2024-01-02T00:00:00Z","created_by":"/bin/sh -c #(nop)  CMD [\"sh\"]","empty_layer":true}]'
}

@test "history: newest first, empty layers 0 B, sizes from the store; -q, --no-trunc, --format json" {
	with_history "$BATS_TEST_TMPDIR/h.tar"
	berth load -i "$BATS_TEST_TMPDIR/h.tar" >/dev/null
	local id size
	id=$(berth images --format json | jq -r '.[0].Id')
	size=$(stat -c %s "$(find "$ROOT/blobs/sha256" -size +1M)")
	run berth history busybox
	assert_success
	[ "${lines[0]}" = "$(printf '%-14s %-22s %-45s %-10s %s' ID CREATED 'CREATED BY' SIZE COMMENT)" ] ||
		fail "header: ${lines[0]}"
	[[ ${lines[1]} == "${id:0:12}   "*"ago"*'/bin/sh -c #(nop)  CMD ["sh"]'*" 0 B "* ]] || fail "row 1: ${lines[1]}"
	[[ ${lines[2]} == "<missing>      "*"/bin/sh -c #(nop) ADD file:busybox in /"*" MB "*"the rootfs" ]] ||
		fail "row 2: ${lines[2]}"
	run berth history -q busybox
	assert_output "${id:0:12}
<missing>"
	run berth history -q --no-trunc busybox
	assert_output "$id
<missing>"
	run berth history --format json busybox
	assert_success
	[ "$(jq -c 'map(.size)' <<<"$output")" = "[0,$size]" ] || fail "$output"
	[ "$(jq -c '.[0].tags' <<<"$output")" = '["localhost/busybox:latest"]' ]
	[ "$(jq -r '.[1].comment' <<<"$output")" = "the rootfs" ]
	run berth image history nosuch
	assert_failure 125
	assert_output "berth: nosuch: image not known"
}

@test "history: agrees with podman's for the same archive" {
	command -v podman >/dev/null || skip "podman is not installed"
	with_history "$BATS_TEST_TMPDIR/h.tar"
	berth load -i "$BATS_TEST_TMPDIR/h.tar" >/dev/null
	PM load -i "$BATS_TEST_TMPDIR/h.tar" >/dev/null 2>&1
	local ours theirs
	ours=$(berth history --format json busybox | jq -c 'map([.id[0:12], .CreatedBy, .size, .comment])')
	theirs=$(PM history --format json localhost/busybox | jq -c 'map([.id[0:12], .CreatedBy, .size, .comment])')
	PM rmi -a -f >/dev/null
	assert_equal "$ours" "$theirs"
}

@test "rmi: an id with several names needs --force; -f on a name removes every name" {
	berth load -i "$IMAGE" >/dev/null
	berth tag busybox bb:1 bb:2
	local id
	id=$(berth images --format json | jq -r '.[0].Id')
	run berth rmi "${id:0:12}"
	assert_failure 125
	assert_output "berth: unable to delete image $id by ID with more than one name (localhost/bb:1, localhost/bb:2, localhost/busybox:latest): use --force"
	run berth rmi bb:1
	assert_success
	assert_output "Untagged: localhost/bb:1"
	run berth rmi -f bb:2
	assert_success
	assert_output "Untagged: localhost/bb:2
Untagged: localhost/busybox:latest
Deleted: $id"
	assert_root_empty
}

@test "rmi -a: removes every image; with names it is a usage error" {
	berth load -i "$IMAGE" >/dev/null
	rootfs_tar "$BATS_TEST_TMPDIR/r.tar"
	berth import "$BATS_TEST_TMPDIR/r.tar" >/dev/null
	run berth rmi -a busybox
	assert_failure 125
	assert_output "berth: rmi: --all takes no image names or ids"
	run berth rmi -a
	assert_success
	[ "$(grep -c '^Deleted: ' <<<"$output")" -eq 2 ] || fail "$output"
	run berth images -q
	assert_output ""
	assert_root_empty
}

@test "image prune: removes dangling images only; -a removes all; without -f it asks" {
	berth load -i "$IMAGE" >/dev/null
	rootfs_tar "$BATS_TEST_TMPDIR/r.tar"
	local dangling
	dangling=$(berth import "$BATS_TEST_TMPDIR/r.tar")
	run berth image prune <<<"n"
	assert_success
	assert_output_contains "WARNING! This command removes all dangling images."
	[ "$(berth images -q | wc -l)" -eq 2 ]
	run berth image prune <<<"y"
	assert_success
	assert_output_contains "$dangling"
	run berth images --format json
	[ "$(jq -r '.[0].Names[0]' <<<"$output")" = localhost/busybox:latest ]
	[ "$(jq -r 'length' <<<"$output")" = 1 ]
	run berth image prune -f
	assert_success
	assert_output ""
	run berth image prune -a -f
	assert_success
	[[ $output =~ ^[0-9a-f]{64}$ ]] || fail "output: $output"
	assert_root_empty
}

# Every image's blobs (config, manifest, layers) and unpacked layers are there.
assert_images_intact() {
	local img id manifest layer dir
	for img in $(berth images --format json | jq -r '.[] | "\(.Id),\(.Digest)"'); do
		id=${img%,*}
		manifest=${img#*,}
		[ -f "$ROOT/blobs/sha256/$id" ] || fail "config blob of $id is gone"
		[ -f "$ROOT/blobs/sha256/${manifest#sha256:}" ] || fail "manifest blob of $id is gone"
		for layer in $(jq -r '.layers[].digest[7:]' "$ROOT/blobs/sha256/${manifest#sha256:}"); do
			[ -f "$ROOT/blobs/sha256/$layer" ] || fail "layer blob $layer of $id is gone"
		done
		for dir in $(berth image inspect "$id" | jq -r '.[0].LayerDirs[]'); do
			[ -x "$dir/bin/busybox" ] || fail "layer dir $dir of $id is gone"
		done
	done
}

@test "store: concurrent loads and an rmi of images sharing a layer lose nothing and leave nothing" {
	local i
	variant "$BATS_TEST_TMPDIR/a.tar" localhost/a:1 '.created = "2024-01-01T00:00:00Z"'
	variant "$BATS_TEST_TMPDIR/b.tar" localhost/b:1 '.created = "2024-01-02T00:00:00Z"'
	variant "$BATS_TEST_TMPDIR/c.tar" localhost/c:1 '.created = "2024-01-03T00:00:00Z"'
	for i in $(seq 12); do
		berth rmi -a >/dev/null
		berth load -i "$BATS_TEST_TMPDIR/c.tar" >/dev/null
		# c goes while a and b come, all three with the same layer blob and layer.
		berth load -i "$BATS_TEST_TMPDIR/a.tar" >"$BATS_TEST_TMPDIR/a.out" 2>&1 &
		local pa=$!
		berth load -i "$BATS_TEST_TMPDIR/b.tar" >"$BATS_TEST_TMPDIR/b.out" 2>&1 &
		local pb=$!
		berth rmi c:1 >"$BATS_TEST_TMPDIR/c.out" 2>&1 || fail "round $i: rmi: $(cat "$BATS_TEST_TMPDIR/c.out")"
		wait "$pa" || fail "round $i: load a: $(cat "$BATS_TEST_TMPDIR/a.out")"
		wait "$pb" || fail "round $i: load b: $(cat "$BATS_TEST_TMPDIR/b.out")"
		[ "$(berth images --format json | jq -c 'map(.Names[0]) | sort')" = '["localhost/a:1","localhost/b:1"]' ] ||
			fail "round $i: images: $(berth images)"
		assert_images_intact
	done
	berth rmi -a >/dev/null
	assert_root_empty
}

@test "layer limit: a layer bigger than BERTH_MAX_LAYER_SIZE is refused, naming it; nothing is left" {
	local id layer
	layer=$(tar -xOf "$IMAGE" ./index.json | jq -r '.manifests[0].digest[7:]')
	layer=$(tar -xOf "$IMAGE" "./blobs/sha256/$layer" | jq -r '.layers[0].digest')
	BERTH_MAX_LAYER_SIZE=1M run berth load -i "$IMAGE"
	assert_failure 125
	assert_output "berth: layer $layer: uncompressed size exceeds the limit of 1048576 bytes (BERTH_MAX_LAYER_SIZE)"
	assert_root_empty
	# A gzip bomb: 64 MiB of zeros in a ~64 KiB tarball.
	mkdir "$BATS_TEST_TMPDIR/bomb"
	head -c 64M /dev/zero >"$BATS_TEST_TMPDIR/bomb/zeros"
	tar -C "$BATS_TEST_TMPDIR/bomb" -czf "$BATS_TEST_TMPDIR/bomb.tar.gz" zeros
	BERTH_MAX_LAYER_SIZE=8M run berth import "$BATS_TEST_TMPDIR/bomb.tar.gz" bomb:1
	assert_failure 125
	assert_output "berth: $BATS_TEST_TMPDIR/bomb.tar.gz: uncompressed size exceeds the limit of 8388608 bytes (BERTH_MAX_LAYER_SIZE)"
	assert_root_empty
	# Under the limit all is well.
	BERTH_MAX_LAYER_SIZE=100M run berth load -i "$IMAGE"
	assert_success
}

@test "save: a gzip layer goes uncompressed into a docker-archive and as it is into an oci-archive" {
	local x=$BATS_TEST_TMPDIR/gz manifest layer gz id
	mkdir "$x"
	tar -C "$x" -xf "$IMAGE"
	manifest=$(jq -r '.manifests[0].digest[7:]' "$x/index.json")
	layer=$(jq -r '.layers[0].digest[7:]' "$x/blobs/sha256/$manifest")
	gzip -c "$x/blobs/sha256/$layer" >"$x/layer.gz"
	rm "$x/blobs/sha256/$layer"
	gz=$(store_blob "$x" "$x/layer.gz")
	jq -c --arg d "sha256:$gz" --argjson s "$(stat -c %s "$x/blobs/sha256/$gz")" \
		'.layers[0] = {"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":$d,"size":$s}' \
		"$x/blobs/sha256/$manifest" >"$x/manifest.json"
	rm "$x/blobs/sha256/$manifest"
	manifest=$(store_blob "$x" "$x/manifest.json")
	jq -c --arg m "sha256:$manifest" --argjson s "$(stat -c %s "$x/blobs/sha256/$manifest")" \
		'.manifests[0].digest = $m | .manifests[0].size = $s' "$x/index.json" >"$x/index.new"
	mv "$x/index.new" "$x/index.json"
	tar -C "$x" -cf "$BATS_TEST_TMPDIR/gz.tar" .
	berth load -i "$BATS_TEST_TMPDIR/gz.tar" >/dev/null
	id=$(berth images --format json | jq -r '.[0].Id')
	berth save -o "$BATS_TEST_TMPDIR/d.tar" busybox
	berth save --format oci-archive -o "$BATS_TEST_TMPDIR/o.tar" busybox
	# docker-archive: the layer is the uncompressed tar, named by its diff id.
	[ "$(tar -xOf "$BATS_TEST_TMPDIR/d.tar" "$layer.tar" | sha256sum | cut -d' ' -f1)" = "$layer" ]
	tar -tf "$BATS_TEST_TMPDIR/o.tar" | grep -qx "blobs/sha256/$gz"
	run berth history --format json busybox
	[ "$(jq -r '.[0].size' <<<"$output")" = "$(tar -xOf "$IMAGE" "./blobs/sha256/$layer" | wc -c)" ]
	local r
	for r in d o; do
		ROOT=$BATS_TEST_TMPDIR/root-$r
		berth load -i "$BATS_TEST_TMPDIR/$r.tar" >/dev/null
		[ "$(berth images --format json | jq -r '.[0].Id')" = "$id" ]
	done
}
