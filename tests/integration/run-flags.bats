#!/usr/bin/env bats
# berth create/run flags: each one's effect seen from inside the container
# (or from its cgroup on the host), its bad values refused with docker's exit
# code and nothing left behind; the image config's Env, Entrypoint, Cmd,
# WorkingDir, User, Volumes and Labels applied.

# shellcheck disable=SC2154
load helpers
load manager

setup_file() {
	make_busybox_image
	# A static probe for syscalls busybox has no applet for (keyctl).
	cat >"$BATS_FILE_TMPDIR/probe.c" <<'C'
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
	long r = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0);
	printf("keyctl: %s\n", r < 0 ? strerror(errno) : "allowed");
	return 0;
}
C
	gcc -static -O1 -o "$BATS_FILE_TMPDIR/probe" "$BATS_FILE_TMPDIR/probe.c"
}

setup() {
	manager_setup
	container_setup
	load_busybox
}

teardown() {
	container_teardown
}

# An image with a config worth applying: a user "app" (uid 1234, also in
# group "extra" 4321), Entrypoint, Cmd, WorkingDir, Env, Label, and a VOLUME
# /data that has content in the image.
make_config_image() {
	berth run --name cfgsrc busybox sh -c '
		echo "app:x:1234:1234:app:/home/app:/bin/sh" >> /etc/passwd
		echo "app:x:1234:" >> /etc/group
		echo "extra:x:4321:app" >> /etc/group
		mkdir -p /home/app /data && echo from-image > /data/seed && chown 1234:1234 /home/app' >/dev/null
	berth commit -c 'ENTRYPOINT=["/bin/echo","entry"]' -c 'CMD=["cmd"]' -c USER=app -c WORKDIR=/home/app \
		-c ENV=FROM_IMAGE=yes -c LABEL=team=infra -c VOLUME=/data cfgsrc localhost/cfgimg >/dev/null
	berth rm cfgsrc >/dev/null
}

@test "image config: Entrypoint + Cmd, User through the image's passwd and group, WorkingDir, Env, Labels" {
	make_config_image
	run berth run --rm cfgimg
	assert_success
	assert_output "entry cmd"
	run berth run --rm cfgimg more args
	assert_output "entry more args"
	run berth run --rm --entrypoint sh cfgimg -c 'echo $(id -u):$(id -g):$(id -G) $(pwd) $FROM_IMAGE $HOME'
	assert_success
	assert_output "1234:1234:1234 4321 /home/app yes /home/app"
	run berth run --rm --entrypoint "" cfgimg /bin/echo no-entrypoint
	assert_output "no-entrypoint"
	berth create --name lab -l extra=1 cfgimg
	run berth inspect --format '{{index .Config.Labels "team"}} {{index .Config.Labels "extra"}}' lab
	assert_output "infra 1"
}

@test "-e, --env-file, -e KEY from berth's environment; later ones win" {
	printf '# comment\nFILE_VAR=from file\n\nSHARED=file\nHOST_ONLY\n' >"$BATS_TEST_TMPDIR/env"
	HOST_ONLY=from-host run berth run --rm --env-file "$BATS_TEST_TMPDIR/env" -e SHARED=flag -e A=1 \
		busybox sh -c 'echo "$FILE_VAR|$SHARED|$HOST_ONLY|$A|$PATH"'
	assert_success
	assert_output "from file|flag|from-host|1|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	run berth run --rm --env-file "$BATS_TEST_TMPDIR/nosuch" busybox true
	assert_failure 125
	assert_output_contains "$BATS_TEST_TMPDIR/nosuch"
	assert_no_container_leftovers
}

@test "-w, -h, -u: the working dir (made when missing), hostname, user" {
	run berth run --rm -w /new/dir -h myhost -u 1000:1001 busybox sh -c 'echo $(pwd) $(hostname) $(cat /etc/hostname) $(id -u) $(id -g)'
	assert_success
	assert_output "/new/dir myhost myhost 1000 1001"
	run berth run --rm -u nobody busybox id -un
	assert_output "nobody"
	run berth run --rm -u nosuchuser busybox true
	assert_failure 125
	assert_output_contains "nosuchuser"
	assert_no_container_leftovers
}

