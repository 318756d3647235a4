#!/usr/bin/env bats
# berth pull, login, logout against real registries: Debian's docker-registry
# on 127.0.0.1 (plain HTTP, TLS with a self-signed certificate, htpasswd
# basic auth), images pushed by skopeo. Every test has its own --root and
# registry; teardown stops the registry by its PID.
# check-cgroupv2: not needed (no cgroup is involved; the host runs these)

# shellcheck disable=SC2154
load helpers
load manager
load registry

setup_file() {
	make_busybox_image
}

setup() {
	manager_setup
	export REGISTRY_AUTH_FILE=$BATS_TEST_TMPDIR/auth.json
	# No registries.conf of the host's steers these tests.
	export BERTH_REGISTRIES_CONF=$BATS_TEST_TMPDIR/registries.conf
	: >"$BERTH_REGISTRIES_CONF"
}

teardown() {
	[ -z "${RUNROOT:-}" ] || container_teardown
	stop_registry
	if [ -n "${SERVER_PID:-}" ]; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
}

push_busybox() {
	skopeo copy -q --dest-tls-verify=false "oci-archive:$BATS_FILE_TMPDIR/busybox.tar" "docker://$REG/busybox:latest" >/dev/null
}

# Nothing of an image is left under --root, and berth lists no image.
assert_pull_left_nothing() {
	assert_root_empty
	run berth images -q
	assert_output ""
}

# assert_error LINE: the last line of the output (after the progress lines) is LINE.
assert_error() {
	[ "${lines[-1]}" = "$1" ] || fail "expected last line: '$1'" "actual output: '$output'"
}

# The unpacked dir of the image's Nth layer.
layer_dir() {
	berth image inspect "$1" | jq -r ".[0].LayerDirs[$2]"
}

