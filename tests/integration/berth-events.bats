#!/usr/bin/env bats
# berth events: the run root's event log replayed (--since/--until, filters,
# formats) and followed; image, volume and network events beside the
# containers'. GET /events (berth serve) reads the same log: serve.bats.
# check-cgroupv2: not needed (the log is a file; the host runs these)

# shellcheck disable=SC2154
load helpers
load manager

setup_file() {
	make_busybox_image
}

setup() {
	manager_setup
	container_setup
	load_busybox
}

teardown() {
	if [ -n "${FOLLOWER:-}" ]; then
		kill "$FOLLOWER" 2>/dev/null || true
		wait "$FOLLOWER" 2>/dev/null || true
	fi
	container_teardown
}

@test "berth events: a container's life and image, volume and network events, replayed from --since, filtered" {
	local start
	start=$(date +%s)
	berth run --rm --name ev --network none localhost/busybox true
	berth tag localhost/busybox localhost/evimg:v2
	berth rmi localhost/evimg:v2 >/dev/null
	berth volume create evvol >/dev/null
	berth volume rm evvol >/dev/null
	berth network create evnet >/dev/null
	berth network rm evnet >/dev/null
	run berth events --stream=false --since "$start" --filter container=ev --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'
	assert_success
	assert_output "container create ev
container start ev
container die ev
container destroy ev"
	run berth events --stream=false --since "$start" --filter type=image --filter type=volume --format '{{.Type}} {{.Action}} {{.Actor.ID}}'
	assert_success
	local img
	img=$(berth image inspect localhost/busybox | jq -r '.[0].Id')
	assert_output "image tag sha256:$img
image untag sha256:$img
volume create evvol
volume destroy evvol"
	run berth events --stream=false --since "$start" --filter network=evnet --format '{{.Action}} {{.Actor.Attributes.name}}'
	assert_success
	assert_output "create evnet
destroy evnet"
	# Filters of two keys: both must match.
	run berth events --stream=false --since "$start" --filter type=container --filter event=die --format '{{.Action}} {{.Actor.Attributes.exitCode}}'
	assert_success
	assert_output "die 0"
	# docker's line: time, type, action, id, (attributes).
	run berth events --stream=false --since "$start" --filter event=create --filter type=container
	assert_success
	[[ $output =~ ^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z\ container\ create\ [0-9a-f]{64}\ \(.*name=ev.*\)$ ]] ||
		fail "not docker's event line:" "$output"
	# JSON: docker's message.
	run berth events --stream=false --since "$start" --filter type=volume --format json
	assert_success
	assert_equal "$(printf '%s\n' "$output" | jq -r '[.Type, .Action, .Actor.ID, .Actor.Attributes.driver, (.timeNano > 0)] | @tsv' | head -1)" \
		"$(printf 'volume\tcreate\tevvol\tlocal\ttrue')"
	# --until before them: nothing; a --since in the future: nothing.
	run berth events --stream=false --since 10m --until "$((start - 1))"
	assert_success
	assert_output ""
	run berth events --stream=false --since "$((start + 3600))"
	assert_success
	assert_output ""
	# RFC 3339 and durations.
	run berth events --stream=false --since "$(date -u -d "@$start" +%Y-%m-%dT%H:%M:%SZ)" --filter type=volume --format '{{.Action}}'
	assert_success
	assert_output "create
destroy"
	run berth events --stream=false --since 1h --filter type=volume --format '{{.Action}}'
	assert_success
	assert_output "create
destroy"
}

@test "berth events: follows what other berth commands do until --until passes" {
	berth run -d --name follow --network none localhost/busybox sleep 1000 >/dev/null
	"$BERTH" --root "$ROOT" --runroot "$RUNROOT" events --filter event=pause --filter event=unpause --format '{{.Action}} {{.Actor.Attributes.name}}' >"$BATS_TEST_TMPDIR/ev.out" 2>&1 &
	FOLLOWER=$!
	sleep 0.3
	berth pause follow
	berth unpause follow
	local i
	for i in $(seq 50); do grep -q "unpause follow" "$BATS_TEST_TMPDIR/ev.out" && break; sleep 0.1; done
	assert_equal "$(cat "$BATS_TEST_TMPDIR/ev.out")" "pause follow
unpause follow"
	kill "$FOLLOWER"
	wait "$FOLLOWER" || true
	FOLLOWER=
	# --until in the near future: it follows, then ends by itself.
	run timeout 10 "$BERTH" --root "$ROOT" --runroot "$RUNROOT" events --until "$(($(date +%s) + 1))"
	assert_success
	berth rm -f follow >/dev/null
}

@test "berth events: bad --since, --until, --filter, --format and arguments are one-line errors" {
	run berth events --since yesterday
	assert_failure 125
	assert_output "berth: events: --since: invalid time 'yesterday' (want unix seconds, RFC 3339 or a duration such as 10m)"
	run berth events --until 12q
	assert_failure 125
	assert_output_contains "--until: invalid time '12q'"
	run berth events --filter colour=red
	assert_failure 125
	assert_output "berth: events: --filter colour=red: invalid filter 'colour' (want type, event, container, image, volume or network)"
	run berth events --filter type
	assert_failure 125
	assert_output "berth: events: --filter type: want KEY=VALUE"
	run berth events extra
	assert_failure 125
	assert_output "berth: events: unexpected argument: extra"
	berth run --rm --network none localhost/busybox true
	run berth events --stream=false --since 1m --format '{{.Nope}}'
	assert_failure 125
	assert_output_contains '".Nope": no such field'
}

@test "berth events: a root that never ran a container has no log; events and image commands make no run root" {
	local root=$BATS_TEST_TMPDIR/fresh runroot=$BATS_TEST_TMPDIR/fresh-run
	"$BERTH" --root "$root" --runroot "$runroot" load -i "$IMAGE" >/dev/null
	"$BERTH" --root "$root" --runroot "$runroot" tag localhost/busybox localhost/x:1
	run "$BERTH" --root "$root" --runroot "$runroot" events --stream=false --since 1h
	assert_success
	assert_output ""
	[ ! -e "$runroot" ] || fail "a run root was made: $runroot"
	rm -rf "$root"
}
