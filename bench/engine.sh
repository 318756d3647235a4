#!/bin/bash
# engine.sh [BERTH] — the whole engine: `berth run --rm IMAGE true` beside
# `podman run --rm` and `ctr run --rm` (containerd), same image, same machine.
#
# The image is busybox (tools/make-oci-image, offline from Debian's
# busybox-static), pushed with skopeo to Debian's docker-registry started on
# 127.0.0.1 (a free port, config and storage in the work dir). Each engine
# pulls it once into a store of its own in the work dir (untimed), runs it
# once to warm up (untimed), then ITER rounds of `run --rm ... true` with no
# network, interleaved, the order turned by one engine each round.
# BERTH defaults to ./berth (else berth from PATH); a berth whose `run
# --help` fails is reported as "berth run not available" and the others are
# still measured. podman runs when installed, ctr when containerd is. Every
# process, mount, cgroup and temp dir the run made is gone on exit.
#
# Environment: ITER (timed runs per engine, default 20). Needs root. Prints
# the table on stdout, progress on stderr; exits 1 when an engine that ran
# failed.
set -uo pipefail
export LC_ALL=C

prog=engine.sh
self=$(realpath -e "${BASH_SOURCE[0]}")
top=$(dirname "$(dirname "$self")")
ITER=${ITER:-20}
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"

die() {
	echo "$prog: $*" >&2
	exit 1
}
note() { echo "$prog: $*" >&2; }

