#!/usr/bin/env bats
# process.terminal: foreground run proxies the pty (as runc does), create
# without --console-socket is refused, and the process has a controlling tty.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

@test "terminal: foreground run gives the process a tty and copies its output" {
	update_config '.process.terminal = true'
	set_cmd 'tty; test -t 0 && echo stdin-is-a-tty; test -c /dev/console && echo console-is-a-tty'
	run runtime run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_contains /dev/pts/0 stdin-is-a-tty console-is-a-tty
}

@test "terminal: input reaches the process through the pty" {
	update_config '.process.terminal = true'
	set_cmd 'read line; echo "got:$line"'
	run bash -c 'echo hello | "$0" --root "$1" run --bundle "$2" "$3"' "$RUNTIME" "$ROOT" "$BUNDLE" "$ID"
	assert_success
	assert_output_contains got:hello
}

@test "terminal: consoleSize sets the window size" {
	update_config '.process.terminal = true | .process.consoleSize = {"height": 33, "width": 101}'
	set_args stty size
	run bash -c '"$0" --root "$1" run --bundle "$2" "$3" </dev/null' "$RUNTIME" "$ROOT" "$BUNDLE" "$ID"
	assert_success
	assert_output_contains "33 101"
}

@test "terminal: create without --console-socket is refused and leaves nothing" {
	update_config '.process.terminal = true'
	run runtime create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains "console socket"
	assert_no_leftovers
}
