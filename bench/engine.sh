#!/bin/bash
# engine.sh [BERTH] — the whole engine: `berth run --rm IMAGE true` beside
# `podman run --rm` and `ctr run --rm` (containerd), same image, same machine,
# with no network, on the engine's default bridge network, and on it with a
# published port.
#
# The image is busybox (tools/make-oci-image, offline from Debian's
# busybox-static), pushed with skopeo to Debian's docker-registry started on
# 127.0.0.1 (a free port, config and storage in the work dir). Each engine
# pulls it once into a store of its own in the work dir (untimed), runs it
# once per network to warm up (untimed: the first run on a bridge makes the
# bridge and the firewall tables), then ITER rounds of `run --rm ... true`,
# every (engine, network) pair once a round, interleaved, the order turned
# by one pair each round. The networks (NETWORKS):
#   none     berth and podman --network none; ctr's default (lo only)
#   bridge   the default bridge network: berth --network bridge (berth0),
#            podman's default network (CNI, cni-podman0); ctr has none
#            without a CNI setup of its own, so it is skipped
#   publish  bridge plus -p 127.0.0.1:PORT:80, a distinct port each run
# BERTH defaults to ./berth (else berth from PATH); a berth whose `run
# --help` fails is reported as "berth run not available" and the others are
# still measured. podman runs when installed, ctr when containerd is.
# With the docker CLI installed, three more engines: the docker CLI through
# `berth serve` (docker-berth) and through `podman system service`
# (docker-podman), each on a unix socket in the run root, and through dockerd
# (docker-dockerd): the one that answers on /run/docker.sock (network none
# only: its bridges would be the host's), else, when dockerd is installed
# (Debian's docker.io), one of this run's own in its namespaces (its docker0,
# iptables rules and docker-proxy in the private network namespace); its pull
# from the registry needs 127.0.0.1 among its insecure registries, dockerd's
# default.
#
# The whole run is in a private network and mount namespace: the bridges,
# veths, nftables/iptables rules, CNI's IPAM and cache (/var/lib/cni, on a
# tmpfs there), podman's netns files (/run/netns), crun's state (/run/crun)
# and podman's blob-info cache (/var/lib/containers) never reach the host,
# and go with the namespaces. Every process, mount, cgroup and temp dir the
# run made is gone on exit.
#
# Environment: ITER (timed runs per engine and network, default 20),
# NETWORKS (default "none bridge publish"). Needs root. Prints the table on
# stdout, progress on stderr; exits 1 when an engine that ran failed.
set -uo pipefail
export LC_ALL=C

