#!/usr/bin/env bats
# events: runc's JSON stats and OOM events.

load helpers

setup() {
	common_setup
	set_args sleep 1000
}
teardown() { common_teardown; }

@test "events --stats: one stats event with cpu, memory and pids from the cgroup" {
	update_config '.linux.resources.pids = {"limit": 50}'
	run_container_detached
	run runtime events --stats "$ID"
	assert_success
	assert_equal "$(jq -r .type <<<"$output")" stats
	assert_equal "$(jq -r .id <<<"$output")" "$ID"
	assert_equal "$(jq -r .data.pids.current <<<"$output")" 1
	assert_equal "$(jq -r .data.pids.limit <<<"$output")" 50
	[ "$(jq -r .data.memory.usage.usage <<<"$output")" -gt 0 ] || fail "no memory usage:" "$output"
	[ "$(jq -r .data.cpu.usage.total <<<"$output")" -gt 0 ] || fail "no cpu usage:" "$output"
}

@test "events: an OOM kill in the container is reported, and the stream ends with the container" {
	update_config '.linux.resources.memory = {"limit": 16777216}'
	set_cmd 'sleep 1; x=$(head -c 100000000 /dev/zero | tr "\0" a); sleep 1000'
	run_container_detached
	runtime events --interval 1s "$ID" >"$BATS_TEST_TMPDIR/events" 2>&1 &
	ev=$!
	track_pid "$ev"
	for _ in $(seq 100); do
		grep -q '"type":"oom"' "$BATS_TEST_TMPDIR/events" && break
		sleep 0.1
	done
	grep -q '"type":"oom"' "$BATS_TEST_TMPDIR/events" || fail "no oom event:" "$(cat "$BATS_TEST_TMPDIR/events")"
	grep -q '"type":"stats"' "$BATS_TEST_TMPDIR/events" || fail "no stats event"
	# The OOM killer may have taken the init already.
	runtime kill "$ID" KILL 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$ev" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$ev" 2>/dev/null && fail "events did not end with the container"
	true
}

@test "events: a bad interval and a stopped container are errors" {
	run_container_detached
	run runtime events --interval soon "$ID"
	assert_failure
	assert_output_contains --interval soon
	runtime kill "$ID" KILL
	wait_for_status stopped
	run runtime events --stats "$ID"
	assert_failure
	assert_output_contains "not running"
}
