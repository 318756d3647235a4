#!/usr/bin/env bats
# The rest of the spec and CLI: --no-pivot, --log/--log-format, personality,
# scheduler, ioPriority, recursive mount flags, sysfs in a user namespace.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

@test "run: --no-pivot moves the rootfs onto / and chroots" {
	set_cmd 'grep -c " / / " /proc/self/mountinfo; ls /bin/busybox'
	run runtime run --no-pivot --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_contains /bin/busybox
	assert_no_leftovers
}

@test "log: --log with --log-format json writes the error as a JSON line" {
	local log=$BATS_TEST_TMPDIR/runtime.log
	run "$RUNTIME" --root "$ROOT" --log "$log" --log-format json state "nope-$ID"
	assert_failure
	# The error is also on stderr, as one plain line.
	assert_output_contains "nope-$ID"
	[ "$(jq -r .level "$log")" = error ] || fail "level is not error:" "$(cat "$log")"
	jq -r .msg "$log" | grep -q "nope-$ID" || fail "msg does not name the id:" "$(cat "$log")"
	jq -r .time "$log" | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' || fail "no RFC3339 time:" "$(cat "$log")"
}

@test "log: the text format is logrus's" {
	local log=$BATS_TEST_TMPDIR/runtime.log
	run "$RUNTIME" --root "$ROOT" --log "$log" kill "nope-$ID"
	assert_failure
	grep -Eq '^time="[^"]+" level=error msg=".*nope-' "$log" || fail "not a logrus text line:" "$(cat "$log")"
}

@test "personality: LINUX32 makes uname report a 32-bit machine" {
	[ "$(uname -m)" = x86_64 ] || skip "needs x86_64"
	update_config '.linux.personality = {"domain": "LINUX32"}'
	set_args uname -m
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output i686
}

@test "scheduler: policy and nice are applied" {
	update_config '.process.scheduler = {"policy": "SCHED_BATCH", "nice": 7}'
	set_cmd 'grep -E "^policy" /proc/self/sched | tr -d " "; cut -d" " -f19 /proc/self/stat'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output $'policy:3\n7'
}

@test "ioPriority: class and priority are applied" {
	update_config '.process.ioPriority = {"class": "IOPRIO_CLASS_IDLE", "priority": 0}'
	# ioprio_get(IOPRIO_WHO_PROCESS, 0) through busybox's ionice.
	set_args ionice
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_contains_i idle
}

@test "mounts: rro makes a bind mount and its submounts read-only" {
	mkdir -p "$BATS_TEST_TMPDIR/outer/inner"
	mount -t tmpfs tmpfs "$BATS_TEST_TMPDIR/outer/inner"
	add_bind_mount "$BATS_TEST_TMPDIR/outer" /outer rbind rro
	set_cmd 'touch /outer/x 2>/dev/null && echo outer-writable; touch /outer/inner/y 2>/dev/null && echo inner-writable; echo done'
	run runtime run --bundle "$BUNDLE" "$ID"
	umount "$BATS_TEST_TMPDIR/outer/inner"
	assert_success
	assert_output done
}

@test "user: sysfs in a user namespace without a network namespace is the host's, read-only" {
	add_userns 100000
	remove_namespace network
	set_cmd 'grep " /sys " /proc/self/mounts | cut -d" " -f4 | cut -d, -f1'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output ro
}

@test "create: a new session keyring named after the container, unless --no-new-keyring" {
	update_config '.linux.maskedPaths = []'
	set_args cat /proc/keys
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_contains "_ses.$ID"
	run runtime run --no-new-keyring --bundle "$BUNDLE" "$ID-2"
	assert_success
	assert_output_not_contains "_ses.$ID-2"
}

@test "rootfsPropagation: unbindable is applied to the new root" {
	update_config '.linux.rootfsPropagation = "unbindable"'
	set_cmd 'awk "\$5 == \"/\"" /proc/self/mountinfo'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_contains unbindable
}
