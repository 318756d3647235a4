#!/usr/bin/env bats
# root, mounts, maskedPaths, readonlyPaths, devices, sysctl, and the safety of
# paths inside the rootfs.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

# run_in_container SCRIPT: runs sh -c SCRIPT in a fresh container with `run`.
run_in_container() {
	set_cmd "$1"
	run runtime run --bundle "$BUNDLE" "$ID"
}

# mount_line MOUNTPOINT: the line of $output (a mountinfo) for MOUNTPOINT.
mount_line() {
	awk -v m="$1" '$5 == m' <<<"$output" | tail -n1
}

# mount_fstype MOUNTPOINT: its filesystem type, from a mountinfo in $output.
mount_fstype() {
	mount_line "$1" | awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { print $(i + 1); exit } }'
}

# mount_opts MOUNTPOINT: its per-mount options (field 6).
mount_opts() {
	mount_line "$1" | awk '{ print $6 }'
}

# has_opt OPTS OPT: true when the comma-separated OPTS contain OPT.
has_opt() {
	[[ ,$1, == *",$2,"* ]]
}

# in_private_mntns SCRIPT: runs bash -c SCRIPT in a new private mount
# namespace, so the test may mount on the host side without touching the
# host: the mounts vanish with the namespace. RUNTIME, ROOT, BUNDLE, ID, T
# (the test's tmpdir) and SHARED are exported.
in_private_mntns() {
	T=$BATS_TEST_TMPDIR RUNTIME=$RUNTIME ROOT=$ROOT BUNDLE=$BUNDLE ID=$ID SHARED=${SHARED:-} \
		unshare --mount --propagation private bash -euc "$1" 3>&-
}

@test "root: readonly makes the rootfs read-only" {
	update_config '.root.readonly = true'
	run_in_container 'touch /x 2>&1; cat /proc/self/mountinfo'
	assert_success
	assert_output_contains "Read-only file system"
	has_opt "$(mount_opts /)" ro || fail "/ is not ro:" "$(mount_line /)"
	[ ! -e "$BUNDLE/rootfs/x" ]
}

@test "root: a writable rootfs is the bundle's rootfs" {
	update_config '.root.readonly = false'
	run_in_container 'echo written >/x'
	assert_success
	assert_equal "$(cat "$BUNDLE/rootfs/x")" written
}

@test "root: an absolute root.path outside the bundle" {
	mv "$BUNDLE/rootfs" "$BATS_TEST_TMPDIR/elsewhere"
	echo elsewhere >"$BATS_TEST_TMPDIR/elsewhere/marker"
	update_config '.root.path = $p' --arg p "$BATS_TEST_TMPDIR/elsewhere"
	run_in_container 'cat /marker'
	assert_success
	assert_output elsewhere
}

@test "root: a relative root.path is relative to the bundle, not the cwd" {
	mkdir "$BUNDLE/fs"
	mv "$BUNDLE/rootfs" "$BUNDLE/fs/root"
	echo relative >"$BUNDLE/fs/root/marker"
	update_config '.root.path = "fs/root"'
	cd /
	run_in_container 'cat /marker'
	assert_success
	assert_output relative
}

@test "mounts: a read-only bind mount" {
	mkdir "$BATS_TEST_TMPDIR/data"
	echo hello >"$BATS_TEST_TMPDIR/data/file"
	add_bind_mount "$BATS_TEST_TMPDIR/data" /data bind ro
	run_in_container 'cat /data/file; touch /data/new 2>&1; cat /proc/self/mountinfo'
	assert_success
	assert_equal "${lines[0]}" hello
	assert_output_contains "Read-only file system"
	has_opt "$(mount_opts /data)" ro || fail "/data is not ro:" "$(mount_line /data)"
	[ ! -e "$BATS_TEST_TMPDIR/data/new" ]
}

@test "mounts: a read-write bind mount writes through to the host" {
	mkdir "$BATS_TEST_TMPDIR/data"
	add_bind_mount "$BATS_TEST_TMPDIR/data" /data bind rw
	run_in_container 'echo from-container >/data/new'
	assert_success
	assert_equal "$(cat "$BATS_TEST_TMPDIR/data/new")" from-container
}

