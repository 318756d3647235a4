#!/usr/bin/env bats
# berth serve: the Docker Engine API on a unix socket, driven by the real
# docker CLI (DOCKER_HOST=unix://...): version negotiation, pull from a
# registry on 127.0.0.1, run with its output and exit codes (0, the
# command's, 125, 126, 127), run -d with a published port, logs, ps showing
# what `berth run` started, exec, stop, kill, rm -f, images, tag, rmi; bad
# requests answered with docker's statuses; the socket is root's only; and
# stopping the server stops no container. Each test has its own root,
# runroot, socket and network namespace; teardown stops the server by PID.
# check-cgroupv2: not needed (the API is plain manager code; the host runs these)

# shellcheck disable=SC2154
load helpers
load manager
load registry

setup_file() {
	make_busybox_image
}

setup() {
	command -v docker >/dev/null || skip "no docker CLI (tools/install-deps installs docker.io)"
	manager_setup
	export DOCKER_CONFIG=$BATS_TEST_TMPDIR/docker-config
	SERVE_PID=
}

teardown() {
	[ -z "${TMUX_SOCK:-}" ] || tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true
	stop_serve
	stop_registry
	[ -z "${RUNROOT:-}" ] || container_teardown
}

# start_serve [FLAGS...]: berth serve on $SOCK (in the test's namespace),
# once it answers /_ping. The socket is beside the run root, in /run (0755),
# so only its own mode keeps other users out.
start_serve() {
	SOCK=$RUNROOT.docker.sock
	export DOCKER_HOST=unix://$SOCK
	$BERTH_NS "$BERTH" --root "$ROOT" --runroot "$RUNROOT" serve --host "unix://$SOCK" "$@" \
		2>"$BATS_TEST_TMPDIR/serve.log" &
	SERVE_PID=$!
	local i
	for i in $(seq 100); do
		[ "$(curl -s --unix-socket "$SOCK" http://d/_ping 2>/dev/null)" = OK ] && return 0
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.05
	done
	fail "berth serve did not answer:" "$(cat "$BATS_TEST_TMPDIR/serve.log")"
}

# stop_serve: TERM, and its connection processes are gone with it.
stop_serve() {
	[ -n "${SERVE_PID:-}" ] || return 0
	local kids
	kids=$(pgrep -P "$SERVE_PID" || true)
	kill "$SERVE_PID" 2>/dev/null || true
	wait "$SERVE_PID" 2>/dev/null || true
	SERVE_PID=
	local p
	for p in $kids; do
		if kill -0 "$p" 2>/dev/null; then
			kill -KILL "$p" 2>/dev/null || true
			fail "a connection process of berth serve outlived it: $p"
		fi
	done
	[ ! -e "$SOCK" ] || fail "the socket $SOCK is left"
}

# api METHOD PATH [CURL-ARGS...]: the status line's code, then the body.
api() {
	local method=$1 path=$2
	shift 2
	curl -s --unix-socket "$SOCK" -X "$method" -w '\n%{http_code}' "$@" "http://d$path"
}

@test "serve: docker version and info speak to berth through API 1.41" {
	container_setup
	start_serve
	run docker version --format '{{.Server.Platform.Name}} {{.Server.APIVersion}} {{.Client.APIVersion}}'
	assert_success
	assert_output "Berth 1.41 1.41"
	load_busybox
	run docker info --format '{{.Images}} {{.Containers}} {{.OSType}} {{.DockerRootDir}}'
	assert_success
	assert_output "1 0 linux $ROOT"
	# A version above ours is refused with docker's words.
	run api GET /v1.99/version
	assert_equal "${lines[-1]}" 400
	assert_output_contains "client version 1.99 is too new. Maximum supported API version is 1.41"
}

@test "serve: docker run --rm prints the output, exits with the command's code and leaves nothing" {
	container_setup
	load_busybox
	start_serve
	run docker run --rm localhost/busybox echo hi
	assert_success
	assert_output "hi"
	run --separate-stderr docker run --rm --network none localhost/busybox sh -c 'echo out; echo err >&2; exit 3'
	assert_equal "$status" 3
	assert_equal "$output" "out"
	assert_equal "$stderr" "err"
	run docker ps -aq
	assert_output ""
	run berth ps -aq
	assert_output ""
}