@test "-i: stdin reaches the container; without it, it gets none" {
	run bash -c "echo piped | $BERTH_NS '$BERTH' --root '$ROOT' --runroot '$RUNROOT' run --rm -i busybox cat"
	assert_success
	assert_output "piped"
	run bash -c "echo piped | $BERTH_NS '$BERTH' --root '$ROOT' --runroot '$RUNROOT' run --rm busybox cat"
	assert_success
	assert_output ""
}

@test "--read-only with --tmpfs: / is read-only, the tmpfs is writable with its options" {
	run berth run --rm --read-only --tmpfs /scratch:size=1m,mode=1770 busybox sh -c '
		touch /x 2>/dev/null && echo root-writable; touch /scratch/y && echo tmpfs-writable; stat -c %a /scratch; grep " /scratch " /proc/mounts'
	assert_success
	assert_output_contains "tmpfs-writable" "1770" "size=1024k"
	assert_output_not_contains "root-writable"
}

@test "-v /host/dir:/data: writes land on the host; :ro is read-only; z is accepted with a note" {
	mkdir "$BATS_TEST_TMPDIR/hostdir"
	run berth run --rm -v "$BATS_TEST_TMPDIR/hostdir:/data" busybox sh -c 'echo written > /data/out'
	assert_success
	assert_output ""
	assert_equal "$(cat "$BATS_TEST_TMPDIR/hostdir/out")" "written"
	run berth run --rm -v "$BATS_TEST_TMPDIR/hostdir:/data:ro,z" busybox sh -c 'cat /data/out; touch /data/no 2>&1 || echo refused'
	assert_success
	assert_output_contains "written" "refused"
	# The note, on stderr before the container runs: a warning in logrus' format.
	[[ ${lines[0]} == 'time="'*'" level=warning msg="volume option z ignored (no SELinux labels)"' ]] ||
		fail "no note about z:" "$output"
	[ "$(grep -c level= <<<"$output")" -eq 1 ] || fail "more than one note:" "$output"
	[ ! -e "$BATS_TEST_TMPDIR/hostdir/no" ]
	run berth run --rm --mount "type=bind,source=$BATS_TEST_TMPDIR/hostdir,target=/m,readonly" busybox cat /m/out
	assert_output "written"
	run berth run --rm --mount "type=bind,source=$BATS_TEST_TMPDIR/nosuch,target=/m" busybox true
	assert_failure 125
	assert_output_contains "$BATS_TEST_TMPDIR/nosuch"
	assert_no_container_leftovers
}

@test "named volumes: shared by two containers, data survives rm, copy-up from the image, in use can't be removed" {
	berth run -d --name writer -v shared:/vol busybox sh -c 'echo from-writer > /vol/f; echo ready; exec sleep 100'
	wait_for_log writer ready
	# inspect shows it as docker does: a volume by name, read-write.
	run berth inspect writer
	assert_equal "$(jq -r '.[0].Mounts[] | select(.Destination == "/vol") | [.Type, .Name, .Driver, .RW] | @tsv' <<<"$output")" \
		"$(printf 'volume\tshared\tlocal\ttrue')"
	run berth run --rm -v shared:/vol busybox cat /vol/f
	assert_output "from-writer"
	run berth volume rm shared
	assert_failure 125
	assert_output_contains "shared" "in use"
	berth rm -f writer
	run berth run --rm --mount type=volume,source=shared,target=/again busybox cat /again/f
	assert_output "from-writer"
	# Copy-up: a new volume over a path with content in the image gets it.
	run berth run --rm -v etcvol:/etc busybox true
	run berth run --rm -v etcvol:/mnt busybox cat /mnt/passwd
	assert_output_contains "root:x:0:0"
	run berth run --rm -v bad/name:/x busybox true
	assert_failure 125
	assert_output_contains "bad/name"
	berth volume rm shared etcvol
	assert_no_container_leftovers
}

