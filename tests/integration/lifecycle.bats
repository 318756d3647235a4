#!/usr/bin/env bats
# create, start, run, state, kill, delete: the container's life and its state.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

# A process that waits until it is killed, and reports SIGTERM. As pid 1 it
# only gets signals it has a handler for, so the test must wait for "ready"
# (after `start` returns, the runtime's init may not have exec'd it yet).
wait_forever='trap "echo term >/shared/signal; exit 3" TERM; echo ready >/shared/ready; while :; do sleep 0.1; done'

@test "create: the container is created with a live init pid" {
	set_args sleep 100
	create_container
	run container_state
	assert_success
	assert_equal "$(jq -r .status <<<"$output")" created
	pid=$(jq -r .pid <<<"$output")
	[ "$pid" -gt 0 ] || fail "pid '$pid'"
	[ -d "/proc/$pid" ] || fail "pid $pid does not exist"
	# The init already lives in the container's namespaces.
	[ "$(ns_inode "$pid" pid)" != "$(ns_inode $$ pid)" ] || fail "init is in the host pid namespace"
	[ "$(ns_inode "$pid" mnt)" != "$(ns_inode $$ mnt)" ] || fail "init is in the host mount namespace"
}

@test "create: the process does not run before start" {
	add_shared_dir
	set_cmd 'touch /shared/started'
	create_container
	sleep 0.2
	[ ! -e "$SHARED/started" ] || fail "the process ran before start"
	start_container
	wait_for_status stopped
	[ -e "$SHARED/started" ] || fail "the process did not run after start"
}

@test "lifecycle: create, start, running, stopped, delete" {
	add_shared_dir
	set_cmd 'while [ ! -e /shared/go ]; do sleep 0.05; done'
	create_container
	assert_equal "$(container_status)" created
	pid=$(container_pid)

	start_container
	assert_equal "$(container_status)" running
	assert_equal "$(container_pid)" "$pid"

	touch "$SHARED/go"
	wait_for_status stopped
	[ ! -d "/proc/$pid" ] || [ "$(awk '{ print $3 }' "/proc/$pid/stat")" = Z ] ||
		fail "pid $pid is still alive"

	run runtime delete "$ID"
	assert_success
	run runtime state "$ID"
	assert_failure
	assert_no_leftovers
}

@test "start: a running container cannot be started again" {
	set_args sleep 100
	create_container
	start_container
	run runtime start "$ID"
	assert_failure
	assert_equal "$(container_status)" running
}

@test "start: a stopped container cannot be started again" {
	set_args true
	create_container
	start_container
	wait_for_status stopped
	run runtime start "$ID"
	assert_failure
	assert_equal "$(container_status)" stopped
}

@test "run: the container's exit code becomes run's exit code" {
	set_cmd 'exit 7'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_failure 7
	# run deletes the container when it exits.
	run runtime state "$ID"
	assert_failure
	assert_no_leftovers
}

@test "run: exit code 0 and the container's output" {
	set_cmd 'echo out; echo err >&2'
	run --separate-stderr runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_equal "$output" out
	assert_equal "$stderr" err
}

@test "run: a container killed by signal N gives 128+N" {
	set_args sleep 100
	runtime run --bundle "$BUNDLE" "$ID" >"$BATS_TEST_TMPDIR/run.out" 2>&1 3>&- </dev/null &
	bg=$!
	track_pid "$bg"
	wait_for_status running
	runtime kill "$ID" KILL
	rc=0
	wait "$bg" || rc=$?
	assert_equal "$rc" 137
	assert_no_leftovers
}

@test "run: -d returns at once and leaves the container running" {
	set_args sleep 100
	run_container_detached
	assert_equal "$(container_status)" running
	pid=$(container_pid)
	[ -d "/proc/$pid" ] || fail "pid $pid does not exist"
	run runtime delete --force "$ID"
	assert_success
	assert_no_leftovers
}

@test "run: --keep keeps the stopped container" {
	skip_if_runc "run --keep is new in runc 1.2"
	set_cmd 'exit 3'
	run runtime run --keep --bundle "$BUNDLE" "$ID"
	assert_failure 3
	assert_equal "$(container_status)" stopped
	run runtime delete "$ID"
	assert_success
	assert_no_leftovers
}

@test "run: the bundle defaults to the current directory" {
	set_args true
	cd "$BUNDLE"
	run runtime run "$ID"
	assert_success
}

@test "state: has ociVersion, id, status, pid, bundle and the annotations" {
	set_args sleep 100
	update_config '.annotations = {"org.berth.test": "yes", "org.berth.other": "a b"}'
	create_container
	run container_state
	assert_success
	state=$output
	[[ $(jq -r .ociVersion <<<"$state") =~ ^1\.[0-9]+\.[0-9]+ ]] || fail "ociVersion:" "$state"
	assert_equal "$(jq -r .id <<<"$state")" "$ID"
	assert_equal "$(jq -r .status <<<"$state")" created
	assert_equal "$(jq -r '.pid | type' <<<"$state")" number
	assert_equal "$(jq -r .bundle <<<"$state")" "$BUNDLE"
	assert_equal "$(jq -r '.annotations["org.berth.test"]' <<<"$state")" yes
	assert_equal "$(jq -r '.annotations["org.berth.other"]' <<<"$state")" "a b"
}

@test "state: a relative --bundle is stored as an absolute path" {
	set_args sleep 100
	cd "$(dirname "$BUNDLE")"
	runtime create --bundle "$(basename "$BUNDLE")" "$ID" >/dev/null 2>&1 </dev/null
	assert_equal "$(container_state | jq -r .bundle)" "$BUNDLE"
}

