#!/usr/bin/env bats
# hooks: when each kind runs, what it gets on stdin, its args and env, and what
# a failing or hanging hook does.

load helpers

setup() {
	common_setup
	# Where hooks write. It is bind-mounted at the same path in the
	# container, so createContainer and startContainer hooks (which run in
	# the container's mount namespace) can write there too.
	HOOKDIR=$BATS_TEST_TMPDIR/hooks
	mkdir -p "$HOOKDIR"
	add_bind_mount "$HOOKDIR" "$HOOKDIR" rbind rw
}

teardown() { common_teardown; }

# record_hook KIND: a KIND hook that saves its stdin to $HOOKDIR/KIND.json
# and appends KIND to $HOOKDIR/order.
record_hook() {
	add_hook "$1" 'cat >"$0/$1.json"; echo "$1" >>"$0/order"' "$HOOKDIR" "$1"
}

# hook_order: the kinds that ran so far, space-separated.
hook_order() {
	[ -e "$HOOKDIR/order" ] && xargs <"$HOOKDIR/order"
	true
}

# hook_state KIND FILTER: jq FILTER applied to the state that hook KIND got.
hook_state() {
	jq -r "$2" "$HOOKDIR/$1.json"
}

@test "hooks: prestart, createRuntime and createContainer run at create, in that order" {
	set_args true
	for k in prestart createRuntime createContainer startContainer poststop; do
		record_hook $k
	done
	create_container
	assert_equal "$(hook_order)" "prestart createRuntime createContainer"
}

@test "hooks: startContainer runs at start, just before the process" {
	set_cmd "echo process >>$HOOKDIR/order"
	record_hook createContainer
	record_hook startContainer
	create_container
	assert_equal "$(hook_order)" "createContainer"
	start_container
	wait_for_status stopped
	assert_equal "$(hook_order)" "createContainer startContainer process"
}

@test "hooks: poststart runs at start, after the process started" {
	skip_if_runc "runc 1.1.5 runs poststart hooks during create (fixed in 1.2)"
	set_args sleep 100
	record_hook startContainer
	record_hook poststart
	create_container
	assert_equal "$(hook_order)" ""
	start_container
	assert_equal "$(hook_order)" "startContainer poststart"
}

@test "hooks: poststop runs at delete, not before" {
	set_args true
	record_hook poststop
	create_container
	start_container
	wait_for_status stopped
	assert_equal "$(hook_order)" ""
	runtime delete "$ID"
	assert_equal "$(hook_order)" poststop
}

@test "hooks: poststop runs when run deletes the container" {
	set_args true
	record_hook poststop
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_equal "$(hook_order)" poststop
}

@test "hooks: several hooks of one kind run in the order given" {
	set_args true
	add_hook prestart 'echo one >>"$0/order"' "$HOOKDIR"
	add_hook prestart 'echo two >>"$0/order"' "$HOOKDIR"
	add_hook prestart 'echo three >>"$0/order"' "$HOOKDIR"
	create_container
	assert_equal "$(hook_order)" "one two three"
}

@test "hooks: each hook gets the container's state on stdin" {
	set_args sleep 100
	for k in prestart createRuntime createContainer startContainer poststart poststop; do
		record_hook $k
	done
	create_container
	pid=$(container_pid)
	start_container
	runtime delete --force "$ID"
	for k in prestart createRuntime createContainer startContainer poststart poststop; do
		[ -s "$HOOKDIR/$k.json" ] || fail "$k got no state"
		assert_equal "$(hook_state $k .id)" "$ID"
		assert_equal "$(hook_state $k .bundle)" "$BUNDLE"
		[[ $(hook_state $k .ociVersion) =~ ^1\. ]] || fail "$k: ociVersion:" "$(cat "$HOOKDIR/$k.json")"
	done
	# Hooks run by the runtime see the host pid; those run inside the
	# container may see it from the container's pid namespace.
	for k in prestart createRuntime poststart; do
		assert_equal "$(hook_state $k .pid)" "$pid"
	done
	for k in createContainer startContainer; do
		[ "$(hook_state $k .pid)" -gt 0 ] || fail "$k: pid:" "$(cat "$HOOKDIR/$k.json")"
	done
	for k in createRuntime createContainer; do
		assert_equal "$(hook_state $k .status)" creating
	done
	# prestart (deprecated) keeps the runtime-spec 1.0 meaning: after
	# create, before start, as crun reports it; runc says "creating".
	if is_runc; then
		assert_equal "$(hook_state prestart .status)" creating
	else
		assert_equal "$(hook_state prestart .status)" created
	fi
	[[ $(hook_state poststart .status) =~ ^(created|running)$ ]] ||
		fail "poststart: status:" "$(cat "$HOOKDIR/poststart.json")"
	assert_equal "$(hook_state poststop .status)" stopped
}