@test "serve: docker run exits 127, 126 and 125 as with dockerd, and leaves nothing" {
	container_setup
	load_busybox
	start_serve
	run docker run --rm --network none localhost/busybox nosuchcmd
	assert_equal "$status" 127
	assert_output_contains "executable file not found"
	run docker run --rm --network none localhost/busybox /etc/passwd
	assert_equal "$status" 126
	assert_output_contains "permission denied"
	# The server refuses the create: the CLI's 125, the message from berth.
	run docker run --rm --network none --user nosuchuser localhost/busybox true
	assert_equal "$status" 125
	assert_output_contains "nosuchuser"
	run docker run --rm --network none localhost/nosuchimage true
	assert_equal "$status" 125
	assert_output_contains "localhost/nosuchimage"
	run berth ps -aq
	assert_output ""
}

@test "serve: docker run -d -p serves HTTP on 127.0.0.1; logs, inspect, stop, rm" {
	container_setup
	load_busybox
	start_serve
	local port id
	port=$(free_port)
	run docker run -d --name web -p "127.0.0.1:$port:80" localhost/busybox \
		sh -c 'mkdir -p /www && echo served >/www/index.html && httpd -p 80 -h /www && echo ready && exec sleep 1000'
	assert_success
	id=$output
	[[ $id =~ ^[0-9a-f]{64}$ ]] || fail "not an id: $id"
	wait_for_log web ready
	run in_netns curl -s "http://127.0.0.1:$port/"
	assert_success
	assert_output "served"
	run docker logs web
	assert_output "ready"
	run docker inspect --format '{{.State.Running}} {{.Name}} {{.Id}}' web
	assert_output "true /web $id"
	run docker ps --format '{{.Names}} {{.Ports}}'
	assert_output_contains "web"
	assert_output_contains "127.0.0.1:$port->80/tcp"
	run docker stop -t 1 web
	assert_success
	run docker inspect --format '{{.State.Status}}' web
	assert_output "exited"
	run docker rm web
	assert_success
	run berth ps -aq
	assert_output ""
}

@test "serve: docker logs -f follows until the container exits; a client gone mid-stream leaves no process" {
	container_setup
	load_busybox
	start_serve
	docker run -d --name talker --network none localhost/busybox \
		sh -c 'echo one; sleep 1; echo two >&2; echo three' >/dev/null
	run --separate-stderr docker logs -f talker
	assert_success
	assert_equal "$output" "one"$'\n'"three"
	assert_equal "$stderr" "two"
	docker run -d --name sleeper --network none localhost/busybox sh -c 'echo tick; exec sleep 1000' >/dev/null
	wait_for_log sleeper tick
	timeout -s KILL 1 docker logs -f sleeper >/dev/null 2>&1 || true
	# The connection's process notices the client is gone.
	local i kids
	for i in $(seq 50); do
		kids=$(pgrep -P "$SERVE_PID" || true)
		[ -z "$kids" ] && break
		sleep 0.1
	done
	[ -z "$kids" ] || fail "connection processes left after the client went: $kids"
}

@test "serve: attach with logs=1 replays the log first, in docker's frames; stream=0 ends after it" {
	container_setup
	load_busybox
	start_serve
	docker run -d --name said --network none localhost/busybox sh -c 'echo early; echo oops >&2; exec sleep 1000' >/dev/null
	wait_for_log said oops
	# Frames: stream byte, three zeros, a 4-byte big-endian length, the text.
	curl -s --unix-socket "$SOCK" -X POST "http://d/v1.41/containers/said/attach?logs=1&stream=0&stdout=1&stderr=1" \
		-o "$BATS_TEST_TMPDIR/frames"
	assert_equal "$(od -An -tx1 -v "$BATS_TEST_TMPDIR/frames" | tr -s ' \n' ' ')" \
		" 01 00 00 00 00 00 00 06 65 61 72 6c 79 0a 02 00 00 00 00 00 00 05 6f 6f 70 73 0a "
	# stdout only.
	curl -s --unix-socket "$SOCK" -X POST "http://d/v1.41/containers/said/attach?logs=1&stream=0&stdout=1" \
		-o "$BATS_TEST_TMPDIR/frames"
	assert_equal "$(tail -c +9 "$BATS_TEST_TMPDIR/frames")" "early"
	# A terminal: the raw bytes.
	docker run -dt --name saidtty --network none localhost/busybox sh -c 'echo tty-early; exec sleep 1000' >/dev/null
	wait_for_log saidtty tty-early
	run curl -s --unix-socket "$SOCK" -X POST "http://d/v1.41/containers/saidtty/attach?logs=1&stream=0&stdout=1"
	assert_success
	assert_equal "$output" $'tty-early\r'
}