@test "anonymous volumes: the image's VOLUME gets one with the image's content; rm -v removes it" {
	make_config_image
	berth create --name anon --entrypoint cat cfgimg /data/seed
	run berth start -a anon
	assert_output "from-image"
	run berth volume ls -q
	[ "${#lines[@]}" -eq 1 ] || fail "volumes: $output"
	run berth rm -v anon
	assert_success
	run berth volume ls -q
	assert_output ""
}

# The name of the volume mounted at DEST in CONTAINER.
volume_at() {
	berth inspect "$1" | jq -r --arg d "$2" '.[0].Mounts[] | select(.Destination == $d) | .Source' |
		sed -n 's|^.*/volumes/\([^/]*\)/_data$|\1|p'
}

@test "volume prune: an unused anonymous volume goes, one in use and a named one stay; run --rm takes its anonymous volumes along" {
	make_config_image
	berth volume create named >/dev/null
	berth run --name used-once -v /anon busybox sh -c 'echo x > /anon/f'
	berth create --name from-image cfgimg >/dev/null
	berth run -d --name user -v /anon busybox sleep 100 >/dev/null
	local unused image_vol in_use
	unused=$(volume_at used-once /anon)
	image_vol=$(volume_at from-image /data)
	in_use=$(volume_at user /anon)
	[[ $unused =~ ^[0-9a-f]{64}$ && $image_vol =~ ^[0-9a-f]{64}$ && $in_use =~ ^[0-9a-f]{64}$ ]] ||
		fail "anonymous volumes: '$unused' '$image_vol' '$in_use'"
	# rm without -v leaves the anonymous volumes; prune takes the unused ones.
	berth rm used-once from-image >/dev/null
	run berth volume ls -q
	[ "${#lines[@]}" -eq 4 ] || fail "volumes: $output"
	run berth volume prune -f
	assert_success
	assert_output_contains "$unused" "$image_vol"
	assert_output_not_contains "$in_use" "named"
	run berth volume ls -q
	assert_output "$(printf '%s\n' "$in_use" named | sort)"
	[ ! -e "$ROOT/volumes/$unused" ] || fail "$ROOT/volumes/$unused is left"
	berth rm -f user >/dev/null
	run berth volume prune -f
	assert_output "$in_use"
	# run --rm: its anonymous volumes (-v /path and the image's VOLUME) go with it.
	run berth run --rm -v /scratch busybox sh -c 'echo x > /scratch/f'
	assert_success
	run berth run --rm cfgimg
	assert_output "entry cmd"
	run berth volume ls -q
	assert_output "named"
	berth volume rm named >/dev/null
	assert_no_container_leftovers
}

@test "volume -o type=tmpfs: containers share a tmpfs at the target, with the volume's mount options" {
	berth volume create -o type=tmpfs -o device=tmpfs -o o=size=1m tv >/dev/null
	berth run -d --name tw -v tv:/data busybox sh -c 'echo in-tmpfs > /data/f; echo ready; exec sleep 100'
	wait_for_log tw ready
	run berth run --rm -v tv:/vol busybox sh -c 'grep " /vol " /proc/mounts; cat /vol/f'
	assert_success
	[[ ${lines[0]} == "tmpfs /vol tmpfs "*size=1024k* ]] || fail "not a tmpfs of 1m:" "$output"
	assert_equal "${lines[1]}" "in-tmpfs"
	run berth exec tw sh -c 'grep " /data " /proc/mounts'
	[[ $output == "tmpfs /data tmpfs "* ]] || fail "the writer's /data: $output"
	berth rm -f tw >/dev/null
	run berth volume rm tv
	assert_success
	assert_no_container_leftovers
}

