#!/usr/bin/env bats
# berth (the manager): load, images, image inspect, rmi. Every test has its
# own --root; the busybox image is the one tools/make-oci-image builds
# offline from Debian's busybox-static.
# check-cgroupv2: not needed (no cgroup is involved; the host runs these)

# shellcheck disable=SC2154
load helpers
load manager

setup_file() {
	make_busybox_image
}

setup() {
	manager_setup
}

@test "berth: an unknown command or flag is a one-line usage error with status 125" {
	run "$BERTH" nosuchverb
	assert_failure 125
	assert_output "berth: unknown command: nosuchverb"
	run "$BERTH" --nosuchflag images
	assert_failure 125
	assert_output "berth: unknown flag: --nosuchflag"
	run berth images --nosuchflag
	assert_failure 125
	assert_output "berth: unknown flag: --nosuchflag"
}

@test "berth: --help and version" {
	run "$BERTH" --help
	assert_success
	assert_output_contains "Usage: berth" "--root DIR"
	run "$BERTH" version
	assert_success
	[[ $output == "berth version "* ]] || fail "output: $output"
}

@test "load: an OCI layout tar is loaded, named, and its layer unpacked" {
	run berth load -i "$IMAGE"
	assert_success
	assert_output "Loaded image: localhost/busybox:latest"
	run berth image inspect busybox
	assert_success
	local layer
	layer=$(jq -r '.[0].LayerDirs[0]' <<<"$output")
	[ -x "$layer/bin/busybox" ] || fail "no bin/busybox in $layer"
	[ "$(jq -r '.[0].RepoTags[0]' <<<"$output")" = localhost/busybox:latest ]
	[ "$(jq -r '.[0].Config.Cmd[0]' <<<"$output")" = sh ]
	[ "$(jq -r '.[0].Os' <<<"$output")" = linux ]
	# The blobs are stored under their digests, and verified.
	local id
	id=$(jq -r '.[0].Id' <<<"$output")
	[ "sha256:$(sha256sum "$ROOT/blobs/sha256/$id" | cut -d' ' -f1)" = "sha256:$id" ]
}

@test "images: a table, --format json and -q" {
	berth load -i "$IMAGE" >/dev/null
	run berth images
	assert_success
	[ "${lines[0]}" = "$(printf '%-40s %-12s %-14s %-22s %s' REPOSITORY TAG 'IMAGE ID' CREATED SIZE)" ] ||
		fail "header: ${lines[0]}"
	read -r repo tag id _ <<<"${lines[1]}"
	assert_equal "$repo $tag" "localhost/busybox latest"
	[[ $id =~ ^[0-9a-f]{12}$ ]] || fail "id: $id"
	run berth images -q
	assert_success
	assert_output "$id"
	run berth images --format json
	assert_success
	[ "$(jq -r '.[0].Names[0]' <<<"$output")" = localhost/busybox:latest ]
	[ "$(jq -r '.[0].Id[0:12]' <<<"$output")" = "$id" ]
	[ "$(jq -r '.[0].Size > 1000000' <<<"$output")" = true ]
	run berth images --format yaml
	assert_failure 125
	assert_output_contains 'unsupported --format "yaml"'
}

@test "image inspect: by id prefix; an unknown image is named" {
	berth load -i "$IMAGE" >/dev/null
	local id
	id=$(berth images -q)
	run berth image inspect "$id"
	assert_success
	[ "$(jq -r '.[0].Id[0:12]' <<<"$output")" = "$id" ]
	run berth image inspect nosuch
	assert_failure 125
	assert_output_contains "berth: nosuch: image not known"
}

@test "rmi: the last name removes the image, its blobs and layers" {
	berth load -i "$IMAGE" >/dev/null
	"$BERTH_SRCDIR/tools/make-oci-image" "$BATS_TEST_TMPDIR/two.tar" busybox:two >/dev/null
	berth load -i "$BATS_TEST_TMPDIR/two.tar" >/dev/null
	# Same content, same image: two names.
	[ "$(berth images -q | wc -l)" -eq 1 ]
	run berth rmi busybox
	assert_success
	assert_output "Untagged: localhost/busybox:latest"
	local layer
	layer=$(berth image inspect busybox:two | jq -r '.[0].LayerDirs[0]')
	[ -x "$layer/bin/busybox" ]
	run berth rmi localhost/busybox:two
	assert_success
	assert_output_contains "Untagged: localhost/busybox:two" "Deleted: "
	run berth images -q
	assert_output ""
	assert_root_empty
	run berth rmi busybox
	assert_failure 125
	assert_output "berth: busybox: image not known"
}

@test "load: docker-archive and oci-archive tars written by podman save" {
	command -v podman >/dev/null || skip "podman is not installed"
	local pm=$BATS_TEST_TMPDIR/podman
	mkdir -p "$pm/tmp"
	printf '[storage]\ndriver = "vfs"\nrunroot = "%s/runroot"\ngraphroot = "%s/root"\n' "$pm" "$pm" >"$pm/storage.conf"
	: >"$pm/containers.conf"
	(
		export CONTAINERS_STORAGE_CONF=$pm/storage.conf CONTAINERS_CONF=$pm/containers.conf TMPDIR=$pm/tmp
		podman load -i "$IMAGE" >/dev/null
		podman tag localhost/busybox:latest localhost/bb:docker
		podman save --format docker-archive -o "$pm/docker.tar" localhost/bb:docker
		podman save --format oci-archive -o "$pm/oci.tar" localhost/bb:docker
		podman rmi -a -f >/dev/null
	)
	run berth load -i "$pm/docker.tar"
	assert_success
	assert_output "Loaded image: localhost/bb:docker"
	local layer
	layer=$(berth image inspect bb:docker | jq -r '.[0].LayerDirs[0]')
	[ -x "$layer/bin/busybox" ] || fail "no bin/busybox in $layer"
	berth rmi bb:docker >/dev/null
	assert_root_empty
	# podman's oci-archive names the image by its full name.
	run berth load -i "$pm/oci.tar"
	assert_success
	assert_output "Loaded image: localhost/bb:docker"
}