@test "hooks: args and env are passed, and only that env" {
	set_args true
	HOOK_EXTRA='{"env": ["HOOKVAR=hello", "OTHER=a b"]}' \
		add_hook prestart 'echo "$0|$1|$2" >"$3/args"; env >"$3/env"' first second "third arg" "$HOOKDIR"
	BERTH_LEAK_TEST=leaked create_container
	assert_equal "$(cat "$HOOKDIR/args")" "first|second|third arg"
	run cat "$HOOKDIR/env"
	assert_output_contains HOOKVAR=hello "OTHER=a b"
	assert_output_not_contains BERTH_LEAK_TEST
}

@test "hooks: a failing prestart hook fails create and leaves nothing" {
	set_args true
	add_hook prestart 'echo hook-stdout; echo hook-stderr >&2; exit 3'
	run_detached runtime create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains_i hook
	assert_output_contains hook-stderr
	assert_no_leftovers
}

@test "hooks: a failing createRuntime hook fails create and leaves nothing" {
	set_args true
	add_hook createRuntime 'echo hook-stderr >&2; exit 3'
	run_detached runtime create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains_i hook
	assert_output_contains hook-stderr
	assert_no_leftovers
}

@test "hooks: a failing createContainer hook fails create and leaves nothing" {
	set_args true
	add_hook createContainer 'echo hook-stderr >&2; exit 3'
	run_detached runtime create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains_i hook
	assert_output_contains hook-stderr
	assert_no_leftovers
}

@test "hooks: a failing poststart hook is a warning and the container runs on" {
	skip_if_runc "runc 1.1.5 runs poststart during create and fails it"
	set_args sleep 100
	add_hook poststart 'echo hook-stderr >&2; exit 3'
	create_container
	run runtime start "$ID"
	assert_output_contains hook-stderr
	assert_equal "$(container_status)" running
}

@test "hooks: a failing poststop hook is a warning and delete succeeds" {
	set_args true
	add_hook poststop 'echo hook-stderr >&2; exit 3'
	create_container
	start_container
	wait_for_status stopped
	run runtime delete "$ID"
	assert_success
	assert_output_contains hook-stderr
	assert_no_leftovers
}

@test "hooks: a hook that outlives its timeout is killed and fails create" {
	set_args true
	mkfifo "$BATS_TEST_TMPDIR/never"
	# Blocks opening a fifo nobody writes: no child, no CPU. $ID on its
	# command line lets assert_no_leftovers find it if it is not killed.
	HOOK_EXTRA='{"timeout": 1}' add_hook prestart 'read x <"$0"' "$BATS_TEST_TMPDIR/never" "$ID"
	start=$SECONDS
	run_detached runtime create --bundle "$BUNDLE" "$ID"
	assert_failure
	[ $((SECONDS - start)) -le 5 ] || fail "create took $((SECONDS - start))s with a 1s hook timeout"
	assert_output_contains_i hook
	[[ ${output,,} =~ time ]] || fail "the error does not mention the timeout:" "$output"
	assert_no_leftovers
}

@test "hooks: after a failing poststart or poststop hook the remaining ones still run" {
	set_args true
	add_shared_dir
	add_hook poststart 'exit 1'
	add_hook poststart 'echo ran > "$0"' "$SHARED/poststart-2"
	add_hook poststop 'exit 1'
	add_hook poststop 'echo ran > "$0"' "$SHARED/poststop-2"
	create_container
	start_container
	wait_for_status stopped
	run runtime delete "$ID"
	assert_success
	[ -f "$SHARED/poststart-2" ] || fail "the second poststart hook did not run"
	[ -f "$SHARED/poststop-2" ] || fail "the second poststop hook did not run"
}
