#!/bin/bash
# pull.sh [--keep] [BERTH] — pulling a ~200 MiB multi-layer image from a
# local registry: `berth pull` beside skopeo, podman and ctr (containerd).
#
# The image (6 gzip layers: parts of this machine's /usr/bin, /usr/lib,
# /usr/share and /usr/include, and one layer of random data) is built offline
# as an OCI layout under BENCH_DIR, pushed with skopeo to Debian's
# docker-registry started on 127.0.0.1 (a free port, config and storage in
# BENCH_DIR), then pulled ITER times by each client, interleaved, each pull
# into a fresh empty store. BERTH defaults to ./berth (else berth from PATH);
# a berth without `pull` gets no column. skopeo, podman and ctr each run when
# installed. Every store, the registry, containerd and their mounts are gone
# on exit; the OCI layout too unless --keep (then the next run reuses it).
#
# Environment: ITER (timed pulls per client, default 5), BENCH_DIR (default
# /var/tmp/berth-bench-pull), KEEP=1 (as --keep). Needs root. Prints the table
# on stdout, progress on stderr; exits 1 when a client that ran failed.
set -uo pipefail
export LC_ALL=C

prog=pull.sh
self=$(realpath -e "${BASH_SOURCE[0]}")
# shellcheck source=bench/lib.sh
. "$(dirname "$self")/lib.sh"
ITER=${ITER:-5}
BENCH_DIR=${BENCH_DIR:-/var/tmp/berth-bench-pull}
KEEP=${KEEP:-0}
# Bump when the image recipe changes, so a kept image is rebuilt.
RECIPE=1

die() {
	echo "$prog: $*" >&2
	exit 1
}
note() { echo "$prog: $*" >&2; }

usage() {
	cat <<-EOF
		usage: $prog [--keep] [BERTH]
		Pulls a ~200 MiB multi-layer image from a local registry with berth, skopeo,
		podman and ctr, each into a fresh store, and reports median wall times,
		throughput and peak RSS.
		  --keep   keep the built image in BENCH_DIR for the next run
		Environment: ITER=$ITER BENCH_DIR=$BENCH_DIR KEEP=$KEEP
	EOF
}

berth_arg=
while (($#)); do
	case $1 in
	-h | --help)
		usage
		exit 0
		;;
	--keep) KEEP=1 ;;
	-*) die "unknown flag: $1 (see --help)" ;;
	*)
		[[ -z $berth_arg ]] || die "one BERTH only (see --help)"
		berth_arg=$1
		;;
	esac
	shift
