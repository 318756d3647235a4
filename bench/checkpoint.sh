#!/bin/bash
# checkpoint.sh [RUNTIME] — checkpoint and restore time through CRIU,
# berth-runtime beside runc.
#
# RUNTIME defaults to ./berth-runtime (else berth-runtime from PATH); runc is
# Debian's. Two containers from the same offline busybox rootfs: "busybox"
# (a shell in a sleep loop) and "256 MiB" (busybox awk holding a 256 MiB
# string it wrote, so every page is touched; it says "ready" on stderr once
# the string is made, and only then is it dumped, so every image holds the
# same memory). Per iteration and runtime:
# run -d, checkpoint into an image dir on a tmpfs of our own (so the disk is
# not what is measured), restore -d from it, delete. Runtimes alternate
# (A i, B i, A i+1, ...) so drift in the machine hits both alike.
#
# Environment: ITER (iterations per median, default 10). Needs root and CRIU
# 4 (tools/install-deps). Prints the table on stdout (median ms, image size
# in KiB, and runtime/runc ratios), progress and errors on stderr; exits 1
# when a cell failed.
set -uo pipefail
export LC_ALL=C

prog=checkpoint.sh
self=$(realpath -e "${BASH_SOURCE[0]}")
top=$(dirname "$(dirname "$self")")
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
ITER=${ITER:-10}

die() {
	echo "$prog: $*" >&2
	exit 1
}
note() { echo "$prog: $*" >&2; }

[[ $ITER =~ ^[1-9][0-9]*$ ]] || die "ITER must be a positive integer, not '$ITER'"
[[ $(id -u) == 0 ]] || die "must run as root (containers, cgroups, CRIU)"
command -v criu >/dev/null || die "no criu in PATH: tools/install-deps builds CRIU 4"
criu check >/dev/null 2>&1 || die "criu check fails on this kernel: $(criu check 2>&1 | tail -n1)"
command -v runc >/dev/null || die "runc is needed (apt-get install runc)"
command -v jq >/dev/null || die "jq is needed (apt-get install jq)"

if [[ -n ${1:-} ]]; then
	berth=$(realpath -m "$(command -v "$1" || echo "$1")")
elif [[ -x ./berth-runtime ]]; then
	berth=$PWD/berth-runtime
else
	berth=$(command -v berth-runtime) || die "no berth-runtime: pass its path"
fi
[[ -x $berth ]] || die "$berth is not executable"
runtimes=("$berth" "$(command -v runc)")
names=(berth-runtime runc)

scratch=$(mktemp -d /var/tmp/berth-bench-checkpoint.XXXXXX)
cleanup() {
	local k c
	for k in 0 1; do
		for c in $("${runtimes[$k]}" --root "$scratch/root$k" list -q 2>/dev/null); do
			"${runtimes[$k]}" --root "$scratch/root$k" delete -f "$c" >/dev/null 2>&1
		done
	done
	unmount_under "$scratch"
	rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Images on a tmpfs of our own: CRIU's work is measured, not the disk's.
mkdir -p "$scratch/img"
mount -t tmpfs -o size=2g,mode=0700 tmpfs "$scratch/img" || die "cannot mount a tmpfs at $scratch/img"

# One rootfs, two configs (runc's spec, as runc would be given).
RUNTIME=$(command -v runc) "$top/tools/make-bundle" "$scratch/busybox" \
	sh -c 'while true; do sleep 1; done' >/dev/null || die "make-bundle failed"
mkdir -p "$scratch/mem"
jq --arg root "$scratch/busybox/rootfs" '.root.path = $root | .process.args = ["awk", "BEGIN { s = sprintf(\"%268435456s\", \"\"); print \"ready\" > \"/dev/stderr\"; fflush(); while (1) system(\"sleep 1\") }"]' \
	"$scratch/busybox/config.json" >"$scratch/mem/config.json" || die "jq failed"

declare -A times failed
bad=0

now_us() { echo $(($(date +%s%N) / 1000)); }

# wait_ready FILE: the container said "ready" on its stderr, kept in FILE (60 s).
wait_ready() {
	local n
	for ((n = 0; n < 600; n++)); do
		grep -qx ready "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# one K WHAT I: one round of runtime K on bundle WHAT.
one() {
	local k=$1 what=$2 i=$3 rt=${runtimes[$1]} root=$scratch/root$1 id="b$1-$2-$3" img t0 t1 t2
	local name=${names[$k]}:$what err=$scratch/err
	[[ -n ${failed[$name]:-} ]] && return
	img=$scratch/img/$id
	# The container's stderr is a pipe (a file of the host's mounts is
	# outside the container: CRIU cannot dump it); a cat keeps its text.
	"$rt" --root "$root" run -d --bundle "$scratch/$what" "$id" </dev/null >/dev/null 2> >(exec cat >"$err") ||
		{ sleep 0.2; mark_failed "$name" run "$err"; return; }
	if [[ $what == mem ]]; then
		wait_ready "$err" || { echo "no 256 MiB string made in 60 s" >>"$err"; mark_failed "$name" run "$err"; "$rt" --root "$root" delete -f "$id" >/dev/null 2>&1; return; }
	else
		sleep 0.2
	fi
	t0=$(now_us)
	"$rt" --root "$root" checkpoint --image-path "$img" "$id" </dev/null >/dev/null 2>"$err" ||
		{ mark_failed "$name" checkpoint "$err"; "$rt" --root "$root" delete -f "$id" >/dev/null 2>&1; return; }
	t1=$(now_us)
	"$rt" --root "$root" restore -d --image-path "$img" --bundle "$scratch/$what" "$id" \
		</dev/null >/dev/null 2> >(exec cat >"$err") || { sleep 0.2; mark_failed "$name" restore "$err"; return; }
	t2=$(now_us)
	times[$name:checkpoint]+=" $((t1 - t0))"
	times[$name:restore]+=" $((t2 - t1))"
	times[$name:size]=$(du -sk "$img" | cut -f1)
	"$rt" --root "$root" delete -f "$id" >/dev/null 2>&1
	rm -rf "$img"
}

for what in busybox mem; do
	for ((i = 0; i < ITER; i++)); do
		note "$what: round $((i + 1))/$ITER"
		one 0 "$what" "$i"
		one 1 "$what" "$i"
	done
done

ms() { awk -v v="$1" 'BEGIN { if (v == "") print "fail"; else printf "%.1f", v / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }

printf '%-32s %14s %14s %18s\n' "median of $ITER" berth-runtime runc berth-runtime/runc
for what in busybox mem; do
	label=$what
	[[ $what == mem ]] && label="256 MiB"
	for m in checkpoint restore; do
		# shellcheck disable=SC2086 # a list of numbers
		a=$(median ${times[berth-runtime:$what:$m]:-})
		# shellcheck disable=SC2086
		b=$(median ${times[runc:$what:$m]:-})
		printf '%-32s %14s %14s %18s\n' "$label: $m (ms)" "$(ms "$a")" "$(ms "$b")" "$(ratio "$a" "$b")"
	done
	a=${times[berth-runtime:$what:size]:-}
	b=${times[runc:$what:size]:-}
	printf '%-32s %14s %14s %18s\n' "$label: image size (KiB)" "${a:-fail}" "${b:-fail}" "$(ratio "$a" "$b")"
done
exit "$bad"