@test "serve: docker exec runs in the container with its output, stdin, user, env, workdir and exit code" {
	container_setup
	load_busybox
	start_serve
	docker run -d --name box --network none localhost/busybox sleep 1000 >/dev/null
	run docker exec box echo hi
	assert_success
	assert_output "hi"
	run --separate-stderr docker exec box sh -c 'echo out; echo err >&2; exit 5'
	assert_equal "$status" 5
	assert_equal "$output" "out"
	assert_equal "$stderr" "err"
	run docker exec -u nobody -e GREETING=hello -w /tmp box sh -c 'echo $(id -u) $GREETING $(pwd)'
	assert_output "65534 hello /tmp"
	run bash -c 'printf "line1\nline2\n" | docker exec -i box wc -l'
	assert_output "2"
	run docker exec -d box touch /tmp/detached
	assert_success
	local i
	for i in $(seq 50); do berth exec box test -e /tmp/detached && break; sleep 0.1; done
	run berth exec box test -e /tmp/detached
	assert_success
	berth stop -t 1 box >/dev/null
	run docker exec box true
	assert_failure
	assert_output_contains "is not running"
}

# resize_until_seen COLS ROWS: the tmux window resized, the shell in it asked
# for its terminal's size until it says ROWSxCOLS (the resize reaches the
# pty through the API a moment later).
resize_until_seen() {
	tmux -L "$TMUX_SOCK" resize-window -x "$1" -y "$2"
	local i
	for i in $(seq 30); do
		tmux -L "$TMUX_SOCK" send-keys 'echo size-$(stty size | tr " " x)' Enter
		[[ $(tmux -L "$TMUX_SOCK" capture-pane -p) == *"size-$2x$1"* ]] && return 0
		sleep 0.2
	done
	screen_shows "size-$2x$1"
}

@test "serve: docker run -it and docker exec -it on a terminal (tmux): type a command, read the screen, the size follows" {
	container_setup
	load_busybox
	start_serve
	TMUX_SOCK=berth-$$-$BATS_TEST_NUMBER
	local rcfile=$BATS_TEST_TMPDIR/rc
	tmux -L "$TMUX_SOCK" new-session -d -x 100 -y 30 \
		"DOCKER_HOST=$DOCKER_HOST DOCKER_CONFIG=$DOCKER_CONFIG docker run -it --name tty --network none localhost/busybox sh; echo \$? > $rcfile; sleep 30"
	screen_shows "/ #"
	tmux -L "$TMUX_SOCK" send-keys 'echo $((6*7)) on $(tty) $(stty size)' Enter
	screen_shows "42 on /dev/pts/0 30 100"
	resize_until_seen 90 25
	tmux -L "$TMUX_SOCK" send-keys 'exit 7' Enter
	assert_equal "$(exit_code_in "$rcfile")" "7"
	tmux -L "$TMUX_SOCK" kill-server
	rm -f "$rcfile"
	docker run -d --name exi --network none localhost/busybox sleep 1000 >/dev/null
	tmux -L "$TMUX_SOCK" new-session -d -x 100 -y 30 \
		"DOCKER_HOST=$DOCKER_HOST DOCKER_CONFIG=$DOCKER_CONFIG docker exec -it exi sh; echo \$? > $rcfile; sleep 30"
	tmux -L "$TMUX_SOCK" send-keys 'echo in-$((2+3)) $(tty | cut -c1-9) size-$(stty size | tr " " x)' Enter
	screen_shows "in-5 /dev/pts/ size-30x100"
	# The terminal grows: the CLI sends /exec/ID/resize, the exec's pty follows.
	resize_until_seen 120 40
	tmux -L "$TMUX_SOCK" send-keys 'exit 4' Enter
	assert_equal "$(exit_code_in "$rcfile")" "4"
}