@test "create: --pid-file gets the init's pid" {
	set_args sleep 100
	create_container "$ID" --pid-file "$BATS_TEST_TMPDIR/pidfile"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/pidfile")" "$(container_pid)"
}

@test "create: a relative --pid-file is relative to the current directory" {
	set_args sleep 100
	mkdir "$BATS_TEST_TMPDIR/cwd" && cd "$BATS_TEST_TMPDIR/cwd"
	create_container "$ID" --pid-file rel.pid
	assert_equal "$(cat "$BATS_TEST_TMPDIR/cwd/rel.pid")" "$(container_pid)"
}

@test "run: -d --pid-file gets the process's pid" {
	set_args sleep 100
	runtime run -d --pid-file "$BATS_TEST_TMPDIR/pidfile" --bundle "$BUNDLE" "$ID" \
		>/dev/null 2>&1 </dev/null
	assert_equal "$(cat "$BATS_TEST_TMPDIR/pidfile")" "$(container_pid)"
}

@test "create: a second container with the same id fails and leaves the first alone" {
	set_args sleep 100
	create_container
	pid=$(container_pid)
	run_detached runtime create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_error_names "$ID"
	assert_equal "$(container_status)" created
	assert_equal "$(container_pid)" "$pid"
}

@test "create: ids may contain letters, digits, '.', '_', '-' and '+'" {
	set_args true
	id="$ID.a_b-c+D9"
	run runtime run --bundle "$BUNDLE" "$id"
	assert_success
}

@test "create: two containers can share one bundle" {
	set_args sleep 100
	create_container "$ID-a"
	create_container "$ID-b"
	[ "$(container_pid "$ID-a")" != "$(container_pid "$ID-b")" ] || fail "same pid"
}

@test "kill: SIGTERM is the default signal" {
	add_shared_dir
	set_cmd "$wait_forever"
	run_container_detached
	wait_for_file "$SHARED/ready"
	run runtime kill "$ID"
	assert_success
	wait_for_status stopped
	assert_equal "$(cat "$SHARED/signal")" term
}

@test "kill: TERM, SIGTERM and 15 name the same signal" {
	add_shared_dir
	set_cmd "$wait_forever"
	for sig in TERM SIGTERM 15; do
		rm -f "$SHARED/signal" "$SHARED/ready"
		run_container_detached
		wait_for_file "$SHARED/ready"
		run runtime kill "$ID" "$sig"
		assert_success
		wait_for_status stopped
		assert_equal "$(cat "$SHARED/signal")" term
		runtime delete "$ID"
	done
}

@test "kill: KILL, SIGKILL and 9 kill the container" {
	set_args sleep 100
	for sig in KILL SIGKILL 9; do
		run_container_detached
		run runtime kill "$ID" "$sig"
		assert_success
		wait_for_status stopped
		runtime delete "$ID"
	done
	assert_no_leftovers
}

@test "kill: --all signals every process of the container" {
	add_shared_dir
	set_cmd 'sleep 100 & sleep 100 & echo $! >/shared/child; wait'
	run_container_detached
	wait_for_file "$SHARED/child"
	cgprocs=$(cgroup_file "$(container_pid)" pids cgroup.procs cgroup.procs)
	[ "$(wc -l <"$cgprocs")" -ge 3 ] || fail "expected 3 processes in $cgprocs:" "$(cat "$cgprocs")"
	run runtime kill --all "$ID" KILL
	assert_success
	wait_for_status stopped
	for i in $(seq 50); do
		[ ! -s "$cgprocs" ] && break
		sleep 0.05
	done
	[ ! -s "$cgprocs" ] 2>/dev/null || fail "processes left in $cgprocs:" "$(cat "$cgprocs")"
}

@test "kill: a stopped container cannot be signalled" {
	set_args true
	create_container
	start_container
	wait_for_status stopped
	run runtime kill "$ID" KILL
	assert_failure
}

@test "delete: a running container is not deleted without --force" {
	set_args sleep 100
	run_container_detached
	run runtime delete "$ID"
	assert_failure
	assert_error_names "$ID"
	assert_equal "$(container_status)" running
}

@test "delete: --force kills and deletes a running container" {
	set_args sleep 100
	run_container_detached
	pid=$(container_pid)
	run runtime delete --force "$ID"
	assert_success
	[ ! -d "/proc/$pid" ] || [ "$(awk '{ print $3 }' "/proc/$pid/stat")" = Z ] ||
		fail "pid $pid survived delete --force"
	run runtime state "$ID"
	assert_failure
	assert_no_leftovers
}

@test "delete: --force deletes a created container" {
	set_args sleep 100
	create_container
	run runtime delete --force "$ID"
	assert_success
	assert_no_leftovers
}

@test "delete: a created container is deleted completely or not at all" {
	# runc deletes (kills) a created container without --force; the OCI
	# spec says deleting a container that is not stopped is an error.
	# Either way, nothing may be half done.
	set_args sleep 100
	create_container
	pid=$(container_pid)
	run runtime delete "$ID"
	if [ "$status" -eq 0 ]; then
		assert_no_leftovers
	else
		assert_equal "$(container_status)" created
		assert_equal "$(container_pid)" "$pid"
	fi
}

@test "state, start, kill, delete: an unknown id fails" {
	for cmd in state start "kill" delete; do
		run runtime $cmd "$ID"
		assert_failure
		assert_error_names "$ID"
	done
	assert_no_leftovers
}

@test "kill: an unknown signal fails and leaves the container running" {
	set_args sleep 100
	run_container_detached
	run runtime kill "$ID" SIGFOO
	assert_failure
	assert_output_contains SIGFOO
	assert_equal "$(container_status)" running
}
