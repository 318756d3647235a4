#!/usr/bin/env bats
# exec: a new process in a running container, with runc's flags.

load helpers

setup() {
	common_setup
	update_config '.hostname = "exec-box"'
	set_args sleep 1000
}
teardown() { common_teardown; }

@test "exec: runs in the container's namespaces, cgroup and root" {
	run_container_detached
	run runtime exec "$ID" sh -c 'hostname; echo pid=$$; cat /proc/1/cmdline | tr "\0" " "; ls /bin/busybox'
	assert_success
	assert_output_contains exec-box "sleep 1000" /bin/busybox
	assert_output_not_contains "pid=1"
	# run_detached: the process keeps its stdout, which `run` would wait on
	# for 100 s (and then read the pid of a process that is gone).
	run_detached runtime exec -d --pid-file "$BATS_TEST_TMPDIR/exec.pid" "$ID" sleep 100
	assert_success
	pid=$(cat "$BATS_TEST_TMPDIR/exec.pid")
	grep -q "$ID" "/proc/$pid/cgroup" || fail "exec'd process is not in the container's cgroup:" "$(cat /proc/$pid/cgroup)"
}

@test "exec: the process's exit code becomes exec's" {
	run_container_detached
	run runtime exec "$ID" sh -c 'exit 42'
	assert_equal "$status" 42
	run runtime exec "$ID" sh -c 'kill -9 $$'
	assert_equal "$status" 137
}

@test "exec: --env, --cwd, --user and --additional-gids" {
	run_container_detached
	run runtime exec --env FOO=bar -e BAZ=qux --cwd /tmp --user 1000:1001 -g 5 -g 7 "$ID" \
		sh -c 'echo $FOO $BAZ; pwd; id'
	assert_success
	assert_output_contains "bar qux" /tmp "uid=1000 gid=1001" "groups=5,7"
}

@test "exec: the container's env is inherited" {
	update_config '.process.env += ["FROM_SPEC=yes"]'
	run_container_detached
	run runtime exec "$ID" sh -c 'echo $FROM_SPEC'
	assert_success
	assert_output yes
}

@test "exec: --cap adds a capability, --no-new-privs sets NoNewPrivs" {
	update_config '.process.noNewPrivileges = false'
	run_container_detached
	run runtime exec "$ID" grep -E '^(CapEff|NoNewPrivs)' /proc/self/status
	assert_output_contains "NoNewPrivs:	0"
	base=$(awk '/^CapEff/ {print $2}' <<<"$output")
	run runtime exec --cap CAP_SYS_ADMIN --no-new-privs "$ID" grep -E '^(CapEff|NoNewPrivs)' /proc/self/status
	assert_output_contains "NoNewPrivs:	1"
	with=$(awk '/^CapEff/ {print $2}' <<<"$output")
	# CAP_SYS_ADMIN is bit 21.
	(( (0x$with & (1 << 21)) != 0 && (0x$base & (1 << 21)) == 0 )) || fail "CapEff $base -> $with"
}

@test "exec: --tty gives the process a terminal, proxied in the foreground" {
	run_container_detached
	run bash -c 'echo typed | "$0" --root "$1" exec -t "$2" sh -c "read x; echo got:\$x; tty"' "$RUNTIME" "$ROOT" "$ID"
	assert_success
	assert_output_contains got:typed /dev/pts/
}

@test "exec: --process reads the process from a file" {
	run_container_detached
	cat >"$BATS_TEST_TMPDIR/process.json" <<-'JSON'
		{"args": ["sh", "-c", "echo from-file $X; id -u"], "cwd": "/", "env": ["X=1", "PATH=/bin"],
		 "user": {"uid": 65534, "gid": 65534}}
	JSON
	run runtime exec --process "$BATS_TEST_TMPDIR/process.json" "$ID"
	assert_success
	assert_output $'from-file 1\n65534'
}

@test "exec: --process with a bad field names the file and the field" {
	run_container_detached
	echo '{"args": "sh", "cwd": "/"}' >"$BATS_TEST_TMPDIR/bad.json"
	run runtime exec --process "$BATS_TEST_TMPDIR/bad.json" "$ID"
	assert_failure
	assert_output_contains bad.json process.args
}

@test "exec: a missing executable fails with runc's message and leaves no process" {
	run_container_detached
	run runtime exec "$ID" /nope
	assert_failure
	assert_output_contains '"/nope"' "no such file"
	run runtime ps --format json "$ID"
	assert_equal "$(jq length <<<"$output")" 1
}

@test "exec: the container's seccomp profile applies to exec'd processes" {
	update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}'
	run_container_detached
	run runtime exec "$ID" sh -c 'mkdir /dev/shm/x; echo rc=$?'
	assert_output_contains "rc=1"
}

@test "exec: --preserve-fds passes extra fds" {
	run_container_detached
	run bash -c 'exec 3<<<"from-fd-3"; "$0" --root "$1" exec --preserve-fds 1 "$2" cat /proc/self/fd/3' "$RUNTIME" "$ROOT" "$ID"
	assert_success
	assert_output from-fd-3
}

@test "exec: a stopped container refuses exec" {
	set_args true
	run_container_detached
	wait_for_status stopped
	run runtime exec "$ID" true
	assert_failure
	assert_output_contains stopped
}

@test "exec: a paused container refuses exec without --ignore-paused" {
	run_container_detached
	runtime pause "$ID"
	run runtime exec "$ID" true
	assert_failure
	assert_output_contains paused --ignore-paused
	runtime resume "$ID"
}

