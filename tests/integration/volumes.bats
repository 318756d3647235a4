#!/usr/bin/env bats
# berth volume create, ls, inspect, rm, prune. Every test has its own --root.
# Volumes in containers (sharing, copy-up, host dirs) are in the container
# tests; the in-use refusal is a unit test (volume_store_test.cpp).
# check-cgroupv2: not needed (no cgroup is involved; the host runs these)

# shellcheck disable=SC2154
load helpers
load manager

setup() {
	manager_setup
}

# Nothing of a volume is left under $ROOT, and nothing mounted under it.
assert_no_volumes() {
	local left
	left=$(find "$ROOT/volumes" -mindepth 1 2>/dev/null || true)
	[ -z "$left" ] || fail "left under $ROOT/volumes:" "$left"
	if grep -F " $ROOT/" /proc/self/mountinfo; then fail "mounts left under $ROOT"; fi
	assert_root_empty
}

teardown() {
	assert_no_volumes
}

@test "volume create: a named volume, listed, inspected like docker's, removed" {
	run berth volume create data
	assert_success
	assert_output "data"
	[ -d "$ROOT/volumes/data/_data" ] || fail "no $ROOT/volumes/data/_data"
	run berth volume ls
	assert_success
	assert_output "DRIVER    VOLUME NAME
local     data"
	run berth volume inspect data
	assert_success
	[ "$(jq -r '.[0].Name' <<<"$output")" = data ]
	[ "$(jq -r '.[0].Driver' <<<"$output")" = local ]
	[ "$(jq -r '.[0].Scope' <<<"$output")" = local ]
	[ "$(jq -r '.[0].Mountpoint' <<<"$output")" = "$ROOT/volumes/data/_data" ]
	[ "$(jq -r '.[0].Labels' <<<"$output")" = "{}" ]
	[ "$(jq -r '.[0].Options' <<<"$output")" = "{}" ]
	[[ $(jq -r '.[0].CreatedAt' <<<"$output") == 20*Z ]] || fail "CreatedAt: $output"
	run berth volume rm data
	assert_success
	assert_output "data"
	run berth volume ls -q
	assert_success
	assert_output ""
}

@test "volume create: without a name, a random 64-hex name" {
	run berth volume create
	assert_success
	[[ $output =~ ^[0-9a-f]{64}$ ]] || fail "name: $output"
	local name=$output
	run berth volume ls -q
	assert_output "$name"
	berth volume rm "$name" >/dev/null
}

@test "volume create: an existing name is an error, the volume stays as it was" {
	berth volume create -l a=1 data >/dev/null
	run berth volume create -l a=2 data
	assert_failure 125
	assert_output "berth: volume data already exists"
	run berth volume inspect data
	[ "$(jq -r '.[0].Labels.a' <<<"$output")" = 1 ]
	berth volume rm data >/dev/null
}

@test "volume create: a bad name is an error, nothing is created" {
	local name
	for name in a/b -ab .ab a "a b" ../x; do
		run berth volume create -- "$name"
		assert_failure 125
		assert_output "berth: invalid volume name \"$name\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, two characters at least"
	done
	[ ! -e "$ROOT" ] || [ -z "$(ls -A "$ROOT")" ] || fail "left in $ROOT: $(ls -A "$ROOT")"
}

@test "volume create: a driver other than local, bad -o options, are errors naming them" {
	run berth volume create --driver nfs data
	assert_failure 125
	assert_output 'berth: volume driver "nfs" is not supported (only "local")'
	run berth volume create -o foo=bar data
	assert_failure 125
	assert_output 'berth: invalid volume option key: "foo"'
	run berth volume create -o novalue data
	assert_failure 125
	assert_output 'berth: --opt "novalue": want KEY=VALUE'
	run berth volume create -o type=tmpfs data
	assert_failure 125
	assert_output 'berth: volume option type=tmpfs needs device'
	run berth volume create -o type=ext4 -o device=/dev/null data
	assert_failure 125
	assert_output 'berth: volume option type=ext4 is not supported (tmpfs or none)'
	run berth volume create -o type=none -o device=/nonexistent-berth -o o=bind data
	assert_failure 125
	assert_output 'berth: volume option device=/nonexistent-berth: No such file or directory'
	run berth volume create -o type=none -o device="$BATS_TEST_TMPDIR" data
	assert_failure 125
	assert_output 'berth: volume option type=none needs o=bind'
	run berth volume ls -q
	assert_output ""
}