@test "mounts: a bind mount of a file onto a path that does not exist" {
	echo single >"$BATS_TEST_TMPDIR/file"
	add_bind_mount "$BATS_TEST_TMPDIR/file" /etc/berth/file.conf bind ro
	run_in_container 'cat /etc/berth/file.conf; [ -f /etc/berth/file.conf ] && echo regular'
	assert_success
	assert_output $'single\nregular'
}

@test "mounts: a bind mount without a type" {
	mkdir "$BATS_TEST_TMPDIR/data"
	echo untyped >"$BATS_TEST_TMPDIR/data/file"
	update_config '.mounts += [{"destination": "/data", "source": $s, "options": ["bind", "ro"]}]' \
		--arg s "$BATS_TEST_TMPDIR/data"
	run_in_container 'cat /data/file'
	assert_success
	assert_output untyped
}

@test "mounts: a tmpfs with mode, size, nosuid, nodev and noexec" {
	update_config '.mounts += [{"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
		"options": ["nosuid", "nodev", "noexec", "mode=700", "size=1m"]}]'
	run_in_container 'stat -c %a /scratch; cat /proc/self/mountinfo'
	assert_success
	assert_equal "${lines[0]}" 700
	line=$(mount_line /scratch)
	assert_equal "$(mount_fstype /scratch)" tmpfs
	opts=$(mount_opts /scratch)
	for o in rw nosuid nodev noexec; do
		has_opt "$opts" $o || fail "/scratch lacks $o:" "$line"
	done
	[[ $line == *size=1024k* ]] || fail "/scratch is not 1m:" "$line"
	[[ $line == *mode=700* ]] || fail "/scratch is not mode 700:" "$line"
}

@test "mounts: noexec forbids exec" {
	update_config '.root.readonly = false
		| .mounts += [{"destination": "/noexec", "type": "tmpfs", "source": "tmpfs", "options": ["noexec"]}]'
	run_in_container 'cp /bin/busybox /noexec/bb && /noexec/bb true 2>&1; echo rc=$?'
	assert_success
	assert_output_contains "Permission denied" "rc=126"
}

@test "mounts: a mount destination with missing parents is created" {
	update_config '.mounts += [{"destination": "/a/b/c", "type": "tmpfs", "source": "tmpfs"}]'
	run_in_container 'cat /proc/self/mountinfo'
	assert_success
	assert_equal "$(mount_fstype /a/b/c)" tmpfs
}

@test "mounts: the default proc, sysfs, mqueue, devpts, shm and /dev" {
	run_in_container 'cat /proc/self/mountinfo'
	assert_success
	assert_equal "$(mount_fstype /proc)" proc
	assert_equal "$(mount_fstype /sys)" sysfs
	assert_equal "$(mount_fstype /dev)" tmpfs
	assert_equal "$(mount_fstype /dev/pts)" devpts
	assert_equal "$(mount_fstype /dev/shm)" tmpfs
	assert_equal "$(mount_fstype /dev/mqueue)" mqueue
	has_opt "$(mount_opts /sys)" ro || fail "/sys is not ro:" "$(mount_line /sys)"
	for m in /dev/shm /dev/mqueue; do
		for o in nosuid nodev noexec; do
			has_opt "$(mount_opts $m)" $o || fail "$m lacks $o:" "$(mount_line $m)"
		done
	done
}

@test "mounts: the container sees only its own mounts" {
	run_in_container 'cat /proc/self/mountinfo'
	assert_success
	assert_output_not_contains " /tmp " "$BATS_RUN_TMPDIR "
}

@test "mounts: bind does not take submounts, rbind does" {
	mkdir -p "$BATS_TEST_TMPDIR/src/sub"
	add_shared_dir
	add_bind_mount "$BATS_TEST_TMPDIR/src" /plain bind
	add_bind_mount "$BATS_TEST_TMPDIR/src" /recursive rbind
	set_cmd 'cat /plain/sub/file >/shared/plain 2>&1; cat /recursive/sub/file >/shared/recursive 2>&1; true'
	in_private_mntns '
		mount -t tmpfs submount "$T/src/sub"
		echo in-submount >"$T/src/sub/file"
		"$RUNTIME" --root "$ROOT" run --bundle "$BUNDLE" "$ID" </dev/null'
	output=$(cat "$SHARED/plain")
	assert_output_contains "No such file"
	assert_equal "$(cat "$SHARED/recursive")" in-submount
}