@test "serve: docker volume create, ls, inspect, rm, prune; a volume in use is refused; berth sees the same" {
	container_setup
	load_busybox
	start_serve
	run docker volume create --label team=a data
	assert_success
	assert_output "data"
	run berth volume ls -q
	assert_output_contains "data"
	run docker volume inspect --format '{{.Name}} {{.Driver}} {{index .Labels "team"}} {{.Mountpoint}}' data
	assert_output "data local a $ROOT/volumes/data/_data"
	run docker volume ls --format '{{.Name}}' --filter label=team=a
	assert_output "data"
	run docker run --rm --network none -v data:/d localhost/busybox sh -c 'echo kept >/d/f'
	assert_success
	[ "$(cat "$ROOT/volumes/data/_data/f")" = kept ] || fail "the write did not land in the volume"
	docker run -d --name user --network none -v data:/d localhost/busybox sleep 1000 >/dev/null
	run docker volume rm data
	assert_failure
	assert_output_contains "in use"
	docker rm -f user >/dev/null
	berth volume create spare >/dev/null
	run docker volume prune -f
	assert_success
	run berth volume ls -q
	assert_output ""
	run docker volume inspect data
	assert_failure
	assert_output_contains "no such volume"
}

@test "serve: docker network create, ls, inspect, connect, disconnect, rm, prune; names resolve on it" {
	container_setup
	load_busybox
	start_serve
	run docker network create --subnet 10.77.5.0/24 --label team=a apinet
	assert_success
	run berth network ls --format json
	assert_output_contains '"apinet"'
	run docker network ls --format '{{.Name}}' --filter label=team=a
	assert_output "apinet"
	run docker network inspect --format '{{.Driver}} {{range .IPAM.Config}}{{.Subnet}}{{end}} {{.Internal}}' apinet
	assert_output "bridge 10.77.5.0/24 false"
	docker run -d --name web --network apinet localhost/busybox \
		sh -c 'mkdir -p /www && echo on-apinet >/www/index.html && httpd -p 80 -h /www && echo ready && exec sleep 1000' >/dev/null
	wait_for_log web ready
	# (--dns 127.0.0.1: names from /etc/hosts only, as networking.bats does)
	docker run -d --name client --dns 127.0.0.1 localhost/busybox sleep 1000 >/dev/null
	run docker network connect --alias shop apinet client
	assert_success
	run docker exec client timeout 5 wget -q -O- http://web/
	assert_output "on-apinet"
	run docker network inspect --format '{{range .Containers}}{{.Name}} {{end}}' apinet
	assert_output_contains "web"
	assert_output_contains "client"
	run docker network rm apinet
	assert_failure
	assert_output_contains "active endpoints"
	run docker network disconnect apinet client
	assert_success
	docker rm -f web client >/dev/null
	run docker network rm apinet
	assert_success
	docker network create spare >/dev/null
	run docker network prune -f
	assert_success
	assert_output_contains "spare"
	run berth network ls --format json
	assert_output_not_contains '"spare"'
	assert_output_not_contains '"apinet"'
	run docker network inspect apinet
	assert_failure
	assert_output_contains "not found"
}

@test "serve: docker top lists the container's processes; docker stats --no-stream shows its memory and pids" {
	container_setup
	load_busybox
	start_serve
	# (sh execs its last command: two processes)
	docker run -d --name busy --network none --memory 64m localhost/busybox sh -c 'sleep 1001 & sleep 1002' >/dev/null
	run docker top busy
	assert_success
	assert_output_contains "sleep 1001"
	assert_output_contains "sleep 1002"
	assert_output_contains "PID"
	run docker top busy -o pid,args
	assert_output_contains "sleep 1001"
	run docker stats --no-stream --format '{{.Name}} {{.PIDs}} {{.MemUsage}}' busy
	assert_success
	[[ $output =~ ^busy\ 2\ [0-9.]+[KMk]i?B\ /\ 64MiB$ ]] || fail "stats: $output"
	berth stop -t 1 busy >/dev/null
	run docker top busy
	assert_failure
	assert_output_contains "is not running"
}

