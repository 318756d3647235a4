#!/usr/bin/env bats
# Attacks on the runtime itself: each must fail here, and would succeed on a
# runtime without the matching defence.

load helpers
bats_require_minimum_version 1.5.0

setup() { common_setup; }
teardown() { common_teardown; }

# CVE-2019-5736: while a container is created (not started), its pid 1 is
# still the runtime's binary. A process in the container must not be able to
# open /proc/1/exe (and write the host's runtime through it).
@test "security: the init's /proc/1/exe cannot be opened from the container before start" {
	set_args true
	create_container
	run runtime exec "$ID" sh -c 'readlink /proc/1/exe; cat /proc/1/exe >/dev/null && echo OPENED; echo done'
	assert_output_contains done
	assert_output_not_contains OPENED
}

@test "security: pid 1 becomes dumpable again once it runs the container's process" {
	set_args sleep 100
	create_container
	run runtime exec "$ID" sh -c 'readlink /proc/1/exe || echo denied'
	assert_output_contains denied
	start_container
	run runtime exec "$ID" readlink /proc/1/exe
	assert_success
	assert_output /bin/busybox
}

# CVE-2024-21626: an fd of the runtime that reaches the container (a host
# directory, say) lets its process walk the host's filesystem through
# /proc/self/fd/N, as its cwd or directly.
@test "security: no runtime fd reaches the container's process or an exec'd one (CVE-2024-21626)" {
	cp "$BERTH_BUILDDIR/tests/helpers/capprobe" "$BUNDLE/rootfs/bin/capprobe"
	set_args /bin/capprobe fds
	# An fd the runtime itself inherited does not go on either.
	run bash -c 'exec 5<"$0"; "$1" --root "$2" run --bundle "$3" "$4"' "$BUNDLE/config.json" "$RUNTIME" "$ROOT" "$BUNDLE" "$ID"
	assert_success
	assert_output "fds: 0 1 2"
	set_args sleep 100
	run_container_detached "$ID-2"
	run runtime exec "$ID-2" /bin/capprobe fds
	assert_success
	assert_output "fds: 0 1 2"
}