@test "mounts: an rslave bind mount receives mounts made later on the host" {
	mkdir -p "$BATS_TEST_TMPDIR/src"
	add_shared_dir
	add_bind_mount "$BATS_TEST_TMPDIR/src" /vol rbind rslave
	set_cmd 'for i in $(seq 200); do [ -e /vol/late/file ] && break; sleep 0.02; done
		cat /vol/late/file >/shared/result 2>&1; true'
	in_private_mntns '
		mount -t tmpfs src "$T/src"
		mount --make-shared "$T/src"
		mkdir "$T/src/late"
		"$RUNTIME" --root "$ROOT" run -d --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
		mount -t tmpfs late "$T/src/late"
		echo propagated >"$T/src/late/file"
		for i in $(seq 200); do [ -s "$SHARED/result" ] && break; sleep 0.02; done'
	assert_equal "$(cat "$SHARED/result")" propagated
}

@test "mounts: an rprivate bind mount does not receive mounts made later on the host" {
	mkdir -p "$BATS_TEST_TMPDIR/src"
	add_shared_dir
	add_bind_mount "$BATS_TEST_TMPDIR/src" /vol rbind rprivate
	set_cmd 'for i in $(seq 25); do [ -e /vol/late/file ] && break; sleep 0.02; done
		cat /vol/late/file >/shared/result 2>&1; true'
	in_private_mntns '
		mount -t tmpfs src "$T/src"
		mount --make-shared "$T/src"
		mkdir "$T/src/late"
		"$RUNTIME" --root "$ROOT" run -d --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
		mount -t tmpfs late "$T/src/late"
		echo propagated >"$T/src/late/file"
		for i in $(seq 200); do [ -s "$SHARED/result" ] && break; sleep 0.02; done'
	output=$(cat "$SHARED/result")
	assert_output_contains "No such file"
}

@test "mounts: the shared option makes a mount a shared peer" {
	mkdir "$BATS_TEST_TMPDIR/data"
	add_bind_mount "$BATS_TEST_TMPDIR/data" /data rbind shared
	add_bind_mount "$BATS_TEST_TMPDIR/data" /private rbind private
	run_in_container 'cat /proc/self/mountinfo'
	assert_success
	[[ $(mount_line /data) == *" shared:"* ]] || fail "/data is not shared:" "$(mount_line /data)"
	[[ $(mount_line /private) != *" shared:"* ]] || fail "/private is shared:" "$(mount_line /private)"
}

@test "rootfsPropagation: private keeps the root mount private" {
	update_config '.linux.rootfsPropagation = "private"'
	run_in_container 'cat /proc/self/mountinfo'
	assert_success
	line=$(mount_line /)
	[[ $line != *" shared:"* && $line != *" master:"* ]] || fail "/ is not private:" "$line"
}

@test "rootfsPropagation: shared makes the root mount shared" {
	skip_if_runc "runc 1.1.5 remounts the rootfs's parent private, so its root mount stays private"
	update_config '.linux.rootfsPropagation = "shared"'
	run_in_container 'cat /proc/self/mountinfo'
	assert_success
	[[ $(mount_line /) == *" shared:"* ]] || fail "/ is not shared:" "$(mount_line /)"
}

@test "maskedPaths: the default spec's masked paths are empty" {
	# Which of them exist depends on the kernel (/proc/kcore, /proc/acpi…).
	masked=$(jq -r '.linux.maskedPaths | join(" ")' "$BUNDLE/config.json")
	run_in_container 'for p in '"$masked"'; do
		if [ -d "$p" ]; then echo "$p $(ls -A "$p" | wc -l)"
		elif [ -e "$p" ]; then echo "$p $(cat "$p" | wc -c)"
		fi; done'
	assert_success
	[ -n "$output" ] || fail "none of the masked paths exist: $masked"
	while read -r path size; do
		assert_equal "$path $size" "$path 0"
	done <<<"$output"
}

@test "maskedPaths: a masked file reads empty, a masked dir is empty and read-only" {
	echo secret >"$BUNDLE/rootfs/etc/secret"
	mkdir "$BUNDLE/rootfs/secrets" && echo secret >"$BUNDLE/rootfs/secrets/key"
	update_config '.root.readonly = false
		| .linux.maskedPaths += ["/etc/secret", "/secrets", "/does/not/exist"]'
	run_in_container 'cat /etc/secret | wc -c; ls -A /secrets | wc -l; touch /secrets/x 2>&1; echo >/etc/secret 2>&1; true'
	assert_success
	assert_equal "${lines[0]}" 0
	assert_equal "${lines[1]}" 0
	assert_output_contains "Read-only file system"
	assert_equal "$(cat "$BUNDLE/rootfs/etc/secret")" secret
}

