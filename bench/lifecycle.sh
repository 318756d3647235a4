#!/bin/bash
# lifecycle.sh [RUNTIME...] — container lifecycle cost of OCI runtimes, side by side.
#
# Runtimes default to ./berth-runtime (else berth-runtime from PATH), crun and
# runc; runc and crun are installed with apt-get when missing. Every runtime
# runs the same offline busybox bundle (/bin/true, the default spec's
# namespaces), each with its own --root under one temp dir, interleaved round
# robin (A i, B i, C i, A i+1, ...) so drift in the machine hits all alike.
#
# Environment: ITER (iterations per median, default 30), SEQ_RUNS (default
# 100), PAR_RUNS (default 50), SPEC_RUNTIME (whose `spec` makes config.json,
# default runc). Needs root. Prints the table on stdout, progress and errors
# on stderr; exits 1 when any cell is "fail".
set -uo pipefail
export LC_ALL=C

prog=lifecycle.sh
self=$(realpath -e "${BASH_SOURCE[0]}")
top=$(dirname "$(dirname "$self")")
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
ITER=${ITER:-30}
SEQ_RUNS=${SEQ_RUNS:-100}
PAR_RUNS=${PAR_RUNS:-50}

die() {
	echo "$prog: $*" >&2
	exit 1
}
note() { echo "$prog: $*" >&2; }

usage() {
	cat <<-EOF
		usage: $prog [RUNTIME...]
		Measures run/create/start/state/kill/delete latency, ${SEQ_RUNS} sequential and
		${PAR_RUNS} concurrent runs, and peak RSS of each RUNTIME (default:
		./berth-runtime or berth-runtime from PATH, crun, runc).
		Environment: ITER=$ITER SEQ_RUNS=$SEQ_RUNS PAR_RUNS=$PAR_RUNS SPEC_RUNTIME=runc
	EOF
}

for n in ITER SEQ_RUNS PAR_RUNS; do
	[[ ${!n} =~ ^[1-9][0-9]*$ ]] || die "$n must be a positive integer, not '${!n}'"
done

apt_install() {
	note "installing $*"
	export DEBIAN_FRONTEND=noninteractive
	{ apt-get install -y "$@" || { apt-get update && apt-get install -y "$@"; }; } >&2 ||
		die "apt-get install $* failed"
}