@test "volume -o type=none -o o=bind -o device=DIR: a container sees DIR, its writes land there" {
	local dir=$BATS_TEST_TMPDIR/device
	mkdir "$dir"
	echo from-host >"$dir/seed"
	berth volume create -o type=none -o o=bind -o device="$dir" bv >/dev/null
	run berth run --rm -v bv:/data busybox sh -c 'cat /data/seed; echo from-container > /data/out'
	assert_success
	assert_output "from-host"
	assert_equal "$(cat "$dir/out")" "from-container"
	run berth volume rm bv
	assert_success
	assert_equal "$(cat "$dir/out")" "from-container"
	assert_no_container_leftovers
}

@test "--memory, --cpus, --pids-limit land in the container's cgroup" {
	berth run -d --name lim --memory 64m --cpus 0.5 --pids-limit 20 busybox sleep 100
	local pid
	pid=$(berth inspect --format '{{.State.Pid}}' lim)
	run cat "$(cgroup_file "$pid" memory memory.limit_in_bytes memory.max)"
	assert_output "67108864"
	run cat "$(cgroup_file "$pid" pids pids.max pids.max)"
	assert_output "20"
	local quota
	quota=$(cat "$(cgroup_file "$pid" cpu cpu.cfs_quota_us cpu.max)")
	[[ $quota == 50000* ]] || fail "cpu quota: $quota"
	run berth run --rm --pids-limit 5 busybox sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 1 & done 2>&1; wait'
	assert_output_contains "fork"
}

@test "bad values: --memory 12q, --cpus, --restart, --stop-signal, --security-opt, --mount: 125, nothing left" {
	local bad
	for bad in "--memory 12q" "--cpus 0" "--cpus x" "--pids-limit many" "--restart sometimes" "--restart on-failure:x" \
		"--stop-signal SIGNOPE" "--security-opt apparmor=x" "--mount type=nfs,target=/x" "--tmpfs relative" \
		"--cap-add NOPE" "--log-opt max-size=big" "--stop-timeout soon"; do
		# shellcheck disable=SC2086
		run berth run --rm $bad busybox true
		assert_failure 125
		[[ $output == berth:* ]] || fail "$bad: $output"
		[ "${#lines[@]}" -eq 1 ] || fail "$bad: not one line: $output"
	done
	run berth run --rm --memory 12q busybox true
	assert_output_contains '"12q"' "--memory"
	run berth ps -aq
	assert_output ""
	assert_no_container_leftovers
}

@test "--cap-add, --cap-drop, --privileged" {
	run berth run --rm busybox grep CapEff /proc/self/status
	assert_output "CapEff:	00000000a80425fb"
	run berth run --rm --cap-drop CHOWN busybox sh -c 'chown 1 /tmp && echo chowned'
	assert_failure
	run berth run --rm --cap-add NET_ADMIN busybox sh -c 'ip link set lo down && echo net-admin'
	assert_output "net-admin"
	run berth run --rm --cap-drop ALL busybox grep CapEff /proc/self/status
	assert_output "CapEff:	0000000000000000"
	run berth run --rm --privileged busybox sh -c 'grep CapEff /proc/self/status; mount -t tmpfs t /mnt && echo mounted'
	assert_output_contains "mounted"
	assert_output_not_contains "CapEff:	00000000a80425fb"
}

@test "default seccomp profile: unshare and keyctl are refused; seccomp=unconfined allows them; no-new-privileges" {
	local probe="$BATS_FILE_TMPDIR/probe"
	run berth run --rm -v "$probe:/probe:ro" busybox sh -c 'unshare -U true 2>&1 || echo unshare-refused; /probe; grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status'
	assert_output_contains "unshare-refused" "keyctl: Operation not permitted" "Seccomp:	2"
	run berth run --rm --security-opt seccomp=unconfined -v "$probe:/probe:ro" busybox sh -c '/probe; grep ^Seccomp: /proc/self/status'
	assert_output_contains "keyctl: allowed" "Seccomp:	0"
	run berth run --rm --security-opt no-new-privileges busybox grep NoNewPrivs /proc/self/status
	assert_output "NoNewPrivs:	1"
}

