# Shared by the bench scripts (sourced; bash): stopping what they started,
# unmounting what they mounted, medians, a registry and a containerd of their
# own on this machine, and hiding a hybrid cgroup layout from crun.
# shellcheck shell=bash

# resolve_berth [BERTH]: the absolute path of the berth to measure: BERTH
# (a path, or a name in PATH), else ./berth, else berth from PATH.
resolve_berth() {
	if [[ -z ${1:-} ]]; then
		if [[ -x ./berth ]]; then echo "$PWD/berth"; else command -v berth || echo berth; fi
	elif [[ $1 == */* ]]; then
		realpath -m "$1"
	else
		command -v "$1" || echo "$1"
	fi
}

# mark_failed NAME WHAT ERR_FILE: NAME gets no more runs (failed[NAME]=1,
# bad=1, both the caller's), with the reason from ERR_FILE on stderr.
# shellcheck disable=SC2034,SC2154 # failed, bad and prog are the caller's
mark_failed() {
	failed[$1]=1
	bad=1
	echo "$prog: $1: $2 failed: $(head -c 2000 "$3")" >&2
}

# unmount_under DIR: every mount at or below DIR, innermost first.
unmount_under() {
	awk -v t="$1" '$5 == t || index($5, t "/") == 1 { print $5 }' /proc/self/mountinfo |
		sort -r | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
}

# stop_pid PID: TERM, then KILL after 10 s.
stop_pid() {
	local p=$1 n
	kill -TERM "$p" 2>/dev/null || return 0
	for ((n = 0; n < 100; n++)); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
}

# median VALUE...: the median (empty for no values).
median() {
	printf '%s\n' "$@" | sort -n | awk 'NF { v[++n] = $1 }
		END { if (n == 0) print ""; else if (n % 2) print v[(n + 1) / 2]; else print (v[n / 2] + v[n / 2 + 1]) / 2 }'
}

# start_registry DIR: Debian's docker-registry on 127.0.0.1 and a free port,
# its config, log and storage in DIR. Sets REGISTRY (127.0.0.1:PORT) and
# registry_pid; returns non-zero when it does not answer.
start_registry() {
	local d=$1 try port n
	mkdir -p "$d"
	for ((try = 0; try < 20; try++)); do
		port=$((20000 + RANDOM % 40000))
		[[ -z $(ss -Hltn "sport = :$port") ]] || continue
		cat >"$d/registry.yml" <<-EOF
			version: 0.1
			log:
			  level: error
			  accesslog:
			    disabled: true
			storage:
			  filesystem:
			    rootdirectory: $d/storage
			http:
			  addr: 127.0.0.1:$port
		EOF
		# REGISTRY_* variables would be read as configuration.
		env -u REGISTRY_AUTH_FILE docker-registry serve "$d/registry.yml" >"$d/registry.log" 2>&1 &
		registry_pid=$!
		for ((n = 0; n < 100; n++)); do
			if curl -fsS -o /dev/null "http://127.0.0.1:$port/v2/" 2>/dev/null; then
				# shellcheck disable=SC2034 # for the caller
				REGISTRY=127.0.0.1:$port
				return 0
			fi
			kill -0 "$registry_pid" 2>/dev/null || break
			sleep 0.1
		done
		stop_pid "$registry_pid"
		registry_pid=
	done
	return 1
}

# start_containerd DIR: a private containerd whose root, state, socket
# (DIR/containerd.sock) and opt dir are all in DIR; no CRI. Sets
# containerd_pid; on failure says why on stderr and returns non-zero.
start_containerd() {
	local d=$1 n
	mkdir -p "$d"
	cat >"$d/config.toml" <<-EOF
		version = 2
		root = "$d/root"
		state = "$d/state"
		disabled_plugins = ["io.containerd.grpc.v1.cri"]
		[grpc]
		  address = "$d/containerd.sock"
		[ttrpc]
		  address = "$d/containerd.sock.ttrpc"
		[plugins."io.containerd.internal.v1.opt"]
		  path = "$d/opt"
	EOF
	containerd --config "$d/config.toml" >"$d/containerd.log" 2>&1 &
	containerd_pid=$!
	for ((n = 0; n < 200; n++)); do
		ctr -a "$d/containerd.sock" version >/dev/null 2>&1 && return 0
		kill -0 "$containerd_pid" 2>/dev/null || break
		sleep 0.05
	done
	echo "containerd did not start: $(tail -n 3 "$d/containerd.log")" >&2
	return 1
}

# hide_cgroup2 SCRATCH: in this (private!) mount namespace, replaces
# /sys/fs/cgroup by a fresh tmpfs holding the same v1 hierarchies and no
# unified/ dir; a no-op unless the layout is hybrid. crun 1.8 refuses a
# hybrid layout; only unmounting unified/ is not enough: crun then writes
# <id>/cgroup.procs as plain files into the host's shared cgroup tmpfs under
# the hidden mountpoint, and never removes them. SCRATCH: an empty dir to use.
hide_cgroup2() {
	[[ $(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null) == cgroup2fs ]] || return 0
	local stash=$1/cgroup-stash e n
	mkdir "$stash" || return 1
	mount --rbind /sys/fs/cgroup "$stash" || return 1
	mount -t tmpfs -o mode=755,nosuid,nodev,noexec berth-bench-cgroup /sys/fs/cgroup || return 1
	for e in "$stash"/*; do
		n=${e##*/}
		[[ $n == unified ]] && continue
		if [[ -L $e ]]; then
			cp -P "$e" "/sys/fs/cgroup/$n" || return 1
		elif mountpoint -q "$e"; then
			mkdir "/sys/fs/cgroup/$n" && mount --move "$e" "/sys/fs/cgroup/$n" || return 1
		fi
	done
	umount -R "$stash" || umount -l "$stash"
	rmdir "$stash"
}
