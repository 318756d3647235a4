# Registries for the tests of berth pull: Debian's docker-registry
# (distribution) on 127.0.0.1, a free port, its config and storage in the
# test's temp dir; and images built offline as OCI layouts.
#
#   start_registry [tls] [htpasswd FILE]   sets REG (127.0.0.1:PORT), REG_PID, REG_STORAGE
#   stop_registry                          (teardown) stops it by PID
#   make_image OUT_DIR gzip|zstd|none LAYER.tar...   an OCI layout (tag "latest")
#   push_image OCI_DIR NAME:TAG            skopeo pushes it to $REG

# shellcheck disable=SC2154

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_registry [tls] [htpasswd FILE] [token REALM CERT]
start_registry() {
	local dir=$BATS_TEST_TMPDIR/registry tls="" htpasswd="" realm="" cert="" port scheme=http i
	while [ $# -gt 0 ]; do
		case $1 in
		tls) tls=1 ;;
		htpasswd) htpasswd=$2; shift ;;
		token) realm=$2; cert=$3; shift 2 ;;
		esac
		shift
	done
	mkdir -p "$dir/storage"
	REG_STORAGE=$dir/storage
	port=$(free_port)
	REG=127.0.0.1:$port
	{
		printf 'version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n'
		printf 'storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n' "$dir/storage"
		printf 'http:\n  addr: %s\n' "$REG"
		if [ -n "$tls" ]; then
			openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
				-addext subjectAltName=IP:127.0.0.1 -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
			printf '  tls:\n    certificate: %s\n    key: %s\n' "$dir/cert.pem" "$dir/key.pem"
			scheme=https
		fi
		if [ -n "$htpasswd" ]; then
			printf 'auth:\n  htpasswd:\n    realm: berth-test\n    path: %s\n' "$htpasswd"
		fi
		if [ -n "$realm" ]; then
			printf 'auth:\n  token:\n    realm: %s\n    service: berth-test\n    issuer: berth-test-issuer\n    rootcertbundle: %s\n' \
				"$realm" "$cert"
		fi
	} >"$dir/config.yml"
	# The registry reads REGISTRY_* variables as configuration (REGISTRY_AUTH_FILE
	# would be its auth.file): none of them reaches it.
	env -u REGISTRY_AUTH_FILE docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
	REG_PID=$!
	for i in $(seq 100); do
		# 200, or 401 with auth: the registry answers.
		case $(curl -sk -o /dev/null -w '%{http_code}' "$scheme://$REG/v2/") in 200 | 401) return 0 ;; esac
		kill -0 "$REG_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$dir/log" >&2
	fail "docker-registry did not start on $REG"
}

stop_registry() {
	if [ -n "${REG_PID:-}" ]; then
		kill "$REG_PID" 2>/dev/null || true
		wait "$REG_PID" 2>/dev/null || true
		REG_PID=
	fi
}

# make_image OUT_DIR gzip|zstd|none [--arch ARCH] LAYER.tar...
make_image() {
	local out=$1 comp=$2 arch=amd64 tar diff d mt layers="" diffs="" cfg man
	shift 2
	if [ "$1" = --arch ]; then
		arch=$2
		shift 2
	fi
	mkdir -p "$out/blobs/sha256"
	for tar in "$@"; do
		diff=$(sha256sum "$tar" | cut -d' ' -f1)
		case $comp in
		gzip) gzip -n -c "$tar" >"$out/layer.tmp"; mt=application/vnd.oci.image.layer.v1.tar+gzip ;;
		zstd) zstd -q -c "$tar" >"$out/layer.tmp"; mt=application/vnd.oci.image.layer.v1.tar+zstd ;;
		none) cp "$tar" "$out/layer.tmp"; mt=application/vnd.oci.image.layer.v1.tar ;;
		esac
		d=$(_blob "$out" "$out/layer.tmp")
		layers+="${layers:+,}{\"mediaType\":\"$mt\",\"digest\":\"sha256:$d\",\"size\":$(_size "$out" "$d")}"
		diffs+="${diffs:+,}\"sha256:$diff\""
	done
	printf '{"architecture":"%s","os":"linux","config":{"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
		"$arch" "$diffs" >"$out/config.tmp"
	cfg=$(_blob "$out" "$out/config.tmp")
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
		"$cfg" "$(_size "$out" "$cfg")" "$layers" >"$out/manifest.tmp"
	man=$(_blob "$out" "$out/manifest.tmp")
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}' \
		"$man" "$(_size "$out" "$man")" >"$out/index.json"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$out/oci-layout"
}
_blob() {
	local d
	d=$(sha256sum "$2" | cut -d' ' -f1)
	mv "$2" "$1/blobs/sha256/$d"
	echo "$d"
}
_size() { stat -c %s "$1/blobs/sha256/$2"; }

# The image manifest digest of an OCI layout made by make_image.
layout_manifest() { jq -r '.manifests[0].digest' "$1/index.json"; }
# Its Nth layer digest (0 first).
layout_layer() { jq -r ".layers[$2].digest" "$1/blobs/sha256/$(layout_manifest "$1" | cut -d: -f2)"; }

push_image() {
	skopeo copy -q --dest-tls-verify=false "oci:$1:latest" "docker://$REG/$2" >/dev/null
}

# The registry's file of a blob's bytes.
registry_blob_file() {
	echo "$REG_STORAGE/docker/registry/v2/blobs/sha256/${1:7:2}/${1#sha256:}/data"
}