prog=engine.sh
self=$(realpath -e "${BASH_SOURCE[0]}")
top=$(dirname "$(dirname "$self")")
ITER=${ITER:-20}
NETWORKS=${NETWORKS:-none bridge publish}
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
		Runs \`run --rm IMAGE true\` (busybox from a local registry) with berth, podman
		and ctr, on each network of NETWORKS, interleaved, in a private network and
		mount namespace, and reports per network the median wall times, the ratios
		berth/podman and berth/ctr, and what the network setup costs (the bridge or
		publish median minus the none median).
		Networks: none (no network), bridge (the default bridge network; not ctr),
		publish (bridge and -p 127.0.0.1:PORT:80; not ctr).
		Environment: ITER=$ITER NETWORKS="$NETWORKS"
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
read -r -a networks <<<"$NETWORKS"
((${#networks[@]})) || die "NETWORKS is empty (none, bridge, publish)"
for n in "${networks[@]}"; do
	[[ $n == none || $n == bridge || $n == publish ]] || die "unknown network '$n' in NETWORKS (none, bridge, publish)"
done

if [[ ${BERTH_BENCH_NS:-} != 1 ]]; then
	[[ $(id -u) == 0 ]] || die "must run as root (containers, cgroups, mounts)"
	for t in docker-registry skopeo jq curl ss unshare busybox ip; do
		command -v "$t" >/dev/null || die "$t is not installed (tools/install-deps installs it)"
	done
	berth_arg=$(resolve_berth "$berth_arg")
	# A private mount namespace: the engines' mounts go away with it even if
	# this script is killed, and a hybrid cgroup layout can be hidden from
	# crun without touching the host's mounts. A private network namespace:
	# the engines' bridges, veths and firewall rules are never the host's,
	# and go with it.
	exec env BERTH_BENCH_NS=1 unshare --mount --propagation private --net "$BASH" "$self" "$berth_arg"
fi
[[ $(readlink /proc/self/ns/mnt) != "$(readlink "/proc/$PPID/ns/mnt")" ]] ||
	die "not in a private mount namespace (unset BERTH_BENCH_NS)"
[[ $(readlink /proc/self/ns/net) != "$(readlink "/proc/$PPID/ns/net")" ]] ||
	die "not in a private network namespace (unset BERTH_BENCH_NS)"
ip link set lo up || die "could not bring lo up in the private network namespace"
BERTH=$berth_arg

# ---- work dir, cleanup ----------------------------------------------------------

work=$(mktemp -d /var/tmp/berth-bench-engine.XXXXXX) || die "mktemp failed"
# podman refuses a run root longer than 50 characters.
runroot=$(mktemp -d /run/bbe.XXXXXX) || die "mktemp in /run failed"
# Every container and cgroup of the run carries this tag in its name.
tag=berth-bench-$$
registry_pid='' containerd_pid='' api_pids=()
# containerd's shims put their sockets in /run/containerd/s whatever its
# config says: removed on exit when this run made it.
made_run_containerd=0
[[ -e /run/containerd ]] || made_run_containerd=1
# Where podman's CNI plugins, crun, podman's blob-info cache and dockerd's plugin dir keep state
# whatever podman's flags say: a tmpfs on each in this mount namespace (the
# host's content, if any, is hidden, not touched); a dir made for it is
# removed on exit.
private_dirs=(/var/lib/cni /run/netns /run/crun /var/lib/containers /run/docker)
made_dirs=()

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
	for p in "${api_pids[@]}"; do stop_pid "$p"; done
	[[ -z $registry_pid ]] || stop_pid "$registry_pid"
	for p in $(leftover_pids); do kill -KILL "$p" 2>/dev/null; done
	unmount_under "$work"
	unmount_under "$runroot"
	for p in "${private_dirs[@]}"; do unmount_under "$p"; done
	for p in "${made_dirs[@]}"; do rmdir "$p" 2>/dev/null || note "could not remove $p"; done
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
for d in "${private_dirs[@]}"; do
	if [[ ! -d $d ]]; then
		mkdir "$d" || die "mkdir $d failed"
		made_dirs+=("$d")
	fi
	mount -t tmpfs -o mode=755,nosuid,nodev berth-bench "$d" || die "could not mount a tmpfs on $d"
done

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
elif ! probe=$("$BERTH" --root "$work/probe" --runroot "$runroot/probe" run --help 2>&1) && [[ $probe == *"unknown command"* ]]; then
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
api_engines=(docker-berth docker-podman docker-dockerd)
if ! command -v docker >/dev/null; then
	for e in "${api_engines[@]}"; do skipped[$e]="no docker CLI"; done
else
	[[ -n ${skipped[berth]:-} ]] && skipped[docker-berth]="no berth" || engines+=("docker-berth")
	[[ -n ${skipped[podman]:-} ]] && skipped[docker-podman]="podman is not installed" || engines+=("docker-podman")
	if [[ -S /run/docker.sock ]] && docker -H unix:///run/docker.sock version >/dev/null 2>&1; then
		engines+=("docker-dockerd")
		dockerd_own=0
	elif command -v dockerd >/dev/null; then
		engines+=("docker-dockerd")
		dockerd_own=1
	else
		skipped[docker-dockerd]="no dockerd answers on /run/docker.sock and dockerd is not installed (docker.io)"
	fi
fi

PODMAN=(podman --root "$work/podman" --runroot "$runroot/podman" --tmpdir "$runroot/podman/tmp"
	--storage-driver overlay --events-backend file --cgroup-manager cgroupfs)
# podman's default network, made by podman itself (CNI, as Debian's 4.3
# has no netavark): only its subnet is moved off berth's 10.88.0.0/16, as
# both bridges are in this one network namespace. No containers.conf of the
# host's is read.
mkdir -p "$work/cni"
cat >"$work/containers.conf" <<-EOF
	[network]
	network_backend = "cni"
	network_config_dir = "$work/cni"
	default_network = "podman"
	default_subnet = "10.89.0.0/16"
EOF
export CONTAINERS_CONF=$work/containers.conf
# podman's default RLIMIT_NOFILE and RLIMIT_NPROC (1048576 and more) can be
# above what root may set (without CAP_SYS_RESOURCE, in a container), and
# crun then fails: lower ones, as tests/integration/podman.bats does.
PODMAN_ULIMITS=(--ulimit nofile=1024:1024 --ulimit nproc=4096:4096)
CTR=(ctr -a "$work/containerd/containerd.sock" -n "$tag")

BERTH_CMD=("$BERTH" --root "$work/berth" --runroot "$runroot/berth")
# The API servers: started with their engine's pull, stopped at exit.
declare -A api_sock=([docker-berth]="$runroot/berth-api.sock" [docker-podman]="$runroot/podman-api.sock"
	[docker-dockerd]=/run/docker.sock)
# A dockerd of this run's own (none answered on /run/docker.sock): its
# state in the work dir and run root, its bridge and rules in this network
# namespace, its containers' cgroups under the run's tag, its own containerd
# (the one it starts); stopped at exit like the other servers.
((${dockerd_own:-0})) && api_sock[docker-dockerd]=$runroot/dockerd.sock
api_pids=()
# start_api ENGINE: its server, once it answers.
start_api() {
	local i
	case $1 in
	docker-berth) "${BERTH_CMD[@]}" serve --host "unix://${api_sock[$1]}" </dev/null >"$work/$1.log" 2>&1 & ;;
	docker-podman) "${PODMAN[@]}" system service --time=0 "unix://${api_sock[$1]}" </dev/null >"$work/docker-podman.log" 2>&1 & ;;
	docker-dockerd)
		((dockerd_own)) || return 0
		# Its trust key, else written to /etc/docker, in the work dir.
		printf '{"deprecated-key-path": "%s"}\n' "$work/dockerd-key.json" >"$work/daemon.json"
		dockerd --config-file "$work/daemon.json" --host "unix://${api_sock[$1]}" --data-root "$work/dockerd" --exec-root "$runroot/dockerd" \
			--pidfile "$runroot/dockerd.pid" --cgroup-parent "/$tag" --exec-opt native.cgroupdriver=cgroupfs \
			</dev/null >"$work/docker-dockerd.log" 2>&1 &
		;;
	*) return 0 ;;
	esac
	api_pids+=($!)
	for ((i = 0; i < 300; i++)); do
		docker -H "unix://${api_sock[$1]}" version >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "the API server of $1 did not answer" >"$work/err"
	return 1
}

# The container's command.
run_args=(true)
# A host port per publish run, never the same twice (below the registry's
# 20000-59999).
next_port=10000
# engine_cmd ENGINE ID pull|none|bridge|publish: sets CMD to the command line.
engine_cmd() {
	local net=()
	case $3 in
	none) [[ $1 == ctr ]] || net=(--network none) ;;
	# podman (and the docker CLI through its service): its default network,
	# as a plain `podman run` gets it.
	bridge) [[ $1 == podman || $1 == docker-podman ]] || net=(--network bridge) ;;
	publish)
		[[ $1 == podman || $1 == docker-podman ]] || net=(--network bridge)
		net+=(-p "127.0.0.1:$((next_port++)):80")
		;;
	esac
	case $1:$3 in
	berth:pull) CMD=("${BERTH_CMD[@]}" pull --tls-verify=false "$REF") ;;
	berth:*) CMD=("${BERTH_CMD[@]}" run --rm "${net[@]}" "$REF" "${run_args[@]}") ;;
	podman:pull) CMD=("${PODMAN[@]}" pull --tls-verify=false "$REF") ;;
	podman:*) CMD=("${PODMAN[@]}" run --rm "${net[@]}" --cgroup-parent "/$tag" "${PODMAN_ULIMITS[@]}" "$REF" "${run_args[@]}") ;;
	ctr:pull) CMD=("${CTR[@]}" images pull --plain-http "$REF") ;;
	# ctr run without --net-host: a new network namespace with lo only.
	ctr:none) CMD=("${CTR[@]}" run --rm --runc-root "$runroot/runc" --fifo-dir "$runroot/fifo" "$REF" "$2" true) ;;
	# podman's compat API finds the image its own pull (above) stored.
	docker-podman:pull) CMD=(docker -H "unix://${api_sock[$1]}" image inspect "$REF") ;;
	docker-*:pull) CMD=(docker -H "unix://${api_sock[$1]}" pull -q "$REF") ;;
	# podman's limits as for podman itself (above).
	docker-podman:*) CMD=(docker -H "unix://${api_sock[$1]}" run --rm "${net[@]}" "${PODMAN_ULIMITS[@]}" "$REF" "${run_args[@]}") ;;
	docker-*) CMD=(docker -H "unix://${api_sock[$1]}" run --rm "${net[@]}" "$REF" "${run_args[@]}") ;;
	esac
}

# supports ENGINE NETWORK: true when the engine is measured on the network.
supports() {
	[[ $2 == none || ($1 != ctr && ($1 != docker-dockerd || ${dockerd_own:-0} == 1)) ]]
}

seq_id=0
# run_once ENGINE pull|NETWORK: sets WALL_US; on failure returns non-zero
# with the output in $work/err.
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

# wall[ENGINE/NETWORK]: the samples (µs); failed[ENGINE/NETWORK] or
# failed[ENGINE] (the pull): no more runs.
declare -A wall failed
bad=0
fail() { mark_failed "$1" "$2" "$work/err"; }

# The (engine, network) pairs measured, "engine/network".
pairs=()
for e in "${engines[@]}"; do
	note "$e: pull and warm-up runs"
	if [[ $e == ctr ]] && ! start_containerd "$work/containerd" 2>"$work/err"; then
		fail ctr "starting containerd"
		continue
	fi
	if [[ $e == docker-* ]] && ! start_api "$e"; then
		fail "$e" "starting its API server"
		continue
	fi
	if ! run_once "$e" pull; then
		fail "$e" "the pull"
		continue
	fi
	for n in "${networks[@]}"; do
		supports "$e" "$n" || continue
		if [[ $n != none ]]; then
			# A network that is really there: eth0 has an address.
			run_args=(ip -4 -o addr show eth0)
			if ! run_once "$e" "$n" || ! grep -q ' inet ' "$work/err"; then
				sed -i "1i no IPv4 address on eth0:" "$work/err"
				fail "$e/$n" "the network check"
				run_args=(true)
				continue
			fi
			run_args=(true)
		fi
		if run_once "$e" "$n"; then
			pairs+=("$e/$n")
		else
			fail "$e/$n" "the warm-up run"
		fi
	done
done
version[podman]="$(podman --version), runtime $("${PODMAN[@]}" info --format '{{.Host.OCIRuntime.Version}}' 2>/dev/null |
	head -n 1), cgroupfs"
version[ctr]="$(ctr --version), $(containerd --version 2>/dev/null | awk '{ print $1, $3 }'), runtime io.containerd.runc.v2 ($(runc --version 2>/dev/null | head -n 1))"

n_pairs=${#pairs[@]}
for ((i = 1; i <= ITER; i++)); do
	[[ -t 2 ]] && printf '\r%s: round %d/%d' "$prog" "$i" "$ITER" >&2
	for ((j = 0; j < n_pairs; j++)); do
		p=${pairs[(i + j) % n_pairs]}
		[[ -z ${failed[$p]:-} ]] || continue
		if run_once "${p%/*}" "${p#*/}"; then
			wall[$p]+=" $WALL_US"
		else
			fail "$p" "run $i"
		fi
	done
done
[[ -t 2 ]] && printf '\n' >&2

# ---- report -------------------------------------------------------------------------

ms() { awk -v v="$1" 'BEGIN { printf "%.1f", v / 1000 }'; }

echo "Berth engine benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ), kernel $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), ITER=$ITER"
echo "image: $REF (busybox-static, one layer), from docker-registry on 127.0.0.1; run --rm IMAGE true"
echo "networks: ${networks[*]} (none: no network; bridge: the default bridge network; publish: bridge and"
echo "  -p 127.0.0.1:PORT:80), in a private network namespace; podman's default network (CNI) on 10.89.0.0/16; ctr: none only"
version[docker-berth]="docker CLI $(docker --version 2>/dev/null | awk '{ print $3 }' | tr -d ,) through berth serve"
version[docker-podman]="docker CLI through podman system service"
version[docker-dockerd]="docker CLI through dockerd"
for e in berth podman ctr "${api_engines[@]}"; do
	if [[ -n ${skipped[$e]:-} ]]; then
		echo "  $e: skipped: ${skipped[$e]}"
	else
		echo "  $e: ${version[$e]}"
	fi
done
echo
fmt='%-15s %-8s %10s %8s %8s\n'
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" engine network "median ms" "min ms" "max ms"
declare -A med
for n in "${networks[@]}"; do
	for e in "${engines[@]}"; do
		supports "$e" "$n" || continue
		p=$e/$n
		if [[ -n ${failed[$e]:-} || -n ${failed[$p]:-} || -z ${wall[$p]:-} ]]; then
			# shellcheck disable=SC2059
			printf "$fmt" "$e" "$n" fail - -
			continue
		fi
		# shellcheck disable=SC2086 # word splitting of the sample list is intended
		{
			med[$p]=$(median ${wall[$p]})
			read -r lo hi < <(printf '%s\n' ${wall[$p]} | sort -n | sed -n '1p;$p' | tr '\n' ' ')
		}
		# shellcheck disable=SC2059
		printf "$fmt" "$e" "$n" "$(ms "${med[$p]}")" "$(ms "$lo")" "$(ms "$hi")"
	done
done
echo
for n in "${networks[@]}"; do
	for o in podman ctr; do
		supports "$o" "$n" || continue
		if [[ -n ${med[berth/$n]:-} && -n ${med[$o/$n]:-} ]]; then
			echo "$n: berth / $o: $(awk -v a="${med[berth/$n]}" -v b="${med[$o/$n]}" 'BEGIN { printf "%.2f", a / b }') (below 1: berth is faster)"
		else
			echo "$n: berth / $o: - (${skipped[berth]:-${skipped[$o]:-a run failed}})"
		fi
	done
done
for n in "${networks[@]}"; do
	for o in "docker-dockerd" "docker-podman" berth; do
		a=${med[docker-berth/$n]:-} b=${med[$o/$n]:-}
		[[ -n $a && -n $b ]] || continue
		echo "$n: docker-berth / $o: $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }') (the docker CLI through berth serve)"
	done
done
for n in bridge publish; do
	[[ " ${networks[*]} " == *" $n "* && " ${networks[*]} " == *" none "* ]] || continue
	for e in berth podman docker-berth docker-dockerd; do
		[[ -n ${med[$e/$n]:-} && -n ${med[$e/none]:-} ]] || continue
		echo "$n: $e: network setup costs $(awk -v a="${med[$e/$n]}" -v b="${med[$e/none]}" 'BEGIN { printf "%.1f", (a - b) / 1000 }') ms ($n median - none median)"
	done
done
exit "$bad"