@test "serve: docker cp out of and into a container, running and stopped; a symlink does not lead out" {
	container_setup
	load_busybox
	start_serve
	docker run -d --name files --network none localhost/busybox \
		sh -c 'mkdir -p /data/sub && echo inner >/data/sub/f && ln -s /etc /data/escape && echo ready && exec sleep 1000' >/dev/null
	wait_for_log files ready
	run docker cp files:/data/sub/f "$BATS_TEST_TMPDIR/f"
	assert_success
	assert_equal "$(cat "$BATS_TEST_TMPDIR/f")" inner
	run docker cp files:/data "$BATS_TEST_TMPDIR/out"
	assert_success
	assert_equal "$(cat "$BATS_TEST_TMPDIR/out/sub/f")" inner
	[ -L "$BATS_TEST_TMPDIR/out/escape" ] || fail "the symlink was not copied as a symlink"
	echo from-host >"$BATS_TEST_TMPDIR/in"
	run docker cp "$BATS_TEST_TMPDIR/in" files:/data/
	assert_success
	run docker exec files cat /data/in
	assert_output "from-host"
	# Through the container's symlink /data/escape -> /etc: the host's /etc is not touched.
	run docker cp "$BATS_TEST_TMPDIR/in" files:/data/escape/berth-serve-test
	[ ! -e /etc/berth-serve-test ] || { rm -f /etc/berth-serve-test; fail "docker cp wrote to the host's /etc"; }
	run docker cp files:/nonexistent "$BATS_TEST_TMPDIR/x"
	assert_failure
	assert_output_contains "Could not find the file /nonexistent"
	berth stop -t 1 files >/dev/null
	run docker cp files:/data/in "$BATS_TEST_TMPDIR/in2"
	assert_success
	assert_equal "$(cat "$BATS_TEST_TMPDIR/in2")" from-host
}

@test "serve: docker events lists a container's life and image tags from the log and follows new ones, filtered" {
	container_setup
	load_busybox
	start_serve
	local start
	start=$(date +%s)
	docker run --rm --name ev --network none localhost/busybox true
	berth run -d --name other --network none localhost/busybox sleep 1000 >/dev/null
	run timeout 10 docker events --since "$start" --until "$(($(date +%s) + 1))" --filter container=ev --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'
	assert_success
	assert_output "container create ev
container start ev
container die ev
container destroy ev"
	# Image events: a tag and its removal through the API.
	docker tag localhost/busybox localhost/evtag:1
	docker rmi localhost/evtag:1 >/dev/null
	run timeout 10 docker events --since "$start" --until "$(($(date +%s) + 1))" --filter type=image --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'
	assert_success
	assert_output "image tag localhost/evtag:1
image untag localhost/evtag:1"
	# Followed: what berth does now shows up, other events filtered out.
	timeout 10 docker events --filter event=pause --format '{{.Action}} {{.Actor.Attributes.name}}' >"$BATS_TEST_TMPDIR/ev.out" 2>&1 &
	local follower=$!
	sleep 0.5
	berth pause other
	local i
	for i in $(seq 50); do grep -q "pause other" "$BATS_TEST_TMPDIR/ev.out" && break; sleep 0.1; done
	kill "$follower" 2>/dev/null || true
	wait "$follower" || true
	assert_equal "$(cat "$BATS_TEST_TMPDIR/ev.out")" "pause other"
	berth unpause other
}

@test "serve: docker ps sees what berth run started, docker rm -f removes it, berth ps agrees" {
	container_setup
	load_busybox
	start_serve
	berth run -d --name fromberth --network none localhost/busybox sleep 1000 >/dev/null
	run docker ps --format '{{.Names}} {{.Image}} {{.Status}}'
	assert_success
	assert_output_contains "fromberth localhost/busybox Up"
	run docker kill --signal USR1 fromberth
	assert_success
	run docker rm -f fromberth
	assert_success
	run berth ps -aq
	assert_output ""
}

@test "serve: docker pull from the registry on 127.0.0.1, images, tag, push, rmi" {
	container_setup --host-network
	start_registry
	skopeo copy -q --dest-tls-verify=false "oci-archive:$IMAGE" "docker://$REG/busybox:1" >/dev/null
	start_serve
	run docker pull "$REG/busybox:1"
	assert_success
	assert_output_contains "Pull complete"
	assert_output_contains "Status: Downloaded newer image for $REG/busybox:1"
	run docker images --format '{{.Repository}}:{{.Tag}}'
	assert_output "$REG/busybox:1"
	run berth images --format json
	assert_output_contains "$REG/busybox:1"
	run docker run --rm --network none "$REG/busybox:1" echo pulled
	assert_output "pulled"
	run docker tag "$REG/busybox:1" "$REG/box:2"
	assert_success
	run berth images --format json
	assert_output_contains "$REG/box:2"
	run docker push "$REG/box:2"
	assert_success
	assert_output_contains "digest: sha256:"
	run skopeo inspect --tls-verify=false "docker://$REG/box:2"
	assert_success
	run docker rmi "$REG/box:2"
	assert_success
	assert_output_contains "Untagged: $REG/box:2"
	run docker rmi "$REG/busybox:1"
	assert_success
	assert_output_contains "Deleted: sha256:"
	run berth images --format json
	assert_output "[]"
	# A pull of what the registry does not have fails with its reason.
	run docker pull "$REG/nothere:1"
	assert_failure
	assert_output_contains "nothere"
}