@test "--stop-signal and --stop-timeout" {
	berth run -d --name sig --stop-signal USR1 busybox sh -c 'trap "echo got-usr1; exit 0" USR1; echo ready; while true; do sleep 0.1; done'
	wait_for_log sig ready
	berth stop sig
	run berth logs sig
	assert_output $'ready\ngot-usr1'
	berth run -d --name slow --stop-timeout 1 busybox sh -c 'trap "" TERM; echo ready; while true; do sleep 0.1; done'
	wait_for_log slow ready
	berth stop slow
	run berth inspect --format '{{.State.ExitCode}}' slow
	assert_output "137"
}

@test "--stop-timeout 1: stop without -t kills a container that ignores SIGTERM after 1 s, not after docker's 10" {
	berth run -d --name slow --stop-timeout 1 busybox sh -c 'trap "" TERM; echo ready; while true; do sleep 0.1; done'
	wait_for_log slow ready
	local start took
	start=$(date +%s%N)
	# shellcheck disable=SC2086 # BERTH_NS is a command prefix
	run timeout 6 $BERTH_NS "$BERTH" --root "$ROOT" --runroot "$RUNROOT" stop slow
	took=$((($(date +%s%N) - start) / 1000000))
	assert_success
	assert_output "slow"
	# SIGTERM is ignored: stop waits the timeout out before SIGKILL.
	[ "$took" -ge 1000 ] || fail "stop took $took ms: it did not wait --stop-timeout"
	run berth inspect --format '{{.State.Status}} {{.State.ExitCode}}' slow
	assert_output "exited 137"
}

@test "--init: berth-init is pid 1, reaps orphans, passes the exit code" {
	run berth run --rm --init busybox sh -c 'cat /proc/1/cmdline | tr "\0" " "; echo; (sleep 0.1 &) ; sleep 0.5; ps -o stat,comm | grep -c "^Z" || true; exit 3'
	assert_failure 3
	assert_output_contains "/run/berth-init"
	[[ ${lines[-1]} == 0 ]] || fail "zombies: $output"
}

@test "--init: berth stop's SIGTERM reaches the command through berth-init (its trap's exit code)" {
	berth run -d --name fwd --init busybox sh -c 'trap "exit 7" TERM; echo ready; while :; do sleep 0.1; done'
	wait_for_log fwd ready
	run berth exec fwd sh -c 'tr "\0" " " </proc/1/cmdline'
	[[ $output == /run/berth-init* ]] || fail "pid 1: $output"
	run berth stop fwd
	assert_success
	run berth wait fwd
	assert_output "7"
	run berth inspect --format '{{.State.Status}} {{.State.ExitCode}}' fwd
	assert_output "exited 7"
}

@test "--runtime: another runc-compatible runtime runs the container" {
	command -v runc >/dev/null || skip "runc is not installed"
	run berth run --rm --runtime runc busybox echo via-runc
	assert_success
	assert_output "via-runc"
	run berth run --rm --runtime /nonexistent/runtime busybox true
	assert_failure 125
	assert_output_contains "/nonexistent/runtime"
	assert_no_container_leftovers
}

@test "--runtime /absolute/path: berth-runtime and runc given by path run the container" {
	local rt=${BERTH_BUILDDIR:-$BERTH_SRCDIR}/berth-runtime
	run berth run --name abs --runtime "$rt" busybox echo via-path
	assert_success
	assert_output "via-path"
	run berth inspect --format '{{.HostConfig.Runtime}}' abs
	assert_output "$rt"
	berth rm abs >/dev/null
	if [ -x /usr/sbin/runc ]; then
		run berth run --rm --runtime /usr/sbin/runc busybox echo via-runc-path
		assert_success
		assert_output "via-runc-path"
	fi
	assert_no_container_leftovers
}

# The busybox image as localhost/usr1:latest, whose config has StopSignal SIGUSR1.
load_usr1_image() {
	variant "$BATS_TEST_TMPDIR/usr1.tar" localhost/usr1:latest '.config.StopSignal = "SIGUSR1"'
	berth load -i "$BATS_TEST_TMPDIR/usr1.tar" >/dev/null
}