@test "security: process.cwd through /proc/self/fd/N cannot leave the container (CVE-2024-21626)" {
	set_cmd 'pwd; ls'
	for n in 3 4 5 6 7 8 9 10 11 12; do
		update_config '.process.cwd = $cwd' --arg cwd "/proc/self/fd/$n"
		run runtime run --bundle "$BUNDLE" "$ID-$n"
		# Refused, or (were the fd harmless) a cwd inside the container.
		if [ "$status" -eq 0 ]; then
			[[ ${lines[0]} == /* ]] || fail "fd $n: cwd outside the container:" "$output"
		else
			assert_output_contains "process.cwd"
		fi
		[ ! -e "$ROOT/$ID-$n" ] || runtime delete --force "$ID-$n"
	done
}

@test "security: exec --cwd /proc/self/fd/N cannot reach a host directory, even a preserved one (CVE-2024-21626)" {
	skip_if_runc "runc 1.1.5 predates the fix"
	set_args sleep 100
	run_container_detached
	mkdir "$BATS_TEST_TMPDIR/hostdir"
	touch "$BATS_TEST_TMPDIR/hostdir/host-secret"
	for n in 3 4 5 6 7 8 9 10 11 12; do
		run runtime exec --cwd "/proc/self/fd/$n" "$ID" sh -c 'pwd; ls'
		assert_output_not_contains host-secret cgroup.procs
		[ "$status" -ne 0 ] || [[ ${lines[0]} == /* ]] || fail "fd $n: cwd outside the container:" "$output"
	done
	# A host directory passed on purpose is still not a way out.
	run bash -c 'exec 3<"$4"; "$0" --root "$1" exec --preserve-fds 1 --cwd /proc/self/fd/3 "$2" ls' \
		"$RUNTIME" "$ROOT" "$ID" _ "$BATS_TEST_TMPDIR/hostdir"
	assert_failure
	assert_output_contains "outside the container's root"
	assert_output_not_contains host-secret
}

# CVE-2022-29162: a process must not start with inheritable capabilities the
# spec did not give it (they survive execve of a file with inheritable file
# capabilities).
@test "security: the inheritable and ambient sets are empty unless the spec asks (CVE-2022-29162)" {
	cp "$BERTH_BUILDDIR/tests/helpers/capprobe" "$BUNDLE/rootfs/bin/capprobe"
	update_config '.process.capabilities |= del(.inheritable, .ambient)'
	set_args sleep 100
	run_container_detached
	run runtime exec "$ID" /bin/capprobe
	assert_success
	assert_output_contains CapInh=0000000000000000 CapAmb=0000000000000000
	runtime delete --force "$ID"
	# The probe can see a non-empty set when one is asked for.
	update_config '.process.capabilities.inheritable = ["CAP_KILL"] | .process.args = ["/bin/capprobe"]'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_contains CapInh=0000000000000020
}

# no_new_privs and the bounding set against a setuid-root binary run by an
# unprivileged user in the container.
@test "security: a setuid-root binary gives nothing with noNewPrivileges, and no capabilities outside the bounding set" {
	install -m 4755 -o 0 -g 0 "$BERTH_BUILDDIR/tests/helpers/capprobe" "$BUNDLE/rootfs/bin/capprobe"
	update_config '.process.user = {"uid": 1000, "gid": 1000} | .process.args = ["/bin/capprobe"]
		| .process.noNewPrivileges = true'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_contains "uid=1000 euid=1000" CapEff=0000000000000000 NoNewPrivs=1
	# Without no_new_privs the setuid bit works, but only within the
	# bounding set: dropped to nothing, root gets no capability.
	update_config '.process.noNewPrivileges = false | .process.capabilities = {"bounding": []}'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_contains "uid=1000 euid=0" CapPrm=0000000000000000 CapEff=0000000000000000 CapBnd=0000000000000000
}

# CVE-2021-30465 and friends: a mount destination reached through a symlink in
# the image must be resolved inside the rootfs, never on the host.
@test "security: symlinks in mount destinations resolve inside the rootfs (CVE-2021-30465)" {
	host=$BATS_TEST_TMPDIR/hostdir
	mkdir "$host"
	ln -s "../../../../../../../../..$host" "$BUNDLE/rootfs/rel-escape"
	ln -s "$host" "$BUNDLE/rootfs/abs-escape"
	# The symlinks' target, taken inside the rootfs, does not exist there:
	# it is created there (as runc does), not on the host.
	update_config '.mounts += [
		{"destination": "/rel-escape/a", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]},
		{"destination": "/abs-escape/b", "type": "tmpfs", "source": "tmpfs", "options": ["size=2m"]}]'
	set_cmd 'grep -c " tmpfs tmpfs " /proc/self/mountinfo >/dev/null; awk "\$5 ~ /hostdir\\/(a|b)$/ {print \$5}" /proc/self/mountinfo'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	# Both mounts are inside the container, at the path the symlink names
	# taken inside the rootfs ...
	assert_output_contains "$host/a" "$host/b"
	[ -d "$BUNDLE/rootfs$host/a" ] || fail "mount point not created inside the rootfs"
	# ... and nothing was made on the host.
	[ -z "$(ls -A "$host")" ] || fail "the host directory got:" "$(ls -A "$host")"
}

# CVE-2025-31133: maskedPaths are masked by bind-mounting the container's
# /dev/null; if that is a symlink to a procfs file (here through a /dev
# shared from the host), the runtime would bind that file instead.
@test "security: a /dev/null that is not the null device is refused for masking (CVE-2025-31133)" {
	skip_if_runc "runc 1.1.5 predates the fix"
	dev=$BATS_TEST_TMPDIR/dev
	mkdir "$dev"
	ln -s /proc/sys/kernel/core_pattern "$dev/null"
	update_config '.mounts |= map(select(.destination != "/dev")) |
		.mounts += [{"destination": "/dev", "type": "bind", "source": $dev, "options": ["rbind"]}] |
		.linux.maskedPaths = ["/proc/timer_list"]' --arg dev "$dev"
	set_cmd 'cat /proc/timer_list; grep timer_list /proc/self/mountinfo'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains "maskedPaths: /dev/null in the container is not the null device"
	assert_output_not_contains core
	[ ! -e "$ROOT/$ID" ] || fail "state dir left"
	# With the real null device in its place, the path is masked.
	rm "$dev/null"
	mknod -m 666 "$dev/null" c 1 3
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_contains "/dev/null /proc/timer_list"
}

# The init opens its stdio that is the host's /dev/null again on the
# container's /dev/null (for CRIU). Where that cannot be opened (here a /dev
# on a nodev tmpfs, as /tmp is in the v2 VM) the container still runs.
@test "security: a container whose /dev/null cannot be opened (a nodev /dev) runs on the host's /dev/null" {
	dev=$BATS_TEST_TMPDIR/nodev
	mkdir "$dev"
	mount -t tmpfs -o nodev,mode=755 tmpfs "$dev"
	mknod -m 666 "$dev/null" c 1 3
	mkdir "$dev/pts"
	update_config '.mounts |= map(select(.destination != "/dev")) |
		.mounts += [{"destination": "/dev", "type": "bind", "source": $dev, "options": ["rbind"]}]' --arg dev "$dev"
	set_cmd 'echo ran; cat /dev/null && echo opened; true'
	run runtime run --bundle "$BUNDLE" "$ID" </dev/null
	umount "$dev"
	assert_success
	assert_output_contains ran
	assert_output_not_contains opened # the container's own /dev/null is not usable
	[ ! -e "$ROOT/$ID" ] || fail "state dir left"
}

# CVE-2025-52565: /dev/console is where the pty is bound; a /dev/console that
# is a symlink must not send the mount to its target.
@test "security: a /dev/console symlink is refused, not followed (CVE-2025-52565)" {
	dev=$BATS_TEST_TMPDIR/dev
	mkdir "$dev"
	mknod -m 666 "$dev/null" c 1 3
	mkdir "$dev/pts"
	ln -s pts/ptmx "$dev/ptmx"
	ln -s /proc/sys/kernel/core_pattern "$dev/console"
	update_config '.mounts |= map(select(.destination != "/dev")) |
		.mounts |= [{"destination": "/dev", "type": "bind", "source": $dev, "options": ["rbind"]}] + . |
		.process.terminal = true' --arg dev "$dev"
	set_cmd 'grep -c core_pattern /proc/self/mountinfo; readlink /dev/console'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains "/dev/console"
	assert_output_not_contains "/proc/sys/kernel/core_pattern"
	[ "$(readlink "$dev/console")" = /proc/sys/kernel/core_pattern ] || fail "the symlink was changed"
	[ ! -e "$ROOT/$ID" ] || fail "state dir left"
}

# CVE-2025-52881: procfs writes (sysctls, oom_score_adj) must reach procfs
# itself, not a file mounted over the procfs path.
@test "security: a sysctl write cannot be redirected by a mount over /proc/sys (CVE-2025-52881)" {
	skip_if_runc "runc 1.1.5 predates the fix"
	echo 0 >"$BATS_TEST_TMPDIR/fake-ip-forward"
	update_config '.mounts += [{"destination": "/proc/sys/net/ipv4/ip_forward", "type": "bind",
		"source": $f, "options": ["bind"]}] | .linux.sysctl = {"net.ipv4.ip_forward": "1"}' \
		--arg f "$BATS_TEST_TMPDIR/fake-ip-forward"
	set_args true
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains 'linux.sysctl "net.ipv4.ip_forward"' "refusing to write"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/fake-ip-forward")" 0
	[ ! -e "$ROOT/$ID" ] || fail "state dir left"
	# Without the mount the sysctl is set (in the container's netns).
	update_config '.mounts |= map(select(.destination != "/proc/sys/net/ipv4/ip_forward")) |
		.process.args = ["cat", "/proc/sys/net/ipv4/ip_forward"]'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output 1
}

@test "security: an AppArmor profile is applied, or refused where AppArmor is off, never ignored" {
	update_config '.process.apparmorProfile = "berth-test-profile"'
	set_args true
	if [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ]; then
		# No such profile is loaded: applying it fails; it is not ignored.
		run -127 runtime run --bundle "$BUNDLE" "$ID"
		assert_output_contains berth-test-profile
		# "unconfined" always exists: the process runs under it.
		update_config '.process.apparmorProfile = "unconfined" | .process.args = ["cat", "/proc/self/attr/current"]'
		run runtime run --bundle "$BUNDLE" "$ID"
		assert_success
		assert_output unconfined
		return
	fi
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains 'process.apparmorProfile "berth-test-profile": AppArmor is not enabled on this host'
	[ ! -e "$ROOT/$ID" ] || fail "state dir left"
	update_config 'del(.process.apparmorProfile) | .process.args = ["sleep", "100"]'
	run_container_detached
	run runtime exec --apparmor berth-test-profile "$ID" true
	assert_failure
	assert_output_contains "AppArmor is not enabled on this host"
}

# The race variant: a process sharing the rootfs swaps a path between a
# directory and a symlink out of the rootfs while the runtime mounts there.
@test "security: a mount destination swapped for a symlink during create never lands on the host (CVE-2021-30465 race)" {
	host=$BATS_TEST_TMPDIR/hostdir
	mkdir "$host"
	update_config '.mounts += [{"destination": "/race/sub", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}]'
	set_args true
	r=$BUNDLE/rootfs
	mkdir -p "$r/race-dir/sub"
	ln -s "$host" "$r/race-link"
	# The swapper: /race is, by turns, a real directory and a symlink to the
	# host directory (rename is atomic).
	(
		while :; do
			ln -sfn race-dir "$r/race.tmp" && mv -Tf "$r/race.tmp" "$r/race"
			ln -sfn "$host" "$r/race.tmp" && mv -Tf "$r/race.tmp" "$r/race"
		done
	) &
	track_pid $!
	for i in $(seq 1 30); do
		runtime run --bundle "$BUNDLE" "$ID-$i" >/dev/null 2>&1 || true
		[ ! -e "$ROOT/$ID-$i" ] || runtime delete --force "$ID-$i" >/dev/null 2>&1 || true
		[ -z "$(ls -A "$host")" ] || fail "run $i: the mount reached the host directory:" "$(ls -A "$host")"
	done
}