@test "serve: docker save and docker load round-trip an image; a broken archive is refused" {
	container_setup
	load_busybox
	start_serve
	run docker save -o "$BATS_TEST_TMPDIR/box.tar" localhost/busybox
	assert_success
	tar -tf "$BATS_TEST_TMPDIR/box.tar" | grep -qx manifest.json || fail "no manifest.json in the archive"
	run docker rmi localhost/busybox
	assert_success
	run berth images --format json
	assert_output "[]"
	run docker load -i "$BATS_TEST_TMPDIR/box.tar"
	assert_success
	assert_output_contains "Loaded image: localhost/busybox:latest"
	run docker run --rm --network none localhost/busybox echo back
	assert_output "back"
	head -c 5000 /dev/urandom >"$BATS_TEST_TMPDIR/junk.tar"
	run docker load -i "$BATS_TEST_TMPDIR/junk.tar"
	assert_failure
}

@test "serve: unknown endpoints, bad requests and a huge body get docker's statuses, and nothing is made" {
	container_setup
	load_busybox
	start_serve
	run api GET /v1.41/nosuch
	assert_equal "${lines[-1]}" 404
	assert_output_contains '{"message":"page not found: GET /v1.41/nosuch"}'
	run docker inspect nosuch
	assert_failure
	assert_output_contains "No such"
	run api POST /v1.41/containers/create -H 'Content-Type: application/json' -d '{"Image":'
	assert_equal "${lines[-1]}" 400
	assert_output_contains "invalid JSON body"
	run api POST /v1.41/containers/create -H 'Content-Type: application/json' -d '{"Image":"localhost/busybox","HostConfig":{"Memory":-5}}'
	[ "${lines[-1]}" != 201 ] || fail "a negative memory limit was accepted"
	head -c $((20 << 20)) /dev/zero | tr '\0' 'x' >"$BATS_TEST_TMPDIR/huge"
	run api POST /v1.41/containers/create -H 'Content-Type: application/json' --data-binary "@$BATS_TEST_TMPDIR/huge"
	assert_equal "${lines[-1]}" 413
	# A request line that is no HTTP.
	run timeout 5 python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"NONSENSE\r\n\r\n")
print(s.recv(4096).decode().splitlines()[0])' "$SOCK"
	assert_output "HTTP/1.1 400 Bad Request"
	run berth ps -aq
	assert_output ""
}

@test "serve: the socket is 0660 root's; an unprivileged user cannot connect; --group gives a group access" {
	container_setup
	start_serve
	run stat -c '%a %U %G' "$SOCK"
	assert_output "660 root root"
	run setpriv --reuid=65534 --regid=65534 --clear-groups curl -s --unix-socket "$SOCK" http://d/_ping
	assert_failure
	stop_serve
	start_serve --group nogroup
	run stat -c '%a %G' "$SOCK"
	assert_output "660 nogroup"
	run setpriv --reuid=65534 --regid="$(getent group nogroup | cut -d: -f3)" --clear-groups curl -s --unix-socket "$SOCK" http://d/_ping
	assert_success
	assert_output "OK"
	# A second server on the same socket is refused.
	run "$BERTH" --root "$ROOT" --runroot "$RUNROOT" serve --host "unix://$SOCK"
	assert_failure
	assert_output_contains "another server listens on $SOCK"
	run "$BERTH" --root "$ROOT" --runroot "$RUNROOT" serve --host tcp://0.0.0.0:2375
	assert_failure
	assert_output_contains "only loopback addresses"
}