@test "volume create: tmpfs and bind options and labels are kept, inspect shows them" {
	run berth volume create -o type=tmpfs -o device=tmpfs -o o=size=64m,mode=700 -l app=web -l tier data
	assert_success
	run berth volume inspect data
	assert_success
	[ "$(jq -c '.[0].Options' <<<"$output")" = '{"device":"tmpfs","o":"size=64m,mode=700","type":"tmpfs"}' ]
	[ "$(jq -c '.[0].Labels' <<<"$output")" = '{"app":"web","tier":""}' ]
	mkdir "$BATS_TEST_TMPDIR/host"
	run berth volume create -o type=none -o o=bind -o device="$BATS_TEST_TMPDIR/host" hostdir
	assert_success
	run berth volume inspect hostdir
	[ "$(jq -r '.[0].Options.device' <<<"$output")" = "$BATS_TEST_TMPDIR/host" ]
	# Not mounted until a container uses them.
	if grep -F " $ROOT/volumes/" /proc/self/mountinfo; then fail "mounted before use"; fi
	berth volume rm data hostdir >/dev/null
	[ -d "$BATS_TEST_TMPDIR/host" ] || fail "rm removed the bind device"
}

@test "volume ls: -q, --format json, filters name, label, driver, dangling" {
	berth volume create -l app=web web1 >/dev/null
	berth volume create -l app=db db1 >/dev/null
	run berth volume ls -q
	assert_output "db1
web1"
	run berth volume ls -q -f name=web
	assert_output "web1"
	run berth volume ls -q --filter label=app=db
	assert_output "db1"
	run berth volume ls -q --filter label=app
	assert_output "db1
web1"
	run berth volume ls -q --filter driver=local -f dangling=true
	assert_output "db1
web1"
	run berth volume ls -q -f dangling=false
	assert_output ""
	run berth volume ls --format json -f name=db
	assert_success
	[ "$(jq -r .Name <<<"$output")" = db1 ]
	[ "$(jq -r .Mountpoint <<<"$output")" = "$ROOT/volumes/db1/_data" ]
	[ "$(jq -r .Labels.app <<<"$output")" = db ]
	run berth volume ls -f bogus=1
	assert_failure 125
	assert_output 'berth: --filter "bogus": unknown filter (dangling, name, driver, label)'
	run berth volume ls --format yaml
	assert_failure 125
	assert_output 'berth: volume ls: unsupported --format "yaml" (table or json)'
	berth volume rm web1 db1 >/dev/null
}

@test "volume rm: a missing volume is an error, -f makes it none; the others are still removed" {
	berth volume create data >/dev/null
	run berth volume rm nope data
	assert_failure 125
	assert_output "berth: no such volume: nope
data"
	run berth volume rm -f nope
	assert_success
	run berth volume inspect data
	assert_failure 125
	assert_output_contains "berth: no such volume: data"
}

@test "volume prune: unused anonymous volumes only, named ones with -a; asks without -f" {
	berth volume create keep >/dev/null
	run berth volume prune -f
	assert_success
	assert_output ""
	run berth volume ls -q
	assert_output "keep"
	# Without -f it asks; anything but yes keeps everything.
	run bash -c "echo n | '$BERTH' --root '$ROOT' volume prune -a"
	assert_success
	run berth volume ls -q
	assert_output "keep"
	run bash -c "echo y | '$BERTH' --root '$ROOT' volume prune -a"
	assert_success
	assert_output_contains "Are you sure you want to continue?" "keep"
	run berth volume ls -q
	assert_output ""
}

@test "volume: an unknown subcommand or a missing one is a usage error" {
	run berth volume
	assert_failure 125
	assert_output "berth: volume: give a subcommand (create, ls, inspect, rm, prune)"
	run berth volume frob
	assert_failure 125
	assert_output "berth: volume: unknown subcommand: frob"
	run berth volume inspect
	assert_failure 125
	assert_output "berth: volume inspect: give one or more volume names"
}