@test "load: a gzip-compressed archive" {
	gzip -c "$IMAGE" >"$BATS_TEST_TMPDIR/busybox.tar.gz"
	run berth load -i "$BATS_TEST_TMPDIR/busybox.tar.gz"
	assert_success
	assert_output "Loaded image: localhost/busybox:latest"
}

@test "load: a missing file is named, nothing is left" {
	run berth load -i "$BATS_TEST_TMPDIR/nosuch.tar"
	assert_failure 125
	assert_output "berth: $BATS_TEST_TMPDIR/nosuch.tar: No such file or directory"
	assert_root_empty
}

@test "load: a file that is not a tar is named, nothing is left" {
	head -c 4096 /dev/urandom >"$BATS_TEST_TMPDIR/junk.tar"
	run berth load -i "$BATS_TEST_TMPDIR/junk.tar"
	assert_failure 125
	[ "${#lines[@]}" -eq 1 ] || fail "more than one line: $output"
	assert_output_contains "berth: $BATS_TEST_TMPDIR/junk.tar: "
	assert_root_empty
}

@test "load: a blob whose content does not match its digest is named, nothing is left" {
	local x=$BATS_TEST_TMPDIR/x layer
	mkdir "$x"
	tar -C "$x" -xf "$IMAGE"
	# The layer is the biggest blob; one appended byte changes its digest.
	layer=$(cd "$x/blobs/sha256" && ls -S | head -1)
	printf 'x' >>"$x/blobs/sha256/$layer"
	tar -C "$x" -cf "$BATS_TEST_TMPDIR/bad.tar" .
	run berth load -i "$BATS_TEST_TMPDIR/bad.tar"
	assert_failure 125
	[ "${#lines[@]}" -eq 1 ] || fail "more than one line: $output"
	assert_output_contains "bad.tar: blobs/sha256/$layer: digest mismatch: expected sha256:$layer, got sha256:"
	run berth images -q
	assert_output ""
	assert_root_empty
}

# store_blob DIR FILE: moves FILE into DIR/blobs/sha256 under its digest, prints the hex.
store_blob() {
	local d
	d=$(sha256sum "$2" | cut -d' ' -f1)
	mv "$2" "$1/blobs/sha256/$d"
	echo "$d"
}

@test "load: a layer whose content does not match the config's diff id is refused, nothing is left" {
	local x=$BATS_TEST_TMPDIR/x manifest config wrong
	mkdir "$x"
	tar -C "$x" -xf "$IMAGE"
	manifest=$(jq -r '.manifests[0].digest[7:]' "$x/index.json")
	config=$(jq -r '.config.digest[7:]' "$x/blobs/sha256/$manifest")
	# A consistent image (every digest right) that lies about its layer's content.
	wrong=sha256:$(printf '%064d' 0)
	jq -c --arg w "$wrong" '.rootfs.diff_ids = [$w]' "$x/blobs/sha256/$config" >"$x/config.json"
	config=$(store_blob "$x" "$x/config.json")
	jq -c --arg c "sha256:$config" --argjson s "$(stat -c %s "$x/blobs/sha256/$config")" \
		'.config.digest = $c | .config.size = $s' "$x/blobs/sha256/$manifest" >"$x/manifest.json"
	manifest=$(store_blob "$x" "$x/manifest.json")
	jq -c --arg m "sha256:$manifest" --argjson s "$(stat -c %s "$x/blobs/sha256/$manifest")" \
		'.manifests[0].digest = $m | .manifests[0].size = $s' "$x/index.json" >"$x/index.new"
	mv "$x/index.new" "$x/index.json"
	tar -C "$x" -cf "$BATS_TEST_TMPDIR/lying.tar" .
	run berth load -i "$BATS_TEST_TMPDIR/lying.tar"
	assert_failure 125
	[ "${#lines[@]}" -eq 1 ] || fail "more than one line: $output"
	assert_output_contains "diff id mismatch: expected $wrong, got sha256:"
	run berth images -q
	assert_output ""
	assert_root_empty
}

@test "load: a docker-archive missing a layer names it, nothing is left" {
	local x=$BATS_TEST_TMPDIR/x
	mkdir "$x"
	echo '{"os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' >"$x/cfg.json"
	echo '[{"Config":"cfg.json","RepoTags":["bad:1"],"Layers":["abc/layer.tar"]}]' >"$x/manifest.json"
	tar -C "$x" -cf "$BATS_TEST_TMPDIR/docker.tar" .
	run berth load -i "$BATS_TEST_TMPDIR/docker.tar"
	assert_failure 125
	assert_output "berth: manifest.json: layer \"abc/layer.tar\" is not in the archive"
	assert_root_empty
}

@test "load: --debug logs what is stored and unpacked" {
	run "$BERTH" --debug --root "$ROOT" load -i "$IMAGE"
	assert_success
	assert_output_contains "level=debug" "load: unpacking layer sha256:"
}