@test "readonlyPaths: /proc/sys and a path in a writable rootfs are read-only" {
	mkdir "$BUNDLE/rootfs/frozen"
	update_config '.root.readonly = false | .linux.readonlyPaths += ["/frozen", "/does/not/exist"]'
	run_in_container 'touch /frozen/x 2>&1; touch /elsewhere && echo writable; cat /proc/self/mountinfo'
	assert_success
	assert_output_contains "Read-only file system" writable
	has_opt "$(mount_opts /proc/sys)" ro || fail "/proc/sys is not ro:" "$(mount_line /proc/sys)"
	has_opt "$(mount_opts /frozen)" ro || fail "/frozen is not ro:" "$(mount_line /frozen)"
}

@test "devices: the default devices exist with the right numbers and modes" {
	run_in_container 'for d in null zero full random urandom tty; do stat -c "%n %F %t:%T %a" /dev/$d; done'
	assert_success
	assert_output "$(printf '%s\n' \
		"/dev/null character special file 1:3 666" \
		"/dev/zero character special file 1:5 666" \
		"/dev/full character special file 1:7 666" \
		"/dev/random character special file 1:8 666" \
		"/dev/urandom character special file 1:9 666" \
		"/dev/tty character special file 5:0 666")"
}

@test "devices: the default /dev symlinks" {
	run_in_container 'for l in ptmx fd stdin stdout stderr; do echo "$l $(readlink /dev/$l)"; done'
	assert_success
	assert_output "$(printf '%s\n' \
		"ptmx pts/ptmx" \
		"fd /proc/self/fd" \
		"stdin /proc/self/fd/0" \
		"stdout /proc/self/fd/1" \
		"stderr /proc/self/fd/2")"
}

@test "devices: the default devices work" {
	run_in_container 'echo x >/dev/null && head -c 4 /dev/zero | wc -c; head -c 8 /dev/urandom | wc -c; dd if=/dev/zero of=/dev/full bs=1 count=1 2>&1; true'
	assert_success
	assert_equal "${lines[0]}" 4
	assert_equal "${lines[1]}" 8
	assert_output_contains "No space left on device"
}

@test "devices: linux.devices are created with type, numbers, mode and owner" {
	update_config '.linux.devices = [
		{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 432, "uid": 1000, "gid": 1001},
		{"path": "/dev/berth/blk", "type": "b", "major": 7, "minor": 200, "fileMode": 384}]'
	run_in_container 'stat -c "%n %F %t:%T %a %u %g" /dev/fuse /dev/berth/blk'
	assert_success
	assert_equal "${lines[0]}" "/dev/fuse character special file a:e5 660 1000 1001"
	assert_equal "${lines[1]}" "/dev/berth/blk block special file 7:c8 600 0 0"
}

@test "sysctl: namespaced sysctls are set in the container only" {
	host_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
	host_shmmax=$(cat /proc/sys/kernel/shmmax)
	want_fwd=$((1 - host_fwd))
	update_config '.linux.sysctl = {"net.ipv4.ip_forward": $f, "kernel.shmmax": "65536"}' \
		--arg f "$want_fwd"
	run_in_container 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax'
	assert_success
	assert_output "$want_fwd"$'\n'65536
	assert_equal "$(cat /proc/sys/net/ipv4/ip_forward)" "$host_fwd"
	assert_equal "$(cat /proc/sys/kernel/shmmax)" "$host_shmmax"
}

@test "sysctl: a sysctl that is not namespaced fails and leaves nothing" {
	before=$(cat /proc/sys/vm/swappiness)
	update_config '.linux.sysctl = {"vm.swappiness": "7"}'
	run_detached runtime create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains vm.swappiness
	assert_equal "$(cat /proc/sys/vm/swappiness)" "$before"
	assert_no_leftovers
}

@test "sysctl: a net sysctl without a network namespace fails and leaves nothing" {
	before=$(cat /proc/sys/net/ipv4/ip_forward)
	remove_namespace network
	update_config '.linux.sysctl = {"net.ipv4.ip_forward": $v}' --arg v "$((1 - before))"
	run_detached runtime create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains net.ipv4.ip_forward
	assert_equal "$(cat /proc/sys/net/ipv4/ip_forward)" "$before"
	assert_no_leftovers
}