@test "exec: into a container with a user namespace" {
	add_userns 100000
	run_container_detached
	run runtime exec "$ID" sh -c 'id -u; cat /proc/self/uid_map'
	assert_success
	assert_output_contains 0 100000
}

@test "exec: an unknown id fails" {
	run runtime exec "nope-$ID" true
	assert_failure
	assert_output_contains "nope-$ID"
}

# cgroup_dirs PID: the host directory of PID's cgroup in every hierarchy,
# one per line ("HIERARCHY-ID DIR").
cgroup_dirs() {
	local n ctrls rel mnt
	while IFS=: read -r n ctrls rel; do
		if [ "$n" = 0 ]; then
			mnt=$(_cgroup_mounts | awk '$1 == "cgroup2" { print $2; exit }')
		else
			mnt=$(_cgroup_mounts | awk -v c="$ctrls" '$1 == "cgroup" {
				n = split($3, o, ","); m = split(c, w, ","); hit = 0
				for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) if (o[i] == w[j]) hit++
				if (hit == m) { print $2; exit } }')
		fi
		[ -n "$mnt" ] && echo "$n $mnt$rel"
	done <"/proc/$1/cgroup"
}

@test "exec: --cgroup runs the process in an existing sub-cgroup; delete removes sub-cgroups" {
	run_container_detached
	pid=$(container_pid)
	while read -r _ dir; do
		mkdir "$dir/sub"
		# A v1 cpuset cgroup takes no task until it has cpus and mems (on
		# v2 the sub-cgroup has no cpuset files unless the parent enables it).
		if [ -f "$dir/sub/cpuset.cpus" ] && [ -z "$(cat "$dir/sub/cpuset.cpus")" ]; then
			cat "$dir/cpuset.cpus" >"$dir/sub/cpuset.cpus"
			cat "$dir/cpuset.mems" >"$dir/sub/cpuset.mems"
		fi
	done < <(cgroup_dirs "$pid")
	run_detached runtime exec -d --pid-file "$BATS_TEST_TMPDIR/exec.pid" --cgroup sub "$ID" sleep 100
	assert_success
	epid=$(cat "$BATS_TEST_TMPDIR/exec.pid")
	# In the container's sub-cgroup in every hierarchy.
	while IFS=: read -r _ _ rel; do
		[[ $rel == */$ID/sub ]] || fail "exec'd process not in sub:" "$(cat /proc/$epid/cgroup)"
	done <"/proc/$epid/cgroup"
	run runtime ps --format json "$ID"
	assert_output_contains "$epid"
	# delete --force kills the process in the sub-cgroup and removes it.
	mapfile -t dirs < <(cgroup_dirs "$pid" | cut -d' ' -f2)
	[ "${#dirs[@]}" -gt 0 ] || fail "no cgroup dirs found for pid $pid"
	runtime delete --force "$ID"
	for dir in "${dirs[@]}"; do
		[ ! -d "$dir" ] || fail "cgroup left: $dir"
	done
	[ ! -d "/proc/$epid" ] || [ "$(awk '{print $3}' "/proc/$epid/stat")" = Z ] || fail "the exec'd process survived delete"
}

@test "exec: --cgroup CONTROLLER:PATH only moves the named hierarchy; a missing sub-cgroup is an error" {
	skip_if_runc "runc 1.1.5 has no exec --cgroup"
	run_container_detached
	pid=$(container_pid)
	run runtime exec --cgroup nosuch "$ID" true
	assert_failure
	assert_output_contains "--cgroup: sub-cgroup" "/nosuch"
	run runtime exec --cgroup "../escape" "$ID" true
	assert_failure
	assert_output_contains '--cgroup "../escape"'
	ctrl=pids
	grep -q '^[0-9]*:[^:]*\bpids\b' "/proc/$pid/cgroup" || skip "no v1 pids hierarchy (pure cgroup v2)"
	dir=$(cgroup_file "$pid" pids "" "")
	mkdir "${dir%/}/psub"
	run runtime exec --cgroup "pids:psub" "$ID" cat /proc/self/cgroup
	assert_success
	assert_output_contains "pids:/psub"
	run runtime exec --cgroup "nosuchcontroller:psub" "$ID" true
	assert_failure
	assert_output_contains 'no cgroup hierarchy for controller "nosuchcontroller"'
}

@test "run and exec: the process ignores no signal, even when the runtime's caller ignored some (as runc)" {
	# A shell's background job starts with SIGINT and SIGQUIT ignored, nohup
	# ignores SIGHUP, and some CI runners ignore everything, glibc's internal
	# 32 and 33 included; ignored actions survive execve.
	local ignore_all="$BERTH_BUILDDIR/tests/helpers/capprobe"
	run bash -c '"$1" ignore-all cat /proc/self/status | grep SigIgn' _ "$ignore_all"
	assert_output "SigIgn:	fffffffffffbfeff" # the helper works: all but KILL and STOP
	set_args grep SigIgn /proc/self/status
	run "$ignore_all" ignore-all "$RUNTIME" --root "$ROOT" run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output "SigIgn:	0000000000000000"
	runtime delete --force "$ID" 2>/dev/null || true
	set_args sleep 1000
	run_container_detached
	run "$ignore_all" ignore-all "$RUNTIME" --root "$ROOT" exec "$ID" grep SigIgn /proc/self/status
	assert_success
	assert_output "SigIgn:	0000000000000000"
}