@test "serve: a long wait and a followed log hold up no other request" {
	container_setup
	load_busybox
	start_serve
	docker run -d --name long --network none localhost/busybox sh -c 'echo tick; exec sleep 1000' >/dev/null
	wait_for_log long tick
	docker wait long >"$BATS_TEST_TMPDIR/wait.out" 2>&1 &
	local waiter=$!
	docker logs -f long >/dev/null 2>&1 &
	local follower=$!
	sleep 0.5
	# Both still run; the server answers the others at once (5 s would be a hang).
	kill -0 "$waiter" || fail "docker wait returned early: $(cat "$BATS_TEST_TMPDIR/wait.out")"
	run timeout 5 docker ps --format '{{.Names}}'
	assert_success
	assert_output "long"
	run timeout 5 docker run --rm --network none localhost/busybox echo meanwhile
	assert_output "meanwhile"
	run docker kill long
	assert_success
	wait "$waiter"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/wait.out")" 137
	wait "$follower" || true
}

@test "serve: stopping the server stops no container; a new server sees it" {
	container_setup
	load_busybox
	start_serve
	docker run -d --name stays --network none localhost/busybox sleep 1000 >/dev/null
	stop_serve
	run berth ps --format '{{.Names}} {{.State}}'
	assert_output "stays running"
	start_serve
	run docker ps --format '{{.Names}}'
	assert_output "stays"
}

@test "serve: docker-compose up -d, ps, exec, logs, down: two services on the project's network, a published port" {
	command -v docker-compose >/dev/null || skip "no docker-compose (tools/install-deps installs it)"
	container_setup
	load_busybox
	start_serve
	local dir=$BATS_TEST_TMPDIR/proj port
	port=$(free_port)
	mkdir -p "$dir"
	cat >"$dir/docker-compose.yml" <<-YML
		version: "3"
		services:
		  web:
		    image: localhost/busybox
		    command: sh -c 'echo from-web > /index.html && exec httpd -f -p 80 -h /'
		    ports:
		      - "127.0.0.1:$port:80"
		  client:
		    image: localhost/busybox
		    command: sleep 1000
		    depends_on: [web]
		YML
	cd "$dir"
	run docker-compose -p proj up -d
	assert_success
	run docker-compose -p proj ps -q
	assert_success
	assert_equal "$(printf "%s\n" "$output" | grep -c .)" 2
	# The client reaches the web service by its name on proj_default.
	local i
	for i in $(seq 50); do
		in_netns curl -s "http://127.0.0.1:$port/index.html" >/dev/null 2>&1 && break
		sleep 0.1
	done
	run in_netns curl -s "http://127.0.0.1:$port/index.html"
	assert_output "from-web"
	run docker-compose -p proj exec -T client timeout 5 wget -q -O - http://web/index.html
	assert_success
	assert_output "from-web"
	run berth network ls
	assert_output_contains "proj_default"
	run docker-compose -p proj logs --no-color web
	assert_success
	run docker-compose -p proj down
	assert_success
	run berth ps -a -q
	assert_output ""
	run berth network ls
	[[ $output != *proj_default* ]] || fail "the project's network is left:" "$output"
}

@test "serve: docker rename, diff, container prune, history and image prune; berth sees the same" {
	container_setup
	load_busybox
	start_serve
	docker run -d --name old --network none localhost/busybox sh -c 'echo x > /new; rm /bin/ls; exec sleep 1000' >/dev/null
	docker rename old renamed
	run berth ps --format '{{.Names}}'
	assert_output "renamed"
	run docker rename renamed 'bad/name'
	assert_failure
	assert_output_contains "Invalid container name \"bad/name\""
	local i
	for i in $(seq 50); do berth exec renamed test -e /new && break; sleep 0.1; done
	run docker diff renamed
	assert_success
	assert_output_contains "A /new" "C /bin" "D /bin/ls"
	docker run --name done1 --network none localhost/busybox true
	docker create --name made --network none localhost/busybox true >/dev/null
	run docker container prune -f
	assert_success
	assert_output_contains "Deleted Containers:"
	run berth ps -a --format '{{.Names}}'
	assert_output "renamed"
	run docker history --format '{{.ID}} {{.Size}}' localhost/busybox
	assert_success
	[[ ${lines[0]} =~ ^[0-9a-f]{12}\  ]] || fail "history: $output"
	# An unnamed image (its name untagged) is dangling: prune removes it; the named one in use stays.
	docker tag localhost/busybox localhost/spare:1
	berth rmi localhost/spare:1 >/dev/null
	berth commit renamed localhost/snap:1 >/dev/null
	berth untag localhost/snap:1
	run docker image prune -f
	assert_success
	assert_output_contains "deleted: sha256:"
	run berth images --format json
	assert_equal "$(jq length <<<"$output")" 1
	berth rm -f renamed >/dev/null
}