done
[[ $ITER =~ ^[1-9][0-9]*$ ]] || die "ITER must be a positive integer, not '$ITER'"
[[ $BENCH_DIR == /* ]] || die "BENCH_DIR must be an absolute path, not '$BENCH_DIR'"

if [[ ${BERTH_BENCH_NS:-} != 1 ]]; then
	[[ $(id -u) == 0 ]] || die "must run as root (stores, overlay mounts, containerd)"
	for t in docker-registry skopeo jq gzip tar sha256sum curl ss unshare; do
		command -v "$t" >/dev/null || die "$t is not installed (tools/install-deps installs it)"
	done
	berth_arg=$(resolve_berth "$berth_arg")
	# A private mount namespace: whatever a client mounts and leaves behind
	# goes away with it, even if this script is killed.
	exec env BERTH_BENCH_NS=1 KEEP="$KEEP" unshare --mount --propagation private "$BASH" "$self" "$berth_arg"
fi
[[ $(readlink /proc/self/ns/mnt) != "$(readlink "/proc/$PPID/ns/mnt")" ]] ||
	die "not in a private mount namespace (unset BERTH_BENCH_NS)"
BERTH=$berth_arg

# ---- work dir, cleanup --------------------------------------------------------

mkdir -p "$BENCH_DIR" || die "cannot create $BENCH_DIR"
image=$BENCH_DIR/image
run=$(mktemp -d "$BENCH_DIR/run.XXXXXX") || die "mktemp in $BENCH_DIR failed"
# podman refuses a runroot longer than 50 characters: the run roots of
# skopeo's and podman's stores live in a short dir under /run.
runroots=$(mktemp -d /run/bbp.XXXXXX) || die "mktemp in /run failed"
registry_pid=
containerd_pid=

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	trap - EXIT INT TERM HUP
	[[ -z $containerd_pid ]] || stop_pid "$containerd_pid"
	[[ -z $registry_pid ]] || stop_pid "$registry_pid"
	unmount_under "$run"
	unmount_under "$runroots"
	rm -rf --one-file-system "$run" "$runroots"
	[[ $KEEP == 1 ]] || rm -rf --one-file-system "$image"
	rmdir "$BENCH_DIR" 2>/dev/null
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---- the image ----------------------------------------------------------------

# Layers: "NAME BUDGET_MIB DIR [PRUNE]": files of DIR (under /, in name order)
# until BUDGET_MIB, PRUNE excluded; "random" is incompressible data.
layers=(
	"bin 36 usr/bin"
	"lib 56 usr/lib/x86_64-linux-gnu"
	"share 40 usr/share"
	"lib-other 32 usr/lib usr/lib/x86_64-linux-gnu"
	"include 16 usr/include"
	"random 24"
)

# blob FILE: moves FILE into the layout's blobs, prints its digest.
blob() {
	local d
	d=$(sha256sum "$1" | cut -d' ' -f1) || return 1
	mv "$1" "$image.new/blobs/sha256/$d" && echo "$d"
}

build_image() {
	local spec name budget dir prune list tarball digest diff size usize files
	local skip=()
	local descs=() diffs=() hist=()
	rm -rf "$image.new"
	mkdir -p "$image.new/blobs/sha256" || return 1
	for spec in "${layers[@]}"; do
		read -r name budget dir prune <<<"$spec"
		tarball=$run/layer.tar
		if [[ $name == random ]]; then
			mkdir -p "$run/random/data" &&
				for i in 1 2 3; do head -c $((budget * 1024 * 1024 / 3)) /dev/urandom >"$run/random/data/blob$i" || return 1; done &&
				tar -C "$run/random" --numeric-owner --owner=0 --group=0 -cf "$tarball" data || return 1
			rm -rf "$run/random"
		else
			list=$run/files
			skip=()
			[[ -z $prune ]] || skip=(-path "$prune" -prune -o)
			# Files and symlinks in name order while they fit the budget
			# (hard links count once), each after its parent directories.
			(cd / && find "$dir" "${skip[@]}" \( -type f -o -type l \) -printf '%y %s %i %p\n') |
				sort -k4 | awk -v max=$((budget * 1024 * 1024)) '
				{ p = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ /, "", p) }
				$1 == "f" && !($3 in ino) { if (sum + $2 > max) next; sum += $2; ino[$3] = 1 }
				{
					n = split(p, c, "/"); d = c[1]
					for (k = 2; k < n; k++) { d = d "/" c[k]; if (!(d in seen)) { seen[d] = 1; print d } }
					print p
				}' >"$list" || return 1
			tar -C / --no-recursion --verbatim-files-from -T "$list" --numeric-owner -cf "$tarball" 2>"$run/tar.err" ||
				{ cat "$run/tar.err" >&2; return 1; }
		fi
		usize=$(stat -c %s "$tarball")
		files=$(tar -tf "$tarball" | wc -l)
		diff=$(sha256sum "$tarball" | cut -d' ' -f1)
		gzip -n -6 "$tarball" || return 1
		size=$(stat -c %s "$tarball.gz")
		digest=$(blob "$tarball.gz") || return 1
		note "layer $name: $((usize / 1024 / 1024)) MiB, $files entries, $((size / 1024 / 1024)) MiB gzip"
		descs+=("$(jq -cn --arg d "sha256:$digest" --argjson s "$size" --argjson u "$usize" --argjson f "$files" \
			'{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $d, size: $s,
			  annotations: {"berth.bench.uncompressed-size": ($u | tostring), "berth.bench.entries": ($f | tostring)}}')")
		diffs+=("sha256:$diff")
		hist+=("$(jq -cn --arg c "bench layer $name" '{created: "1970-01-01T00:00:00Z", created_by: $c}')")
	done
	jq -n --args '$ARGS.positional' "${diffs[@]}" >"$run/diffs.json" &&
		jq -n --args '$ARGS.positional | map(fromjson)' "${hist[@]}" >"$run/hist.json" &&
		jq -cn --slurpfile d "$run/diffs.json" --slurpfile h "$run/hist.json" --arg arch "$(dpkg --print-architecture)" \
			'{architecture: $arch, os: "linux", config: {Cmd: ["/bin/sh"]},
			  rootfs: {type: "layers", diff_ids: $d[0]}, history: $h[0]}' >"$run/config.json" || return 1
	digest=$(blob "$run/config.json") || return 1
	jq -n --args '$ARGS.positional | map(fromjson)' "${descs[@]}" >"$run/layers.json" &&
		jq -cn --slurpfile l "$run/layers.json" --arg d "sha256:$digest" --argjson s "$(stat -c %s "$image.new/blobs/sha256/$digest")" \
			'{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
			  config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $d, size: $s}, layers: $l[0]}' \
			>"$run/manifest.json" || return 1
	size=$(stat -c %s "$run/manifest.json")
	digest=$(blob "$run/manifest.json") || return 1
	jq -cn --arg d "sha256:$digest" --argjson s "$size" \
		'{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d, size: $s,
		  annotations: {"org.opencontainers.image.ref.name": "latest"}}]}' >"$image.new/index.json" &&
		echo '{"imageLayoutVersion":"1.0.0"}' >"$image.new/oci-layout" &&
		echo "$RECIPE" >"$image.new/recipe" || return 1
	rm -rf "$image" && mv "$image.new" "$image"
}

if [[ -f $image/index.json && $(cat "$image/recipe" 2>/dev/null) == "$RECIPE" ]]; then
	note "reusing the image in $image"
else
	note "building the image in $image (offline, from this machine's /usr)"
	build_image || { rm -rf "$image.new"; die "could not build the image"; }
fi
manifest_digest=$(jq -r '.manifests[0].digest' "$image/index.json")
manifest=$image/blobs/sha256/${manifest_digest#sha256:}
read -r n_layers comp_bytes unc_bytes entries < <(jq -r '[(.layers | length), (.layers | map(.size) | add),
	(.layers | map(.annotations["berth.bench.uncompressed-size"] | tonumber) | add),
	(.layers | map(.annotations["berth.bench.entries"] | tonumber) | add)] | @tsv' "$manifest") ||
	die "cannot read $manifest"
comp_mib=$(awk -v b="$comp_bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
unc_mib=$(awk -v b="$unc_bytes" 'BEGIN { printf "%.1f", b / 1048576 }')

# ---- the registry ---------------------------------------------------------------

start_registry "$run/registry" || die "docker-registry did not start: $(tail -n 3 "$run/registry/registry.log" 2>/dev/null)"
REF=$REGISTRY/bench/big:latest
note "pushing to $REF"
skopeo copy -q --dest-tls-verify=false "oci:$image:latest" "docker://$REF" >"$run/push.log" 2>&1 ||
	die "skopeo copy to the registry failed: $(tail -n 3 "$run/push.log")"
served=$(skopeo inspect --raw --tls-verify=false "docker://$REF" | sha256sum | cut -d' ' -f1)
[[ sha256:$served == "$manifest_digest" ]] || die "the registry serves manifest sha256:$served, not $manifest_digest"

# ---- the clients ------------------------------------------------------------------

clients=()
declare -A version skipped
if [[ ! -x $BERTH ]]; then
	skipped[berth]="no berth executable ($BERTH)"
else
	mkdir -p "$run/probe"
	if "$BERTH" --root "$run/probe" pull 2>&1 | grep -q 'unknown command'; then
		skipped[berth]="$BERTH has no pull command yet"
	else
		clients+=(berth)
		version[berth]="$BERTH ($("$BERTH" --version 2>/dev/null | head -n 1))"
	fi
	rm -rf "$run/probe"
fi
clients+=(skopeo)
version[skopeo]=$(skopeo --version)
if command -v podman >/dev/null; then
	clients+=(podman)
	version[podman]=$(podman --version)
else
	skipped[podman]="podman is not installed"
fi
if command -v ctr >/dev/null && command -v containerd >/dev/null; then
	clients+=(ctr)
	version[ctr]="$(ctr --version), $(containerd --version | awk '{ print $1, $3 }'), overlayfs snapshotter"
else
	skipped[ctr]="containerd is not installed"
fi

# client_cmd CLIENT STORE RUNROOT: sets CMD to the pull command line.
client_cmd() {
	local s=$2 RR=$3
	case $1 in
	berth) CMD=("$BERTH" --root "$s" pull --tls-verify=false "$REF") ;;
	skopeo) CMD=(skopeo copy --src-tls-verify=false "docker://$REF" "containers-storage:[overlay@$s/root+$RR]bench/big:latest") ;;
	podman) CMD=(podman --root "$s/root" --runroot "$RR" --tmpdir "$RR/tmp" --storage-driver overlay
		--events-backend file pull --tls-verify=false "$REF") ;;
	ctr) CMD=(ctr -a "$s/containerd.sock" -n bench images pull --plain-http "$REF") ;;
	esac
}

have_time=0
[[ -x /usr/bin/time ]] && have_time=1

# cpu_ticks PID: user + system CPU time of PID so far, in clock ticks.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null; }
hz=$(getconf CLK_TCK)

# pull_once CLIENT TAG: one pull into a fresh store. Sets WALL_US, RSS_KIB,
# CPU_S (the client's user + system time, plus containerd's for ctr),
# DAEMON_KIB (containerd's VmHWM) and DISK_MIB; returns non-zero on failure
# with the reason in $run/err.
pull_once() {
	local c=$1 s=$run/store-$1-$2 rr=$runroots/$1-$2 t0 t1 rc
	local d0=0 d1=0
	WALL_US='' RSS_KIB='' CPU_S='' DAEMON_KIB='' DISK_MIB=''
	mkdir -p "$s" "$rr"
	if [[ $c == ctr ]]; then
		start_containerd "$s" 2>"$run/err" || return 1
		d0=$(cpu_ticks "$containerd_pid")
	fi
	client_cmd "$c" "$s" "$rr"
	t0=${EPOCHREALTIME/./}
	if ((have_time)); then
		/usr/bin/time -f '%M %U %S' -o "$run/rss" "${CMD[@]}" </dev/null >"$run/err" 2>&1
	else
		"${CMD[@]}" </dev/null >"$run/err" 2>&1
	fi
	rc=$?
	t1=${EPOCHREALTIME/./}
	WALL_US=$((t1 - t0))
	if [[ $c == ctr ]]; then
		d1=$(cpu_ticks "$containerd_pid")
		DAEMON_KIB=$(awk '/^VmHWM:/ { print $2 }' "/proc/$containerd_pid/status" 2>/dev/null)
		stop_pid "$containerd_pid"
		containerd_pid=
	fi
	if ((have_time)); then
		read -r RSS_KIB CPU_S < <(tail -n 1 "$run/rss" |
			awk -v d=$((d1 - d0)) -v hz="$hz" '{ printf "%s %.2f\n", $1, $2 + $3 + d / hz }')
	fi
	DISK_MIB=$(du -sm --one-file-system "$s" | cut -f1)
	unmount_under "$s"
	unmount_under "$rr"
	rm -rf --one-file-system "$s" "$rr"
	# The next client should not pay for this one's dirty pages.
	sync -f "$run"
	if ((rc != 0)); then
		sed -i "1i exit status $rc:" "$run/err"
		return 1
	fi
	# A pull that succeeded without unpacking the layers is no pull.
	if ((DISK_MIB * 10 < ${unc_mib%.*} * 9)); then
		echo "the store holds $DISK_MIB MiB after the pull, less than the image's $unc_mib MiB" >"$run/err"
		return 1
	fi
}

declare -A wall rss cpu daemon disk failed
bad=0
fail() { mark_failed "$1" "$2" "$run/err"; }

# Warm-up: one untimed pull each (page cache, binaries; finds broken clients).
alive=()
for c in "${clients[@]}"; do
	note "warm-up pull: $c"
	if pull_once "$c" warm; then alive+=("$c"); else fail "$c" "the warm-up pull"; fi
done

n_alive=${#alive[@]}
for ((i = 1; i <= ITER; i++)); do
	note "round $i/$ITER"
	# The order turns each round, so no client always follows the same one.
	for ((j = 0; j < n_alive; j++)); do
		c=${alive[(i + j) % n_alive]}
		[[ -z ${failed[$c]:-} ]] || continue
		if pull_once "$c" "$i"; then
			wall[$c]+=" $WALL_US"
			rss[$c]+=" $RSS_KIB"
			cpu[$c]+=" $CPU_S"
			daemon[$c]+=" $DAEMON_KIB"
			disk[$c]+=" $DISK_MIB"
		else
			fail "$c" "pull $i"
		fi
	done
done

# ---- report -------------------------------------------------------------------------

minmax() { printf '%s\n' "$@" | sort -n | awk 'NF { v[++n] = $1 } END { if (n) printf "%.2f %.2f", v[1] / 1e6, v[n] / 1e6 }'; }

echo "Berth pull benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ), kernel $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), ITER=$ITER"
echo "image: $REF, $n_layers gzip layers, $entries entries, $unc_mib MiB uncompressed, $comp_mib MiB compressed"
echo "registry: $(docker-registry --version 2>/dev/null | awk '{ print $1, $3 }') on 127.0.0.1, its storage in the page cache"
for c in berth skopeo podman ctr; do
	if [[ -n ${version[$c]:-} ]]; then
		echo "  $c: ${version[$c]}"
	else
		echo "  $c: skipped: ${skipped[$c]}"
	fi
done
echo
fmt='%-8s %9s %7s %7s %7s %11s %11s %8s %8s %9s\n'
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" client "median s" "min s" "max s" "CPU s" "unc MiB/s" "comp MiB/s" "RSS MiB" "+daemon" "disk MiB"
declare -A med medcpu
for c in "${clients[@]}"; do
	if [[ -n ${failed[$c]:-} || -z ${wall[$c]:-} ]]; then
		# shellcheck disable=SC2059
		printf "$fmt" "$c" fail - - - - - - - -
		continue
	fi
	# shellcheck disable=SC2086 # word splitting of the sample lists is intended
	{
		m=$(median ${wall[$c]})
		read -r lo hi <<<"$(minmax ${wall[$c]})"
		r=$(median ${rss[$c]})
		u=$(median ${cpu[$c]})
		dm=$(median ${daemon[$c]})
		dk=$(median ${disk[$c]})
	}
	med[$c]=$m
	medcpu[$c]=$u
	# shellcheck disable=SC2059
	printf "$fmt" "$c" "$(awk -v v="$m" 'BEGIN { printf "%.2f", v / 1e6 }')" "$lo" "$hi" "${u:--}" \
		"$(awk -v u="$unc_mib" -v v="$m" 'BEGIN { printf "%.1f", u / (v / 1e6) }')" \
		"$(awk -v u="$comp_mib" -v v="$m" 'BEGIN { printf "%.1f", u / (v / 1e6) }')" \
		"$([[ -n $r ]] && awk -v v="$r" 'BEGIN { printf "%.0f", v / 1024 }' || echo -)" \
		"$([[ -n $dm ]] && awk -v v="$dm" 'BEGIN { printf "%.0f", v / 1024 }' || echo -)" "${dk%.*}"
done
echo
fastest='' fm=''
for c in skopeo podman ctr; do
	[[ -n ${med[$c]:-} ]] || continue
	if [[ -z $fm ]] || awk -v a="${med[$c]}" -v b="$fm" 'BEGIN { exit !(a < b) }'; then fastest=$c fm=${med[$c]}; fi
done
if [[ -n ${med[berth]:-} && -n $fastest ]]; then
	echo "berth / fastest other ($fastest): $(awk -v a="${med[berth]}" -v b="$fm" 'BEGIN { printf "%.2f", a / b }') (below 1: berth is faster)"
	if [[ -n ${medcpu[berth]:-} && -n ${medcpu[$fastest]:-} ]]; then
		echo "berth CPU / $fastest CPU: $(awk -v a="${medcpu[berth]}" -v b="${medcpu[$fastest]}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')"
	fi
elif [[ -n $fastest ]]; then
	echo "fastest: $fastest; no berth figures (${skipped[berth]:-berth failed})"
fi
exit "$bad"