# Outside the private mount namespace: check, install, resolve runtime paths,
# then re-exec this script inside the namespace.
prepare() {
	[[ $(id -u) == 0 ]] || die "must run as root (containers, cgroups, mounts)"
	local want=("$@") r pkgs=()
	if [[ ${#want[@]} == 0 ]]; then
		if [[ -x ./berth-runtime ]]; then
			want=("$PWD/berth-runtime")
		elif command -v berth-runtime >/dev/null; then
			want=("$(command -v berth-runtime)")
		else
			want=(berth-runtime) # reported as not found, column "fail"
		fi
		want+=(crun runc)
	fi
	for r in "${want[@]}"; do
		case $r in runc | crun) command -v "$r" >/dev/null || pkgs=(runc crun) ;; esac
	done
	if [[ ${#pkgs[@]} != 0 ]]; then apt_install runc crun; fi
	pkgs=()
	[[ -x /usr/bin/time ]] || pkgs+=(time)
	command -v jq >/dev/null || pkgs+=(jq)
	[[ -x /bin/busybox ]] || pkgs+=(busybox-static)
	command -v unshare >/dev/null || pkgs+=(util-linux)
	if [[ ${#pkgs[@]} != 0 ]]; then apt_install "${pkgs[@]}"; fi

	local resolved=()
	for r in "${want[@]}"; do
		if [[ $r == */* ]]; then
			resolved+=("$(realpath -m "$r")")
		else
			resolved+=("$(command -v "$r" || echo "$r")")
		fi
	done
	# crun 1.8 refuses a hybrid layout (v1 controllers + cgroup2 at
	# /sys/fs/cgroup/unified); a private mount namespace hides cgroup2 from
	# every runtime alike without touching the host's mounts.
	exec env BERTH_BENCH_NS=1 unshare --mount --propagation private "$BASH" "$self" "${resolved[@]}"
}

case ${1:-} in -h | --help)
	usage
	exit 0
	;;
esac
if [[ ${BERTH_BENCH_NS:-} != 1 ]]; then
	prepare "$@"
fi
# unshare execs in place, so the parent is still in the caller's namespace.
# Never remount /sys/fs/cgroup in a namespace shared with the host.
[[ $(readlink /proc/self/ns/mnt) != "$(readlink "/proc/$PPID/ns/mnt")" ]] ||
	die "not in a private mount namespace (unset BERTH_BENCH_NS)"

# ---- inside the private mount namespace ------------------------------------

tmp=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench.XXXXXX") || die "mktemp failed"
declare -a rt_path rt_name rt_root rt_err rt_version rt_reported
declare -A samples failed live
bg_pids=()
id_seq=0

cleanup() {
	trap - EXIT INT TERM HUP
	local p key k n left
	# Background runs are short: give them 10 s to finish, then force-delete.
	for ((n = 0; n < 100; n++)); do
		left=
		for p in "${bg_pids[@]}"; do kill -0 "$p" 2>/dev/null && left=1; done
		[[ -n $left ]] || break
		sleep 0.1
	done
	for p in "${bg_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${bg_pids[@]}"; do wait "$p" 2>/dev/null; done
	for key in "${!live[@]}"; do
		k=${key%%/*}
		"${rt_path[k]}" --root "${rt_root[k]}" delete --force "${key#*/}" </dev/null >/dev/null 2>&1
	done
	# A runtime that failed half-way may leave cgroups its delete cannot find;
	# remove the empty ones named after our ids, deepest first.
	find /sys/fs/cgroup -depth -type d -name "*bench-$$-*" -exec rmdir {} + 2>/dev/null
	left=$(find /sys/fs/cgroup -type d -name "*bench-$$-*" 2>/dev/null)
	[[ -z $left ]] || note "cgroups left behind: $left"
	# Mounts under our temp dir (only in this namespace), innermost first.
	awk -v t="$tmp" '$5 == t || index($5, t "/") == 1 { print $5 }' /proc/self/mountinfo |
		sort -r | while read -r m; do umount -l "$m"; done
	rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# A hybrid layout is hidden from crun (bench/lib.sh), in this namespace only.
hide_cgroup2 "$tmp" || die "could not hide /sys/fs/cgroup/unified in the private mount namespace"

# ---- bundle -----------------------------------------------------------------

spec_rt=${SPEC_RUNTIME:-runc}
command -v "$spec_rt" >/dev/null || spec_rt=$1
spec_rt=$(command -v "$spec_rt" || realpath -m "$spec_rt")
bundle=$tmp/bundle
if [[ -x $top/tools/make-bundle ]]; then
	RUNTIME=$spec_rt "$top/tools/make-bundle" "$bundle" /bin/true >"$tmp/bundle.log" 2>&1 ||
		die "tools/make-bundle failed: $(cat "$tmp/bundle.log")"
elif ! { mkdir -p "$bundle"/rootfs/{bin,proc,sys,dev,etc,tmp} &&
	cp /bin/busybox "$bundle/rootfs/bin/busybox" &&
	for a in sh true sleep; do ln -s busybox "$bundle/rootfs/bin/$a"; done &&
	(cd "$bundle" && "$spec_rt" spec) &&
	jq '.process.terminal = false | .process.args = ["/bin/true"]' "$bundle/config.json" >"$bundle/c.json" &&
	mv "$bundle/c.json" "$bundle/config.json"; }; then
	die "could not build the bundle with $spec_rt spec"
fi
jq -e '.process.args == ["/bin/true"] and .process.terminal == false' "$bundle/config.json" >/dev/null ||
	die "$bundle/config.json does not run /bin/true without a terminal"

# The create/start/state/kill/delete cycle needs a process that stays up:
# the same rootfs with a sleeping config.
sleeper=$tmp/bundle-sleep
rootfs=$(jq -r '.root.path' "$bundle/config.json")
[[ $rootfs == /* ]] || rootfs=$bundle/$rootfs
if [[ -e $rootfs/bin/sleep ]]; then sleep_args='["/bin/sleep","3600"]'; else sleep_args='["/bin/busybox","sleep","3600"]'; fi
if ! { mkdir "$sleeper" &&
	jq --arg root "$rootfs" --argjson args "$sleep_args" '.root.path = $root | .process.args = $args' \
		"$bundle/config.json" >"$sleeper/config.json"; }; then
	die "could not write $sleeper/config.json"
fi

# The same /bin/true with a full resources block, so the cost of cgroup setup
# shows beside the other runtimes'.
resbundle=$tmp/bundle-res
if ! { mkdir "$resbundle" &&
	jq --arg root "$rootfs" '.root.path = $root | .linux.resources = {
		"memory": {"limit": 268435456, "reservation": 134217728},
		"cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0-1", "mems": "0"},
		"pids": {"limit": 100},
		"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]}' \
		"$bundle/config.json" >"$resbundle/config.json"; }; then
	die "could not write $resbundle/config.json"
fi

# The same /bin/true under the project's docker-style default seccomp
# profile (tests/seccomp/default.json): the cost of compiling and loading a
# real profile.
secbundle=$tmp/bundle-sec
if ! { mkdir "$secbundle" &&
	jq --arg root "$rootfs" --slurpfile p "$top/tests/seccomp/default.json" '.root.path = $root | .linux.seccomp = $p[0]' \
		"$bundle/config.json" >"$secbundle/config.json"; }; then
	die "could not write $secbundle/config.json"
fi
secsleeper=$tmp/bundle-sec-sleep
if ! { mkdir "$secsleeper" &&
	jq --argjson args "$sleep_args" '.process.args = $args' "$secbundle/config.json" >"$secsleeper/config.json"; }; then
	die "could not write $secsleeper/config.json"
fi

# ---- measuring --------------------------------------------------------------

metrics=(run runres runsec create start state exec execsec kill delete seq par rss)
declare -A label=(
	[run]="run /bin/true (median ms)"
	[runres]="run, full resources (median ms)"
	[runsec]="run, default seccomp profile (median ms)"
	[create]="create (median ms)"
	[start]="start (median ms)"
	[state]="state (median ms)"
	[exec]="exec /bin/true, running (median ms)"
	[execsec]="exec, default seccomp profile (median ms)"
	[kill]="kill KILL (median ms)"
	[delete]="delete (median ms)"
	[seq]="$SEQ_RUNS x run sequential (total ms)"
	[par]="$PAR_RUNS x run concurrent (total ms)"
	[rss]="run peak RSS (median KiB)"
)

if [[ -n ${EPOCHREALTIME:-} ]]; then
	stamp() { REPLY=${EPOCHREALTIME/./}; } # microseconds, no fork
else
	stamp() { REPLY=$(($(date +%s%N) / 1000)); }
fi

new_id() {
	id_seq=$((id_seq + 1))
	REPLY=bench-$$-$id_seq
}

# rt K ARGS...: run runtime K quietly, its stderr kept for error reports.
rt() {
	local k=$1
	shift
	"${rt_path[k]}" --root "${rt_root[k]}" "$@" </dev/null >/dev/null 2>"${rt_err[k]}"
}

# timed K METRIC ARGS...: run and record the wall time; on failure mark METRIC.
timed() {
	local k=$1 m=$2 t0 rc
	shift 2
	stamp
	t0=$REPLY
	rt "$k" "$@"
	rc=$?
	stamp
	if [[ $rc == 0 ]]; then
		samples[$k:$m]+=" $((REPLY - t0))"
	else
		fail "$k" "$m" "$1 (exit $rc)"
	fi
	return $rc
}

# fail K METRIC WHAT: the cell shows "fail"; the first error of a runtime is printed.
fail() {
	local k=$1 m=$2 what=$3 msg
	failed[$k:$m]=1
	[[ -z ${rt_reported[k]:-} ]] || return 0
	rt_reported[k]=1
	msg=$(head -c 2000 "${rt_err[k]}" 2>/dev/null)
	note "${rt_name[k]}: $what failed${msg:+: $msg}"
}

force_delete() {
	rt "$1" delete --force "$2" && unset "live[$1/$2]"
}

wait_stopped() {
	local k=$1 id=$2 n out
	for ((n = 0; n < 500; n++)); do
		out=$("${rt_path[k]}" --root "${rt_root[k]}" state "$id" 2>/dev/null)
		[[ $out =~ \"status\"[[:space:]]*:[[:space:]]*\"stopped\" ]] && return 0
		sleep 0.01
	done
	return 1
}

iteration() {
	local k=$1 id
	if [[ -z ${failed[$k:run]:-} ]]; then
		new_id
		id=$REPLY
		live[$k/$id]=1
		if timed "$k" run run --bundle "$bundle" "$id"; then unset "live[$k/$id]"; else force_delete "$k" "$id"; fi
	fi
	if [[ -z ${failed[$k:runres]:-} ]]; then
		new_id
		id=$REPLY
		live[$k/$id]=1
		if timed "$k" runres run --bundle "$resbundle" "$id"; then unset "live[$k/$id]"; else force_delete "$k" "$id"; fi
	fi
	if [[ -z ${failed[$k:runsec]:-} ]]; then
		new_id
		id=$REPLY
		live[$k/$id]=1
		if timed "$k" runsec run --bundle "$secbundle" "$id"; then unset "live[$k/$id]"; else force_delete "$k" "$id"; fi
	fi

	if [[ -z ${failed[$k:rss]:-} ]]; then
		new_id
		id=$REPLY
		live[$k/$id]=1
		if /usr/bin/time -f %M -o "$tmp/rss" "${rt_path[k]}" --root "${rt_root[k]}" run --bundle "$bundle" "$id" \
			</dev/null >/dev/null 2>"${rt_err[k]}"; then
			unset "live[$k/$id]"
			samples[$k:rss]+=" $(tail -n 1 "$tmp/rss")"
		else
			fail "$k" rss "run under /usr/bin/time"
			force_delete "$k" "$id"
		fi
	fi

	# exec into a container that has the default seccomp profile (as
	# engines' containers do): the exec'd process gets the filter too.
	if [[ -z ${failed[$k:execsec]:-} ]]; then
		new_id
		id=$REPLY
		live[$k/$id]=1
		if rt "$k" run -d --bundle "$secsleeper" "$id"; then
			timed "$k" execsec exec "$id" /bin/true
		else
			fail "$k" execsec "run -d"
		fi
		force_delete "$k" "$id"
	fi

	[[ -z ${failed[$k:create]:-} && -z ${failed[$k:start]:-} ]] || return 0
	new_id
	id=$REPLY
	live[$k/$id]=1
	timed "$k" create create --bundle "$sleeper" "$id" || { force_delete "$k" "$id"; return 0; }
	timed "$k" start start "$id" || { force_delete "$k" "$id"; return 0; }
	timed "$k" state state "$id"
	[[ -n ${failed[$k:exec]:-} ]] || timed "$k" exec exec "$id" /bin/true
	timed "$k" kill kill "$id" KILL || { force_delete "$k" "$id"; return 0; }
	if ! wait_stopped "$k" "$id"; then
		echo "state never became \"stopped\" after kill KILL" >"${rt_err[k]}"
		fail "$k" kill "kill"
		force_delete "$k" "$id"
		return 0
	fi
	if timed "$k" delete delete "$id"; then unset "live[$k/$id]"; else force_delete "$k" "$id"; fi
}

sequential() {
	local k=$1 j t0 id
	stamp
	t0=$REPLY
	for ((j = 0; j < SEQ_RUNS; j++)); do
		new_id
		id=$REPLY
		live[$k/$id]=1
		if ! rt "$k" run --bundle "$bundle" "$id"; then
			fail "$k" seq "run $((j + 1)) of $SEQ_RUNS sequential"
			force_delete "$k" "$id"
			return
		fi
		unset "live[$k/$id]"
	done
	stamp
	samples[$k:seq]=$((REPLY - t0))
}

concurrent() {
	local k=$1 j t0 t1 nfail=0 first=-1
	local ids=() rcs=()
	bg_pids=()
	for ((j = 0; j < PAR_RUNS; j++)); do
		new_id
		ids+=("$REPLY")
		live[$k/$REPLY]=1
	done
	stamp
	t0=$REPLY
	for ((j = 0; j < PAR_RUNS; j++)); do
		"${rt_path[k]}" --root "${rt_root[k]}" run --bundle "$bundle" "${ids[j]}" \
			</dev/null >/dev/null 2>"$tmp/par-$j.err" &
		bg_pids+=($!)
	done
	for ((j = 0; j < PAR_RUNS; j++)); do
		wait "${bg_pids[j]}"
		rcs+=($?)
	done
	stamp
	t1=$REPLY
	bg_pids=()
	for ((j = 0; j < PAR_RUNS; j++)); do
		if [[ ${rcs[j]} == 0 ]]; then
			unset "live[$k/${ids[j]}]"
		else
			((nfail++ == 0)) && first=$j
			force_delete "$k" "${ids[j]}"
		fi
	done
	if ((nfail)); then
		cp "$tmp/par-$first.err" "${rt_err[k]}"
		fail "$k" par "$nfail of $PAR_RUNS concurrent runs"
	else
		samples[$k:par]=$((t1 - t0))
	fi
}

n_rt=$#
k=0
for p in "$@"; do
	rt_path[k]=$p
	rt_name[k]=${p##*/}
	rt_root[k]=$tmp/root-$k
	rt_err[k]=$tmp/err-$k
	mkdir -p "${rt_root[k]}"
	k=$((k + 1))
done

# Warm-up run: fills the page cache and finds runtimes that cannot run at all.
alive=()
for ((k = 0; k < n_rt; k++)); do
	if [[ ! -x ${rt_path[k]} ]]; then
		echo "no such executable: ${rt_path[k]}" >"${rt_err[k]}"
		fail "$k" all "lookup"
		continue
	fi
	rt_version[k]=$("${rt_path[k]}" --version 2>/dev/null | head -n 1)
	new_id
	live[$k/$REPLY]=1
	if rt "$k" run --bundle "$bundle" "$REPLY"; then
		unset "live[$k/$REPLY]"
		alive+=("$k")
	else
		fail "$k" all "warm-up run"
		force_delete "$k" "$REPLY"
	fi
done
for ((k = 0; k < n_rt; k++)); do
	if [[ -n ${failed[$k:all]:-} ]]; then
		for m in "${metrics[@]}"; do failed[$k:$m]=1; done
	fi
done

for ((i = 1; i <= ITER; i++)); do
	[[ -t 2 ]] && printf '\r%s: iteration %d/%d' "$prog" "$i" "$ITER" >&2
	for k in "${alive[@]}"; do iteration "$k"; done
done
[[ -t 2 ]] && printf '\r%s: %d x run sequential, %d x run concurrent\n' "$prog" "$SEQ_RUNS" "$PAR_RUNS" >&2
for k in "${alive[@]}"; do sequential "$k"; done
for k in "${alive[@]}"; do concurrent "$k"; done

# ---- report -----------------------------------------------------------------

declare -A value # number in the unit of the row, or empty for "fail"
for ((k = 0; k < n_rt; k++)); do
	for m in "${metrics[@]}"; do
		s=${samples[$k:$m]:-}
		if [[ -n ${failed[$k:$m]:-} || -z $s ]]; then
			value[$k:$m]=
			continue
		fi
		# shellcheck disable=SC2086 # word splitting of the sample list is intended
		v=$(median $s)
		case $m in
		rss) value[$k:$m]=$(awk -v v="$v" 'BEGIN { printf "%d", v + 0.5 }') ;;
		*) value[$k:$m]=$(awk -v v="$v" 'BEGIN { printf "%.2f", v / 1000 }') ;;
		esac
	done
done

base=-1
for ((k = 0; k < n_rt; k++)); do [[ ${rt_name[k]} == crun ]] && base=$k && break; done

echo "Berth lifecycle benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ), kernel $(uname -r), $(nproc) CPUs, ITER=$ITER"
echo "bundle: busybox /bin/true, spec from ${spec_rt##*/}; cgroup v1 (cgroup2 hidden in a private mount namespace)"
for ((k = 0; k < n_rt; k++)); do
	echo "  ${rt_name[k]}: ${rt_path[k]}${rt_version[k]:+ (${rt_version[k]})}"
done
echo

# Column widths follow the names, so long runtime paths stay aligned.
w=42
declare -a cw rw
for ((k = 0; k < n_rt; k++)); do
	cw[k]=$((${#rt_name[k]} > 10 ? ${#rt_name[k]} : 10))
	rw[k]=$((${#rt_name[k]} + 5 > 10 ? ${#rt_name[k]} + 5 : 10))
done
printf '%-*s' "$w" metric
for ((k = 0; k < n_rt; k++)); do printf '  %*s' "${cw[k]}" "${rt_name[k]}"; done
if ((base >= 0)); then
	for ((k = 0; k < n_rt; k++)); do ((k == base)) || printf '  %*s' "${rw[k]}" "${rt_name[k]}/crun"; done
fi
echo
for m in "${metrics[@]}"; do
	printf '%-*s' "$w" "${label[$m]}"
	for ((k = 0; k < n_rt; k++)); do printf '  %*s' "${cw[k]}" "${value[$k:$m]:-fail}"; done
	if ((base >= 0)); then
		b=${value[$base:$m]}
		for ((k = 0; k < n_rt; k++)); do
			((k == base)) && continue
			v=${value[$k:$m]}
			r=-
			if [[ -n $v && -n $b ]]; then
				r=$(awk -v v="$v" -v b="$b" 'BEGIN { if (b > 0) printf "%.2f", v / b; else print "-" }')
			fi
			printf '  %*s' "${rw[k]}" "$r"
		done
	fi
	echo
done

# Non-zero when any cell is "fail", so `make bench` notices a broken runtime.
for m in "${metrics[@]}"; do
	for ((k = 0; k < n_rt; k++)); do [[ -n ${value[$k:$m]} ]] || exit 1; done
done
