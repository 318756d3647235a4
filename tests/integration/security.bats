#!/usr/bin/env bats
# Attacks on the runtime itself: each must fail here, and would succeed on a
# runtime without the matching defence.

load helpers

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