@test "safety: an absolute symlink in the rootfs cannot redirect a mount to the host" {
	target=$BATS_TEST_TMPDIR/host-target
	mkdir "$target"
	ln -s "$target" "$BUNDLE/rootfs/evil"
	update_config '.mounts += [{"destination": "/evil/x", "type": "tmpfs", "source": "tmpfs"}]'
	run_in_container 'cat /proc/self/mountinfo'
	output=$(mount_fstype "$target/x")
	# Resolving the symlink inside the rootfs (as runc does) and refusing
	# the mount are both safe; touching the host path is not.
	assert_equal "$(ls -A "$target")" ""
	if [ "$status" -eq 0 ]; then
		assert_output tmpfs
	fi
	assert_no_leftovers
}

@test "safety: a relative symlink climbing out of the rootfs cannot redirect a mount" {
	target=$BATS_TEST_TMPDIR/host-target
	mkdir "$target"
	ln -s "../../../../../../../../../../../../$target" "$BUNDLE/rootfs/evil"
	update_config '.mounts += [{"destination": "/evil/x", "type": "tmpfs", "source": "tmpfs"}]'
	run_in_container 'true'
	assert_equal "$(ls -A "$target")" ""
	assert_no_leftovers
}

@test "safety: a symlinked file destination cannot bind over a host file" {
	echo precious >"$BATS_TEST_TMPDIR/host-file"
	echo mounted >"$BATS_TEST_TMPDIR/src-file"
	ln -s "$BATS_TEST_TMPDIR/host-file" "$BUNDLE/rootfs/etc/evil"
	add_bind_mount "$BATS_TEST_TMPDIR/src-file" /etc/evil bind
	update_config '.root.readonly = false'
	run_in_container 'cat /etc/evil; true'
	assert_equal "$(cat "$BATS_TEST_TMPDIR/host-file")" precious
	# If the runtime accepted it, the mount must be inside the rootfs, where
	# the symlink resolves within the container.
	if [ "$status" -eq 0 ]; then
		assert_output mounted
	fi
	assert_no_leftovers
}

@test "safety: a symlinked device path cannot create a node on the host" {
	mkdir "$BATS_TEST_TMPDIR/host-dev"
	mkdir -p "$BUNDLE/rootfs/dev"
	ln -s "$BATS_TEST_TMPDIR/host-dev" "$BUNDLE/rootfs/devlink"
	update_config '.linux.devices = [{"path": "/devlink/fuse", "type": "c", "major": 10, "minor": 229}]'
	run_in_container 'true'
	assert_equal "$(ls -A "$BATS_TEST_TMPDIR/host-dev")" ""
	assert_no_leftovers
}

@test "mounts: idmapped bind mounts show host root's files as the container's root" {
	skip_if_runc "idmapped mounts are new in runc 1.2"
	skip_unless_idmap_fs "$BATS_TEST_TMPDIR"
	mkdir "$BATS_TEST_TMPDIR/data"
	touch "$BATS_TEST_TMPDIR/data/file"
	# The container's root cannot create mount points in a rootfs owned
	# by the host's root.
	mkdir "$BUNDLE/rootfs/idmapped" "$BUNDLE/rootfs/plain"
	add_userns 100000
	update_config '.mounts += [{"destination": "/idmapped", "type": "bind", "source": $s,
		"options": ["bind"],
		"uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
		"gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}]' \
		--arg s "$BATS_TEST_TMPDIR/data"
	add_bind_mount "$BATS_TEST_TMPDIR/data" /plain bind
	run_in_container 'stat -c %u /idmapped/file /plain/file'
	assert_success
	assert_output $'0\n65534'
}

@test "mounts: a symlink loop in a destination is an error naming it, and leaves nothing" {
	ln -s loop-b "$BUNDLE/rootfs/loop-a"
	ln -s loop-a "$BUNDLE/rootfs/loop-b"
	update_config '.mounts += [{"destination": "/loop-a/x", "type": "tmpfs", "source": "tmpfs"}]'
	set_args true
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains "/loop-a/x"
	[ ! -e "$ROOT/$ID" ] || fail "state dir left"
}
