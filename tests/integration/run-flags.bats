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
	assert_equal "$(cat "$BATS_TEST_TMPDIR/hostdir/out")" "written"
	run berth run --rm -v "$BATS_TEST_TMPDIR/hostdir:/data:ro,z" busybox sh -c 'cat /data/out; touch /data/no 2>&1 || echo refused'
	assert_success
	assert_output_contains "written" "refused"
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

@test "--init: berth-init is pid 1, reaps orphans, passes the exit code" {
	run berth run --rm --init busybox sh -c 'cat /proc/1/cmdline | tr "\0" " "; echo; (sleep 0.1 &) ; sleep 0.5; ps -o stat,comm | grep -c "^Z" || true; exit 3'
	assert_failure 3
	assert_output_contains "/run/berth-init"
	[[ ${lines[-1]} == 0 ]] || fail "zombies: $output"
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
