#!/bin/bash
# shim.sh [RUNTIME] — berth-shim beside conmon: time to a started container
# and the monitor's memory, with the same runtime and the same container.
#
# RUNTIME defaults to ./berth-runtime (else berth-runtime from PATH); SHIM to
# ./berth-shim. conmon is Debian's (apt-get install conmon when missing).
# Each round, interleaved (berth-shim i, conmon i, ...):
#   start  wall time from launching the monitor until `RUNTIME start` has
#          returned: the monitor's detach, `RUNTIME create` through it, the
#          pid reported back over its sync pipe (berth-shim: its stdout;
#          conmon: _OCI_SYNCPIPE), then `start`
#   RSS    the monitor's VmHWM (peak resident set) and PSS, read from /proc
#          after the container has written 2000 lines through it
# Environment: ITER (rounds, default 20). Needs root. Prints the table on
# stdout (medians, and conmon/berth-shim ratios), progress on stderr.
set -uo pipefail
export LC_ALL=C
prog=shim.sh
ITER=${ITER:-20}
die() {
	echo "$prog: $*" >&2
	exit 1
}
[[ $(id -u) == 0 ]] || die "must run as root"
[[ $ITER =~ ^[1-9][0-9]*$ ]] || die "ITER must be a positive integer"
self=$(realpath -e "${BASH_SOURCE[0]}")
top=$(dirname "$(dirname "$self")")
RUNTIME=${1:-}
if [ -z "$RUNTIME" ]; then
	if [ -x ./berth-runtime ]; then RUNTIME=$PWD/berth-runtime; else RUNTIME=$(command -v berth-runtime) || die "no berth-runtime"; fi
fi
RUNTIME=$(realpath -e "$(command -v "$RUNTIME" || echo "$RUNTIME")") || die "no runtime $RUNTIME"
SHIM=${SHIM:-}
if [ -z "$SHIM" ]; then
	if [ -x ./berth-shim ]; then SHIM=$PWD/berth-shim; else SHIM=$(command -v berth-shim) || die "no berth-shim (build it, or set SHIM)"; fi
fi
if ! command -v conmon >/dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y conmon >&2 || die "apt-get install conmon failed"
fi
CONMON=$(command -v conmon)

tmp=$(mktemp -d /tmp/berth-bench-shim.XXXXXX)
ids=()
cleanup() {
	local id d pid
	for id in "${ids[@]}"; do
		"$RUNTIME" --root "$tmp/root" delete --force "$id" >/dev/null 2>&1
	done
	# Monitors still running (only ours: their command line names $tmp).
	for f in "$tmp"/*/shim.pid "$tmp"/*/conmon.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		grep -qzF -- "$tmp" "/proc/$pid/cmdline" 2>/dev/null && kill -9 "$pid" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "$prog: runtime $RUNTIME, berth-shim $SHIM, $CONMON ($("$CONMON" --version | head -n1)), $ITER rounds" >&2
RUNTIME=$RUNTIME "$top/tools/make-bundle" "$tmp/bundle" sh -c \
	'i=0; while [ $i -lt 2000 ]; do echo "line $i"; i=$((i + 1)); done; while [ ! -e /shared/stop ]; do sleep 0.05; done' >/dev/null ||
	die "make-bundle failed"
mkdir -p "$tmp/shared"
jq --arg s "$tmp/shared" '.mounts += [{"destination": "/shared", "type": "bind", "source": $s, "options": ["rbind", "rw"]}]' \
	"$tmp/bundle/config.json" >"$tmp/c.json" && mv "$tmp/c.json" "$tmp/bundle/config.json"

now_us() { echo $(($(date +%s%N) / 1000)); }

wait_for() { # wait_for COMMAND...: up to 30 s
	local i
	for ((i = 0; i < 600; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# mem PID: "HWM_KIB PSS_KIB"
mem() {
	local hwm pss
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$1/status")
	pss=$(awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup")
	echo "$hwm $pss"
}

# run_one KIND N: prints "START_US HWM_KIB PSS_KIB".
run_one() {
	local kind=$1 n=$2 id="bs-$1-$2-$$" d t0 t1 pid m
	d=$tmp/$kind-$n
	mkdir -p "$d/exits" "$d/sock"
	ids+=("$id")
	rm -f "$tmp/shared/stop"
	t0=$(now_us)
	if [ "$kind" = berth-shim ]; then
		"$SHIM" --id "$id" --bundle "$tmp/bundle" --runtime "$RUNTIME" --runtime-root "$tmp/root" \
			--run-dir "$d" --log-path "$d/ctr.log" --exit-dir "$d/exits" >/dev/null || return 1
		pid=$(cat "$d/shim.pid")
	else
		mkfifo "$d/sync"
		exec {sync}<>"$d/sync"
		_OCI_SYNCPIPE=$sync "$CONMON" --api-version 1 -c "$id" -u "$id" -n "$id" -r "$RUNTIME" \
			-b "$tmp/bundle" -p "$d/ctr.pid" -P "$d/conmon.pid" -l "k8s-file:$d/ctr.log" \
			--exit-dir "$d/exits" --socket-dir-path "$d/sock" --runtime-arg "--root=$tmp/root" \
			--log-level error || return 1
		local line
		read -r -t 30 -u "$sync" line || return 1
		exec {sync}>&-
		[[ $line == *'"data": '[1-9]* ]] || { echo "$prog: conmon: $line" >&2; return 1; }
		pid=$(cat "$d/conmon.pid")
	fi
	"$RUNTIME" --root "$tmp/root" start "$id" || return 1
	t1=$(now_us)
	wait_for grep -q 'line 1999' "$d/ctr.log" || return 1
	m=$(mem "$pid")
	touch "$tmp/shared/stop"
	wait_for eval '[ -n "$(ls "$d/exits")" ]' || return 1
	"$RUNTIME" --root "$tmp/root" delete --force "$id" >/dev/null 2>&1
	echo "$((t1 - t0)) $m"
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "fail"; else print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

for ((n = 0; n < ITER; n++)); do
	for kind in berth-shim conmon; do
		r=$(run_one "$kind" "$n") || { echo "$prog: $kind round $n failed" >&2; continue; }
		echo "$r" >>"$tmp/$kind.results"
	done
	echo "$prog: round $((n + 1))/$ITER" >&2
done

col() { awk -v c="$2" '{ print $c }' "$tmp/$1.results" 2>/dev/null | median; }
bs_t=$(col berth-shim 1) cm_t=$(col conmon 1)
bs_h=$(col berth-shim 2) cm_h=$(col conmon 2)
bs_p=$(col berth-shim 3) cm_p=$(col conmon 3)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }
printf '%-34s %12s %12s %16s\n' "median of $ITER ($(basename "$RUNTIME"))" berth-shim conmon conmon/berth-shim
printf '%-34s %12s %12s %16s\n' "start: launch to started (ms)" "$(awk -v v="$bs_t" 'BEGIN { printf "%.1f", v / 1000 }')" \
	"$(awk -v v="$cm_t" 'BEGIN { printf "%.1f", v / 1000 }')" "$(ratio "$cm_t" "$bs_t")"
printf '%-34s %12s %12s %16s\n' "peak RSS, VmHWM (KiB)" "$bs_h" "$cm_h" "$(ratio "$cm_h" "$bs_h")"
printf '%-34s %12s %12s %16s\n' "PSS (KiB)" "$bs_p" "$cm_p" "$(ratio "$cm_p" "$bs_p")"
[ "$bs_t" != fail ] && [ "$cm_t" != fail ]