@test "the image's StopSignal: berth stop sends it (the container's trap runs); --stop-signal overrides it" {
	load_usr1_image
	local traps='trap "echo got-usr1; exit 0" USR1; trap "echo got-term; exit 0" TERM; echo ready; while :; do sleep 0.1; done'
	berth run -d --name img-sig usr1 sh -c "$traps" >/dev/null
	wait_for_log img-sig ready
	run berth stop img-sig
	assert_success
	run berth logs img-sig
	assert_output $'ready\ngot-usr1'
	run berth inspect --format '{{.State.ExitCode}}' img-sig
	assert_output "0"
	berth run -d --name flag-sig --stop-signal TERM usr1 sh -c "$traps" >/dev/null
	wait_for_log flag-sig ready
	berth stop flag-sig
	run berth logs flag-sig
	assert_output $'ready\ngot-term'
}

@test "inspect: Config.StopSignal is the image's StopSignal when no --stop-signal is given" {
	load_usr1_image
	berth create --name sig usr1 true >/dev/null
	run berth inspect --format '{{.Config.StopSignal}}' sig
	assert_output "SIGUSR1"
}

@test "--log-opt max-size: the log is rotated; logs reads across the rotation" {
	run berth run --name big --log-opt max-size=10k busybox sh -c 'i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done'
	assert_success
	local dir
	dir=$ROOT/containers/$(berth inspect --format '{{.Id}}' big)
	[ -e "$dir/ctr.log.1" ] || fail "no rotated log"
	[ "$(stat -c %s "$dir/ctr.log")" -le 10240 ] || fail "log over 10k"
	run berth logs --tail 1 big
	assert_output "line-1999"
}

@test "--mount type=tmpfs; bind propagation rshared: a mount made inside shows on the host" {
	run berth run --rm --mount type=tmpfs,target=/scratch,tmpfs-size=2m busybox sh -c 'grep " /scratch " /proc/mounts'
	assert_success
	assert_output_contains "tmpfs /scratch tmpfs" "size=2048k"
	local dir=$BATS_TEST_TMPDIR/shared
	mkdir -p "$dir/sub"
	# The host side must be a shared mount for rshared to propagate.
	mount --bind "$dir" "$dir"
	mount --make-shared "$dir"
	run berth run --rm --privileged -v "$dir:/data:rshared" busybox sh -c 'mount -t tmpfs inner /data/sub && echo made > /data/sub/f'
	local seen
	seen=$(cat "$dir/sub/f" 2>/dev/null || true)
	umount "$dir/sub" 2>/dev/null || true
	umount "$dir"
	assert_success
	assert_equal "$seen" "made"
}

@test "--security-opt seccomp=FILE: a docker profile file is applied" {
	run berth run --rm --security-opt "seccomp=$BERTH_SRCDIR/tests/seccomp/default.json" busybox sh -c 'unshare -U true 2>&1 || echo refused; grep ^Seccomp: /proc/self/status'
	assert_output_contains "refused" "Seccomp:	2"
	run berth run --rm --security-opt seccomp=/nonexistent.json busybox true
	assert_failure 125
	assert_output_contains "/nonexistent.json"
	assert_no_container_leftovers
}

@test "--restart unless-stopped: restarted after it exits, not after stop" {
	berth run -d --name us --restart unless-stopped busybox sh -c 'sleep 0.2; exit 1'
	local i
	for i in $(seq 100); do
		[ "$(berth inspect --format '{{.RestartCount}}' us)" -ge 1 ] && break
		sleep 0.1
	done
	berth stop us
	local n
	n=$(berth inspect --format '{{.RestartCount}}' us)
	[ "$n" -ge 1 ] || fail "no restart"
	sleep 1
	run berth inspect --format '{{.RestartCount}} {{.State.Status}} {{.HostConfig.RestartPolicy.Name}}' us
	assert_output "$n exited unless-stopped"
}