usage() {
	cat <<-EOF
		usage: $prog [BERTH]
		Runs \`run --rm IMAGE true\` (busybox from a local registry, no network) with
		berth, podman and ctr, interleaved, and reports median wall times and the
		ratios berth/podman and berth/ctr.
		Environment: ITER=$ITER
	EOF
}

berth_arg=
while (($#)); do
	case $1 in
	-h | --help)
		usage
		exit 0
		;;
	-*) die "unknown flag: $1 (see --help)" ;;
	*)
		[[ -z $berth_arg ]] || die "one BERTH only (see --help)"
		berth_arg=$1
		;;
	esac
	shift
done
[[ $ITER =~ ^[1-9][0-9]*$ ]] || die "ITER must be a positive integer, not '$ITER'"

if [[ ${BERTH_BENCH_NS:-} != 1 ]]; then
	[[ $(id -u) == 0 ]] || die "must run as root (containers, cgroups, mounts)"
	for t in docker-registry skopeo jq curl ss unshare busybox; do
		command -v "$t" >/dev/null || die "$t is not installed (tools/install-deps installs it)"
	done
	berth_arg=$(resolve_berth "$berth_arg")
	# A private mount namespace: the engines' mounts go away with it even if
	# this script is killed, and a hybrid cgroup layout can be hidden from
	# crun without touching the host's mounts.
	exec env BERTH_BENCH_NS=1 unshare --mount --propagation private "$BASH" "$self" "$berth_arg"
fi
[[ $(readlink /proc/self/ns/mnt) != "$(readlink "/proc/$PPID/ns/mnt")" ]] ||
	die "not in a private mount namespace (unset BERTH_BENCH_NS)"
BERTH=$berth_arg

# ---- work dir, cleanup ----------------------------------------------------------

work=$(mktemp -d /var/tmp/berth-bench-engine.XXXXXX) || die "mktemp failed"
# podman refuses a run root longer than 50 characters.
runroot=$(mktemp -d /run/bbe.XXXXXX) || die "mktemp in /run failed"
# Every container and cgroup of the run carries this tag in its name.
tag=berth-bench-$$
registry_pid='' containerd_pid=''
# containerd's shims put their sockets in /run/containerd/s whatever its
# config says: removed on exit when this run made it.
made_run_containerd=0
[[ -e /run/containerd ]] || made_run_containerd=1

# Processes that name the work dir or the run root on their command line
# (a shim or conmon an engine left behind): ours, by pid.
# shellcheck disable=SC2317 # called by the EXIT trap
leftover_pids() {
	grep -lzF -e "$work/" -e "$runroot/" /proc/[0-9]*/cmdline 2>/dev/null |
		awk -F/ -v self=$$ '$3 != self { print $3 }'
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	trap - EXIT INT TERM HUP
	local p n dirs
	[[ -z $containerd_pid ]] || stop_pid "$containerd_pid"
	[[ -z $registry_pid ]] || stop_pid "$registry_pid"
	for p in $(leftover_pids); do kill -KILL "$p" 2>/dev/null; done
	unmount_under "$work"
	unmount_under "$runroot"
	# The engines' cgroup parents (podman's --cgroup-parent, containerd's
	# namespace) and the empty cgroups in them, deepest first.
	# (A conmon may still be on its way out: a few tries.)
	for ((n = 0; n < 20; n++)); do
		mapfile -t dirs < <(find /sys/fs/cgroup -maxdepth 2 -type d -name "$tag" 2>/dev/null)
		((${#dirs[@]})) || break
		find "${dirs[@]}" -depth -type d -exec rmdir {} + 2>/dev/null
		sleep 0.1
	done
	p=$(find /sys/fs/cgroup -maxdepth 2 -type d -name "$tag" 2>/dev/null)
	[[ -z $p ]] || note "cgroups left behind: $p"
	rm -rf --one-file-system "$work" "$runroot"
	((made_run_containerd)) && rmdir /run/containerd/s /run/containerd 2>/dev/null
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

hide_cgroup2 "$work" || die "could not hide /sys/fs/cgroup/unified in the private mount namespace"

# ---- the image in a registry ----------------------------------------------------

"$top/tools/make-oci-image" "$work/busybox.tar" busybox:latest >"$work/image.log" 2>&1 ||
	die "tools/make-oci-image failed: $(tail -n 3 "$work/image.log")"
start_registry "$work/registry" || die "docker-registry did not start: $(tail -n 3 "$work/registry/registry.log" 2>/dev/null)"
REF=$REGISTRY/busybox:latest
note "pushing to $REF"
skopeo copy -q --dest-tls-verify=false "oci-archive:$work/busybox.tar:latest" "docker://$REF" >"$work/push.log" 2>&1 ||
	die "skopeo copy to the registry failed: $(tail -n 3 "$work/push.log")"

# ---- the engines --------------------------------------------------------------------

engines=()
declare -A version skipped
if [[ ! -x $BERTH ]]; then
	skipped[berth]="no berth executable ($BERTH)"
elif ! probe=$("$BERTH" --root "$work/probe" run --help 2>&1) && [[ $probe == *"unknown command"* ]]; then
	# (A berth whose verbs take no --help still has run: the warm-up tells.)
	skipped[berth]="berth run not available ($BERTH run --help: $(head -n 1 <<<"$probe"))"
else
	engines+=(berth)
	version[berth]="$BERTH ($("$BERTH" --version 2>/dev/null | head -n 1))"
fi
rm -rf "$work/probe"
[[ -z ${skipped[berth]:-} ]] || note "${skipped[berth]}"
if command -v podman >/dev/null; then
	engines+=(podman)
else
	skipped[podman]="podman is not installed"
fi
if command -v ctr >/dev/null && command -v containerd >/dev/null; then
	engines+=(ctr)
else
	skipped[ctr]="containerd is not installed"
fi

PODMAN=(podman --root "$work/podman" --runroot "$runroot/podman" --tmpdir "$runroot/podman/tmp"
	--storage-driver overlay --events-backend file --cgroup-manager cgroupfs)
# podman's default RLIMIT_NOFILE and RLIMIT_NPROC (1048576 and more) can be
# above what root may set (without CAP_SYS_RESOURCE, in a container), and
# crun then fails: lower ones, as tests/integration/podman.bats does.
PODMAN_ULIMITS=(--ulimit nofile=1024:1024 --ulimit nproc=4096:4096)
CTR=(ctr -a "$work/containerd/containerd.sock" -n "$tag")

# engine_cmd ENGINE ID pull|run: sets CMD to the command line.
engine_cmd() {
	case $1:$3 in
	berth:pull) CMD=("$BERTH" --root "$work/berth" pull --tls-verify=false "$REF") ;;
	berth:run) CMD=("$BERTH" --root "$work/berth" run --rm --network none "$REF" true) ;;
	podman:pull) CMD=("${PODMAN[@]}" pull --tls-verify=false "$REF") ;;
	podman:run) CMD=("${PODMAN[@]}" run --rm --network none --cgroup-parent "/$tag" "${PODMAN_ULIMITS[@]}" "$REF" true) ;;
	ctr:pull) CMD=("${CTR[@]}" images pull --plain-http "$REF") ;;
	# ctr run without --net-host: a new network namespace with lo only.
	ctr:run) CMD=("${CTR[@]}" run --rm --runc-root "$runroot/runc" --fifo-dir "$runroot/fifo" "$REF" "$2" true) ;;
	esac
}

seq_id=0
# run_once ENGINE pull|run: sets WALL_US; on failure returns non-zero with
# the output in $work/err.
run_once() {
	local t0 t1 rc
	engine_cmd "$1" "$tag-$((++seq_id))" "$2"
	t0=${EPOCHREALTIME/./}
	"${CMD[@]}" </dev/null >"$work/err" 2>&1
	rc=$?
	t1=${EPOCHREALTIME/./}
	WALL_US=$((t1 - t0))
	if ((rc != 0)); then
		sed -i "1i exit status $rc:" "$work/err"
		return 1
	fi
}

declare -A wall failed
bad=0
fail() { mark_failed "$1" "$2" "$work/err"; }

alive=()
for e in "${engines[@]}"; do
	note "$e: pull and warm-up run"
	if [[ $e == ctr ]] && ! start_containerd "$work/containerd" 2>"$work/err"; then
		fail ctr "starting containerd"
		continue
	fi
	if ! run_once "$e" pull; then
		fail "$e" "the pull"
	elif ! run_once "$e" run; then
		fail "$e" "the warm-up run"
	else
		alive+=("$e")
	fi
done
version[podman]="$(podman --version), runtime $("${PODMAN[@]}" info --format '{{.Host.OCIRuntime.Version}}' 2>/dev/null |
	head -n 1), cgroupfs"
version[ctr]="$(ctr --version), $(containerd --version 2>/dev/null | awk '{ print $1, $3 }'), runtime io.containerd.runc.v2 ($(runc --version 2>/dev/null | head -n 1))"

n_alive=${#alive[@]}
for ((i = 1; i <= ITER; i++)); do
	[[ -t 2 ]] && printf '\r%s: round %d/%d' "$prog" "$i" "$ITER" >&2
	for ((j = 0; j < n_alive; j++)); do
		e=${alive[(i + j) % n_alive]}
		[[ -z ${failed[$e]:-} ]] || continue
		if run_once "$e" run; then
			wall[$e]+=" $WALL_US"
		else
			fail "$e" "run $i"
		fi
	done
done
[[ -t 2 ]] && printf '\n' >&2

# ---- report -------------------------------------------------------------------------

echo "Berth engine benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ), kernel $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), ITER=$ITER"
echo "image: $REF (busybox-static, one layer), from docker-registry on 127.0.0.1; run --rm IMAGE true, no network"
for e in berth podman ctr; do
	if [[ -n ${skipped[$e]:-} ]]; then
		echo "  $e: skipped: ${skipped[$e]}"
	else
		echo "  $e: ${version[$e]}"
	fi
done
echo
fmt='%-8s %10s %8s %8s\n'
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" engine "median ms" "min ms" "max ms"
declare -A med
for e in "${engines[@]}"; do
	if [[ -n ${failed[$e]:-} || -z ${wall[$e]:-} ]]; then
		# shellcheck disable=SC2059
		printf "$fmt" "$e" fail - -
		continue
	fi
	# shellcheck disable=SC2086 # word splitting of the sample list is intended
	{
		med[$e]=$(median ${wall[$e]})
		read -r lo hi < <(printf '%s\n' ${wall[$e]} | sort -n | sed -n '1p;$p' | tr '\n' ' ')
	}
	# shellcheck disable=SC2059
	printf "$fmt" "$e" "$(awk -v v="${med[$e]}" 'BEGIN { printf "%.1f", v / 1000 }')" \
		"$(awk -v v="$lo" 'BEGIN { printf "%.1f", v / 1000 }')" "$(awk -v v="$hi" 'BEGIN { printf "%.1f", v / 1000 }')"
done
echo
for o in podman ctr; do
	if [[ -n ${med[berth]:-} && -n ${med[$o]:-} ]]; then
		echo "berth / $o: $(awk -v a="${med[berth]}" -v b="${med[$o]}" 'BEGIN { printf "%.2f", a / b }') (below 1: berth is faster)"
	else
		echo "berth / $o: - (${skipped[berth]:-${skipped[$o]:-a run failed}})"
	fi
done
exit "$bad"