@test "pull: an image skopeo pushed is pulled, unpacked and listed; the id is printed" {
	start_registry
	push_busybox
	run --separate-stderr berth pull --tls-verify=false "$REG/busybox"
	assert_success
	local id
	id=$(jq -r .config.digest <<<"$(skopeo inspect --raw --tls-verify=false "docker://$REG/busybox:latest")")
	assert_output "${id#sha256:}"
	[[ $stderr == *"Trying to pull $REG/busybox:latest..."* ]] || fail "stderr: $stderr"
	[[ $stderr == *"Copying blob sha256:"*" done"* ]] || fail "stderr: $stderr"
	[ -x "$(layer_dir "$REG/busybox" 0)/bin/busybox" ] || fail "no bin/busybox"
	run berth images
	assert_success
	assert_output_contains "$REG/busybox" latest "${id:7:12}"
	[ "$(berth image inspect "$REG/busybox" | jq -r '.[0].Digest')" = \
		"sha256:$(skopeo inspect --raw --tls-verify=false "docker://$REG/busybox:latest" | sha256sum | cut -d' ' -f1)" ]
	# The blob store holds what was pulled, verified; no temp file is left.
	[ -z "$(find "$ROOT/blobs/ingest" "$ROOT/layers" -maxdepth 1 -name '.tmp-*' -o -maxdepth 1 -name 'blob-*')" ]
	# Pulled again: everything is there, nothing is downloaded.
	run --separate-stderr berth pull --tls-verify=false "$REG/busybox:latest"
	assert_success
	assert_output "${id#sha256:}"
	[[ $stderr == *"skipped: already exists"* ]] || fail "stderr: $stderr"
}

@test "pull: on a terminal each layer's line is redrawn in place; plain lines otherwise" {
	start_registry
	push_busybox
	local out=$BATS_TEST_TMPDIR/tty.out
	# script(1) gives berth a terminal; its output file has what was drawn.
	timeout --foreground 120 script -qec "$BERTH --root $ROOT pull --tls-verify=false $REG/busybox" "$out" >/dev/null ||
		fail "pull on a terminal failed: $(cat "$out")"
	# Lines are cleared and redrawn (ESC [2K), the cursor moved back over them (ESC [nA).
	grep -q $'\x1b\[2K' "$out" || fail "no redraw: $(cat -v "$out")"
	grep -q $'\x1b\[[0-9]*A' "$out" || fail "no cursor up: $(cat -v "$out")"
	grep -q 'Copying blob sha256:[0-9a-f]* done' "$out" || fail "no done line: $(cat -v "$out")"
	# Without a terminal: no escape sequences at all.
	run --separate-stderr berth pull --tls-verify=false "$REG/busybox"
	assert_success
	[[ $stderr != *$'\x1b'* ]] || fail "escapes without a terminal: $stderr"
}

@test "pull: -q prints only the id; a pull by digest is verified" {
	start_registry
	push_busybox
	local digest
	digest=sha256:$(skopeo inspect --raw --tls-verify=false "docker://$REG/busybox:latest" | sha256sum | cut -d' ' -f1)
	run berth pull -q --tls-verify=false "$REG/busybox@$digest"
	assert_success
	[[ $output =~ ^[0-9a-f]{64}$ ]] || fail "output: $output"
	run berth pull -q --tls-verify=false "$REG/busybox@sha256:$(printf '0%.0s' $(seq 64))"
	assert_failure 125
	assert_error "berth: pull $REG/busybox@sha256:$(printf '0%.0s' $(seq 64)): manifest unknown (404)"
}

@test "pull: an unknown tag or repository is a one-line error" {
	start_registry
	run berth pull --tls-verify=false "$REG/nosuch:tag"
	assert_failure 125
	assert_error "berth: pull $REG/nosuch:tag: manifest unknown (404)"
	assert_pull_left_nothing
}

@test "pull: layers with whiteouts, an opaque dir and hardlinks" {
	start_registry
	local w=$BATS_TEST_TMPDIR/w
	mkdir -p "$w/l1/a" "$w/l1/o" "$w/l2/a" "$w/l2/o"
	echo x >"$w/l1/a/x"
	echo y >"$w/l1/a/y"
	echo old >"$w/l1/o/old"
	touch "$w/l2/a/.wh.x" "$w/l2/o/.wh..wh..opq"
	echo new >"$w/l2/o/new"
	echo linked >"$w/l2/h1"
	ln "$w/l2/h1" "$w/l2/h2"
	tar -C "$w/l1" --numeric-owner -cf "$w/l1.tar" .
	tar -C "$w/l2" --numeric-owner -cf "$w/l2.tar" .
	make_image "$w/oci" gzip "$w/l1.tar" "$w/l2.tar"
	push_image "$w/oci" layered:1
	run berth pull -q --tls-verify=false "$REG/layered:1"
	assert_success
	local l1 l2
	l1=$(layer_dir "$REG/layered:1" 0)
	l2=$(layer_dir "$REG/layered:1" 1)
	[ "$(cat "$l1/a/x")" = x ] && [ "$(cat "$l1/o/old")" = old ]
	# .wh.x became a 0:0 char device, .wh..wh..opq the opaque xattr.
	[ "$(stat -c '%F %t:%T' "$l2/a/x")" = "character special file 0:0" ] || fail "a/x: $(stat -c '%F %t:%T' "$l2/a/x")"
	[ ! -e "$l2/a/.wh.x" ] && [ ! -e "$l2/o/.wh..wh..opq" ]
	[ "$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "trusted.overlay.opaque").decode())' "$l2/o")" = y ]
	[ "$(stat -c %i "$l2/h1")" = "$(stat -c %i "$l2/h2")" ] || fail "h1 and h2 are not one file"
	[ "$(stat -c %h "$l2/h1")" = 2 ]
}

@test "pull: a manifest list with two platforms; --platform picks one" {
	start_registry
	local w=$BATS_TEST_TMPDIR/w arch d size list
	mkdir -p "$w"
	list=""
	for arch in amd64 arm64; do
		mkdir -p "$w/$arch"
		echo "$arch" >"$w/$arch/arch"
		tar -C "$w/$arch" -cf "$w/$arch.tar" .
		make_image "$w/oci-$arch" gzip --arch "$arch" "$w/$arch.tar"
		push_image "$w/oci-$arch" "multi:$arch"
		d=$(layout_manifest "$w/oci-$arch")
		size=$(stat -c %s "$w/oci-$arch/blobs/sha256/${d#sha256:}")
		list+="${list:+,}{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$d\",\"size\":$size,\"platform\":{\"os\":\"linux\",\"architecture\":\"$arch\"}}"
	done
	curl -sf -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' \
		--data "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[$list]}" \
		"http://$REG/v2/multi/manifests/latest" || fail "PUT of the index failed"
	run berth pull -q --tls-verify=false "$REG/multi"
	assert_success
	[ "$(cat "$(layer_dir "$REG/multi" 0)/arch")" = amd64 ]
	run berth pull -q --tls-verify=false --platform linux/arm64 "$REG/multi"
	assert_success
	[ "$(cat "$(layer_dir "$REG/multi" 0)/arch")" = arm64 ]
	[ "$(berth image inspect "$REG/multi" | jq -r '.[0].Architecture')" = arm64 ]
	run berth pull --tls-verify=false --platform linux/s390x "$REG/multi"
	assert_failure 125
	assert_error "berth: pull $REG/multi:latest: no image for platform linux/s390x in the manifest list (it has: linux/amd64, linux/arm64)"
	run berth pull --tls-verify=false --platform linux "$REG/multi"
	assert_failure 125
	assert_output "berth: --platform \"linux\": expected OS/ARCH[/VARIANT]"
}

@test "pull: zstd and uncompressed layers" {
	start_registry
	local w=$BATS_TEST_TMPDIR/w
	mkdir -p "$w/z" "$w/u"
	head -c 300000 /dev/urandom >"$w/z/random"
	echo plain >"$w/u/plain"
	tar -C "$w/z" -cf "$w/z.tar" .
	tar -C "$w/u" -cf "$w/u.tar" .
	make_image "$w/oci-z" zstd "$w/z.tar"
	make_image "$w/oci-u" none "$w/u.tar"
	push_image "$w/oci-z" zstd:1
	push_image "$w/oci-u" plain:1
	[ "$(skopeo inspect --raw --tls-verify=false "docker://$REG/zstd:1" | jq -r '.layers[0].mediaType')" = \
		application/vnd.oci.image.layer.v1.tar+zstd ]
	run berth pull -q --tls-verify=false "$REG/zstd:1"
	assert_success
	cmp "$w/z/random" "$(layer_dir "$REG/zstd:1" 0)/random"
	run berth pull -q --tls-verify=false "$REG/plain:1"
	assert_success
	[ "$(cat "$(layer_dir "$REG/plain:1" 0)/plain")" = plain ]
}

@test "pull: a corrupted blob in the registry is refused, naming its digest; nothing is left" {
	start_registry
	push_busybox
	local layer file
	layer=$(skopeo inspect --raw --tls-verify=false "docker://$REG/busybox:latest" | jq -r '.layers[0].digest')
	file=$(registry_blob_file "$layer")
	[ -f "$file" ] || fail "no $file"
	# Same size, other bytes: only the digest can tell.
	python3 -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[-1000] ^= 0xff; open(p, "wb").write(b)' "$file"
	run berth pull --tls-verify=false "$REG/busybox"
	assert_failure 125
	[[ ${lines[-1]} == "berth: pull $REG/busybox:latest: blob $layer: digest mismatch: expected $layer, got sha256:"* ]] ||
		fail "output: $output"
	assert_pull_left_nothing
}

@test "pull: a registry that stops mid-layer is an error; nothing is left" {
	local w=$BATS_TEST_TMPDIR/w
	mkdir -p "$w/l"
	head -c 2000000 /dev/urandom >"$w/l/data"
	tar -C "$w/l" -cf "$w/l.tar" .
	make_image "$w/oci" gzip "$w/l.tar"
	python3 "$BERTH_SRCDIR/tests/integration/registry/half-blob-server.py" "$w/oci" "$w/port" &
	SERVER_PID=$!
	wait_for_file "$w/port"
	run berth pull --tls-verify=false "127.0.0.1:$(cat "$w/port")/half:latest"
	assert_failure 125
	assert_output_contains "blob $(layout_layer "$w/oci" 0)" "transfer closed with"
	assert_pull_left_nothing
}

@test "pull: a layer with ../ or a path through an absolute symlink is refused, naming the entry" {
	start_registry
	local w=$BATS_TEST_TMPDIR/w
	mkdir -p "$w"
	python3 - "$w" <<-'PY'
		import io, sys, tarfile
		w = sys.argv[1]
		def add(t, name, data=b"x", link=None):
		    i = tarfile.TarInfo(name)
		    if link:
		        i.type, i.linkname = tarfile.SYMTYPE, link
		        t.addfile(i)
		    else:
		        i.size = len(data)
		        t.addfile(i, io.BytesIO(data))
		with tarfile.open(w + "/dotdot.tar", "w", format=tarfile.GNU_FORMAT) as t:
		    add(t, "ok")
		    add(t, "../escape")
		with tarfile.open(w + "/symlink.tar", "w", format=tarfile.GNU_FORMAT) as t:
		    add(t, "etc", link="/etc")
		    add(t, "etc/evil")
	PY
	make_image "$w/oci-d" gzip "$w/dotdot.tar"
	make_image "$w/oci-s" gzip "$w/symlink.tar"
	push_image "$w/oci-d" evil:dotdot
	push_image "$w/oci-s" evil:symlink
	run berth pull --tls-verify=false "$REG/evil:dotdot"
	assert_failure 125
	assert_output_contains "layer $(layout_layer "$w/oci-d" 0): entry \"../escape\": path has a \"..\" component"
	run berth pull --tls-verify=false "$REG/evil:symlink"
	assert_failure 125
	assert_output_contains "entry \"etc/evil\": parent \"etc\" is a symlink"
	[ ! -e /etc/evil ] && [ ! -e "$w/escape" ]
	assert_pull_left_nothing
}

@test "pull: two pulls of the same image at once both succeed; the store is consistent" {
	start_registry
	push_busybox
	berth pull -q --tls-verify=false "$REG/busybox" >"$BATS_TEST_TMPDIR/1" 2>&1 &
	local p1=$!
	berth pull -q --tls-verify=false "$REG/busybox" >"$BATS_TEST_TMPDIR/2" 2>&1 &
	local p2=$!
	wait "$p1" || fail "first pull: $(cat "$BATS_TEST_TMPDIR/1")"
	wait "$p2" || fail "second pull: $(cat "$BATS_TEST_TMPDIR/2")"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/1")" "$(cat "$BATS_TEST_TMPDIR/2")"
	run berth images -q
	assert_equal "${#lines[@]}" 1
	[ -x "$(layer_dir "$REG/busybox" 0)/bin/busybox" ]
	[ "$(find "$ROOT/layers" -mindepth 1 -maxdepth 1 | wc -l)" = 1 ] || fail "layers: $(ls -a "$ROOT/layers")"
	[ -z "$(ls -A "$ROOT/blobs/ingest")" ] || fail "ingest: $(ls -A "$ROOT/blobs/ingest")"
	local b
	for b in "$ROOT"/blobs/sha256/*; do
		[ "$(sha256sum "$b" | cut -d' ' -f1)" = "$(basename "$b")" ] || fail "blob $b is not intact"
	done
}

@test "pull: a failing pull never takes a layer from a pull of another image that shares it" {
	start_registry
	local w=$BATS_TEST_TMPDIR/w i good bad l2
	mkdir -p "$w/shared" "$w/extra"
	# The shared layer: busybox's rootfs, a few MiB, so the two pulls overlap.
	RUNTIME=true "$BERTH_SRCDIR/tools/make-bundle" "$w/bundle" >/dev/null 2>&1 ||
		RUNTIME=/usr/sbin/runc "$BERTH_SRCDIR/tools/make-bundle" "$w/bundle" >/dev/null
	tar -C "$w/bundle/rootfs" --numeric-owner -cf "$w/shared.tar" .
	head -c 300000 /dev/urandom >"$w/extra/blob"
	tar -C "$w/extra" --numeric-owner -cf "$w/extra.tar" .
	make_image "$w/good" gzip "$w/shared.tar"
	make_image "$w/bad" gzip "$w/shared.tar" "$w/extra.tar"
	push_image "$w/good" good:1
	push_image "$w/bad" bad:1
	l2=$(layout_layer "$w/bad" 1)
	python3 -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[-100] ^= 0xff; open(p, "wb").write(b)' \
		"$(registry_blob_file "$l2")"
	for i in 1 2 3 4 5; do
		ROOT=$BATS_TEST_TMPDIR/root$i
		berth pull -q --tls-verify=false "$REG/good:1" >"$w/good.out" 2>&1 &
		good=$!
		berth pull -q --tls-verify=false "$REG/bad:1" >"$w/bad.out" 2>&1 &
		bad=$!
		wait "$good" || fail "round $i: pull good:1: $(cat "$w/good.out")"
		if wait "$bad"; then fail "round $i: pull bad:1 succeeded"; fi
		grep -q "digest mismatch" "$w/bad.out" || fail "round $i: bad:1: $(cat "$w/bad.out")"
		# Everything good:1 needs is there and intact; nothing only bad:1 had is.
		[ -x "$(layer_dir "$REG/good:1" 0)/bin/busybox" ] || fail "round $i: the shared layer is gone"
		local b
		for b in "$(layout_manifest "$w/good")" "$(layout_layer "$w/good" 0)"; do
			[ "$(sha256sum "$ROOT/blobs/sha256/${b#sha256:}" | cut -d' ' -f1)" = "${b#sha256:}" ] ||
				fail "round $i: blob $b is missing or not intact"
		done
		[ ! -e "$ROOT/blobs/sha256/${l2#sha256:}" ] || fail "round $i: bad:1's blob stayed"
		run berth images -q
		assert_equal "${#lines[@]}" 1
	done
}

@test "pull: leftovers of an interrupted pull are removed by the next one" {
	start_registry
	push_busybox
	mkdir -p "$ROOT/blobs/ingest" "$ROOT/layers/.tmp-abcdef/etc"
	echo partial >"$ROOT/blobs/ingest/blob-abcdef"
	run berth pull -q --tls-verify=false "$REG/busybox"
	assert_success
	[ ! -e "$ROOT/blobs/ingest/blob-abcdef" ] && [ ! -e "$ROOT/layers/.tmp-abcdef" ]
}

@test "pull: TLS with a self-signed certificate fails unless --tls-verify=false" {
	start_registry tls
	push_busybox
	run berth pull "$REG/busybox"
	assert_failure 125
	assert_error "berth: pull $REG/busybox:latest: GET https://$REG/v2/: SSL certificate problem: self-signed certificate"
	assert_pull_left_nothing
	run "$BERTH" --root "$ROOT" --debug pull -q --tls-verify=false "$REG/busybox"
	assert_success
	[ -x "$(layer_dir "$REG/busybox" 0)/bin/busybox" ]
	# The registry offers HTTP/2 over TLS (ALPN): it is used.
	assert_output_contains "http: GET https://$REG/v2/busybox/manifests/latest: 200 (HTTP/2)"
}

@test "registries.conf: insecure registry and default-registry for short names; errors name file and line" {
	start_registry
	push_busybox
	printf 'default-registry = "%s"\n[[registry]]\nlocation = "%s"\ninsecure = true\n' "$REG" "$REG" >"$BERTH_REGISTRIES_CONF"
	run berth pull -q busybox
	assert_success
	run berth images --format json
	assert_output_contains "\"$REG/busybox:latest\""
	printf '[[registry]]\nlocation = "%s"\ninsecure = maybe\n' "$REG" >"$BATS_TEST_TMPDIR/bad.conf"
	run "$BERTH" --root "$ROOT" --registries-conf "$BATS_TEST_TMPDIR/bad.conf" pull busybox
	assert_failure 125
	assert_output "berth: $BATS_TEST_TMPDIR/bad.conf:3: insecure: expected true or false, got \"maybe\""
	run "$BERTH" --root "$ROOT" --registries-conf "$BATS_TEST_TMPDIR/none.conf" images
	assert_failure 125
	assert_output_contains "berth: open $BATS_TEST_TMPDIR/none.conf"
}

@test "login, pull, logout with htpasswd basic auth; a wrong password is a clear error" {
	htpasswd -Bbn alice s3cret >"$BATS_TEST_TMPDIR/htpasswd"
	start_registry htpasswd "$BATS_TEST_TMPDIR/htpasswd"
	skopeo copy -q --dest-tls-verify=false --dest-creds alice:s3cret \
		"oci-archive:$BATS_FILE_TMPDIR/busybox.tar" "docker://$REG/busybox:latest" >/dev/null
	run berth pull --tls-verify=false "$REG/busybox"
	assert_failure 125
	assert_error "berth: pull $REG/busybox:latest: $REG: authentication required (401): use berth login or --creds"
	run berth login --tls-verify=false -u alice -p wrong "$REG"
	assert_failure 125
	assert_output "berth: login $REG: $REG: invalid username or password (401)"
	[ ! -e "$REGISTRY_AUTH_FILE" ]
	echo s3cret | berth login --tls-verify=false -u alice --password-stdin "$REG"
	[ "$(stat -c %a "$REGISTRY_AUTH_FILE")" = 600 ]
	[ "$(jq -r ".auths[\"$REG\"].auth" "$REGISTRY_AUTH_FILE" | base64 -d)" = alice:s3cret ]
	run berth pull -q --tls-verify=false "$REG/busybox"
	assert_success
	run berth logout "$REG"
	assert_success
	assert_output "Removed login credentials for $REG"
	[ "$(jq -r ".auths | length" "$REGISTRY_AUTH_FILE")" = 0 ]
	run berth logout "$REG"
	assert_failure 125
	assert_output "berth: logout: not logged into $REG"
	# --creds instead of a login; a wrong one is refused.
	berth rmi "$REG/busybox" >/dev/null
	run berth pull -q --tls-verify=false --creds alice:s3cret "$REG/busybox"
	assert_success
	run berth pull -q --tls-verify=false --creds alice:nope "$REG/busybox"
	assert_failure 125
	assert_error "berth: pull $REG/busybox:latest: $REG: invalid username or password (401)"
	# Pushing needs credentials too.
	run berth push --tls-verify=false "$REG/busybox" "$REG/again:1"
	assert_failure 125
	assert_error "berth: push $REG/again:1: $REG: authentication required (401): use berth login or --creds"
	run berth push -q --tls-verify=false --creds alice:s3cret "$REG/busybox" "$REG/again:1"
	assert_success
}

@test "login and pull with a Bearer token from the realm the registry names" {
	local t=$BATS_TEST_TMPDIR/token
	mkdir -p "$t"
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=berth-test-token \
		-keyout "$t/key.pem" -out "$t/cert.pem" 2>/dev/null
	python3 "$BERTH_SRCDIR/tests/integration/registry/token-server.py" "$t/key.pem" "$t/cert.pem" \
		berth-test-issuer alice:s3cret "$t/port" &
	SERVER_PID=$!
	wait_for_file "$t/port"
	local realm=http://127.0.0.1:$(cat "$t/port")/token
	start_registry token "$realm" "$t/cert.pem"
	skopeo copy -q --dest-tls-verify=false --dest-creds alice:s3cret \
		"oci-archive:$BATS_FILE_TMPDIR/busybox.tar" "docker://$REG/busybox:latest" >/dev/null
	# Anonymous: a token without access, which the registry refuses.
	run berth pull --tls-verify=false "$REG/busybox"
	assert_failure 125
	assert_error "berth: pull $REG/busybox:latest: authentication required (401)"
	assert_pull_left_nothing
	run berth login --tls-verify=false -u alice -p wrong "$REG"
	assert_failure 125
	assert_output "berth: login $REG: $REG: token server $realm: invalid username or password (401)"
	run berth login --tls-verify=false -u alice -p s3cret "$REG"
	assert_success
	assert_output "Login Succeeded!"
	run berth pull -q --tls-verify=false "$REG/busybox"
	assert_success
	[ -x "$(layer_dir "$REG/busybox" 0)/bin/busybox" ]
}

@test "push: a loaded image goes to the registry; skopeo pulls and verifies it; a second push skips every blob" {
	start_registry
	berth load -i "$BATS_FILE_TMPDIR/busybox.tar" >/dev/null
	run --separate-stderr berth push --tls-verify=false busybox "$REG/pushed/busybox:1"
	assert_success
	[[ $stderr == *"Copying blob sha256:"*" done"*"Writing manifest to image destination"* ]] || fail "stderr: $stderr"
	# skopeo checks every digest on its way into an OCI layout.
	skopeo copy -q --src-tls-verify=false "docker://$REG/pushed/busybox:1" "oci:$BATS_TEST_TMPDIR/out:x" >/dev/null
	local local_manifest
	local_manifest=$(berth image inspect busybox | jq -r '.[0].Digest')
	[ "$(skopeo inspect --tls-verify=false "docker://$REG/pushed/busybox:1" | jq -r .Digest)" = "$local_manifest" ]
	run --separate-stderr berth push --tls-verify=false busybox "$REG/pushed/busybox:1"
	assert_success
	[[ $stderr != *" done"* && $stderr == *"skipped: already exists"* ]] || fail "stderr: $stderr"
	run berth push --tls-verify=false nosuch "$REG/x:1"
	assert_failure 125
	assert_output "berth: nosuch: image not known"
}

@test "push: a blob larger than a chunk goes in PATCH chunks; blobs of another repository are mounted" {
	start_registry
	local w=$BATS_TEST_TMPDIR/w
	mkdir -p "$w/l"
	head -c 34000000 /dev/urandom >"$w/l/big"
	tar -C "$w/l" -cf "$w/l.tar" .
	make_image "$w/oci" none "$w/l.tar"
	tar -C "$w/oci" -cf "$w/image.tar" .
	berth load -i "$w/image.tar" >/dev/null
	local id
	id=$(berth images -q)
	run --separate-stderr "$BERTH" --root "$ROOT" --debug push --tls-verify=false "$id" "$REG/big:1"
	assert_success
	[[ $stderr == *"http: PATCH http://$REG/v2/big/blobs/uploads/"* ]] || fail "no PATCH in: $stderr"
	skopeo copy -q --src-tls-verify=false "docker://$REG/big:1" "oci:$BATS_TEST_TMPDIR/out:x" >/dev/null
	# Pulled from big, pushed to copy on the same registry: mounted, not uploaded.
	berth pull -q --tls-verify=false "$REG/big:1" >/dev/null
	run --separate-stderr berth push --tls-verify=false "$REG/big:1" "$REG/copy:1"
	assert_success
	[[ $stderr == *"mounted"* && $stderr != *" done"* ]] || fail "stderr: $stderr"
	skopeo copy -q --src-tls-verify=false "docker://$REG/copy:1" "oci:$BATS_TEST_TMPDIR/out:y" >/dev/null
}

@test "pull: blobs redirected to another host are fetched there, without the registry's credentials" {
	local w=$BATS_TEST_TMPDIR/w
	mkdir -p "$w/l"
	echo redirected >"$w/l/file"
	tar -C "$w/l" -cf "$w/l.tar" .
	make_image "$w/oci" gzip "$w/l.tar"
	python3 "$BERTH_SRCDIR/tests/integration/registry/redirect-server.py" "$w/oci" alice:s3cret "$w/log" "$w/port" &
	SERVER_PID=$!
	wait_for_file "$w/port"
	local reg=127.0.0.1:$(cat "$w/port")
	run berth pull -q --tls-verify=false --creds alice:s3cret "$reg/redirect:latest"
	assert_success
	[ "$(cat "$(layer_dir "$reg/redirect" 0)/file")" = redirected ]
	# Every blob came from 127.0.0.2, and no request there carried Authorization.
	grep -q "^127.0.0.1 /v2/redirect/blobs/sha256:.* Basic " "$w/log" || fail "log: $(cat "$w/log")"
	grep -q "^127.0.0.2 /storage/sha256:" "$w/log" || fail "log: $(cat "$w/log")"
	if grep "^127.0.0.2 " "$w/log" | grep -qv ' -$'; then fail "credentials sent to the other host: $(cat "$w/log")"; fi
}

@test "pull: an interrupted pull (SIGINT mid-layer) stops and leaves nothing" {
	local w=$BATS_TEST_TMPDIR/w
	mkdir -p "$w/l"
	head -c 2000000 /dev/urandom >"$w/l/data"
	tar -C "$w/l" -cf "$w/l.tar" .
	make_image "$w/oci" none "$w/l.tar"
	python3 "$BERTH_SRCDIR/tests/integration/registry/half-blob-server.py" "$w/oci" "$w/port" stall &
	SERVER_PID=$!
	wait_for_file "$w/port"
	# berth itself, not a shell function's subshell, gets the signal.
	"$BERTH" --root "$ROOT" pull --tls-verify=false "127.0.0.1:$(cat "$w/port")/stall:latest" >"$w/out" 2>&1 &
	local pid=$! i
	# Half the layer is in: the blob's temp file has data.
	for i in $(seq 100); do
		[ -n "$(find "$ROOT/blobs/ingest" -type f -size +100k 2>/dev/null)" ] && break
		sleep 0.1
	done
	[ -n "$(find "$ROOT/blobs/ingest" -type f -size +100k)" ] || fail "the download did not start: $(cat "$w/out")"
	kill -INT "$pid"
	local status=0
	wait "$pid" || status=$?
	[ "$status" = 125 ] || fail "status $status: $(cat "$w/out")"
	[[ $(tail -1 "$w/out") == *": interrupted" ]] || fail "output: $(cat "$w/out")"
	assert_pull_left_nothing
}

@test "run: a missing image is pulled first (--pull missing); --pull never refuses; --pull always pulls again" {
	# berth pulls from the host's 127.0.0.1: the host's network, so its
	# containers get none (no bridge on the host).
	container_setup --host-network
	start_registry
	push_busybox
	run berth run --rm --network none --pull never --tls-verify=false "$REG/busybox" true
	assert_failure 125
	assert_output "berth: $REG/busybox: image not known"
	run --separate-stderr berth run --rm --network none --tls-verify=false "$REG/busybox" echo pulled-and-ran
	assert_success
	assert_output "pulled-and-ran"
	[[ $stderr == *"Trying to pull $REG/busybox:latest..."* ]] || fail "stderr: $stderr"
	run --separate-stderr berth run --rm --network none --tls-verify=false "$REG/busybox" true
	[[ $stderr != *"Trying to pull"* ]] || fail "pulled again: $stderr"
	run --separate-stderr berth run --rm --network none --pull always --tls-verify=false "$REG/busybox" true
	assert_success
	[[ $stderr == *"skipped: already exists"* ]] || fail "stderr: $stderr"
	run berth run --rm --network none --pull sometimes "$REG/busybox" true
	assert_failure 125
	assert_output_contains '"sometimes"' "--pull"
	assert_no_container_leftovers
}
