#!/usr/bin/env bats
# pause/resume through the freezer, and ps.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

# A container that bumps a counter in $SHARED/count every 50 ms.
start_counter() {
	add_shared_dir
	set_cmd 'i=0; while true; do i=$((i+1)); echo $i > /shared/count; sleep 0.05; done'
	run_container_detached
	wait_for_file "$SHARED/count"
}

@test "pause: stops the processes, state says paused; resume restarts them" {
	start_counter
	run runtime pause "$ID"
	assert_success
	assert_equal "$(container_status)" paused
	a=$(cat "$SHARED/count")
	sleep 0.3
	assert_equal "$(cat "$SHARED/count")" "$a"
	run runtime resume "$ID"
	assert_success
	assert_equal "$(container_status)" running
	sleep 0.3
	[ "$(cat "$SHARED/count")" -gt "$a" ] || fail "the counter did not move after resume"
}

@test "pause: delete --force of a paused container kills and deletes it" {
	start_counter
	runtime pause "$ID"
	run runtime delete --force "$ID"
	assert_success
	assert_no_leftovers
}

@test "pause: a paused container cannot be deleted without --force" {
	start_counter
	runtime pause "$ID"
	run runtime delete "$ID"
	assert_failure
	assert_output_contains paused
	runtime resume "$ID"
}

@test "resume: a running container is not paused" {
	start_counter
	run runtime resume "$ID"
	assert_failure
	assert_output_contains "not paused"
}

@test "pause: a stopped container cannot be paused" {
	set_args true
	run_container_detached
	wait_for_status stopped
	run runtime pause "$ID"
	assert_failure
	assert_output_contains "not running"
}

@test "pause, resume, ps: an unknown id fails" {
	for verb in pause resume ps; do
		run runtime "$verb" "nope-$ID"
		assert_failure
		assert_output_contains "nope-$ID"
	done
}

@test "ps: lists the container's processes from the host's ps, and json lists their pids" {
	set_cmd 'sleep 100 & sleep 100 & wait'
	run_container_detached
	for _ in $(seq 50); do
		[ "$(runtime ps --format json "$ID" | jq length)" -ge 3 ] && break
		sleep 0.1
	done
	run runtime ps --format json "$ID"
	assert_success
	assert_equal "$(jq length <<<"$output")" 3
	assert_equal "$(jq '.[0]' <<<"$output")" "$(container_pid)"
	run runtime ps "$ID"
	assert_success
	assert_equal "${#lines[@]}" 4  # header + 3
	assert_output_contains PID "sleep 100"
	run runtime ps "$ID" -o pid,comm
	assert_success
	assert_output_contains sleep
}
