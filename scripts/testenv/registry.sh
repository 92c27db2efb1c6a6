#!/usr/bin/env bash
# Two throwaway OCI registries (Debian's docker-registry, distribution 2.8) on 127.0.0.1,
# run as our own processes with our own config files; the package's service is never used.
#
#   scripts/testenv/registry.sh up             start (or verify) and write the env file
#   scripts/testenv/registry.sh status         exit 0 when up, 3 when down
#   scripts/testenv/registry.sh down           stop everything it started (safe when nothing
#                                              runs, and after its processes were killed -9)
#   scripts/testenv/registry.sh attach <netns> make the registries reachable at the same
#                                              127.0.0.1 addresses inside network namespace
#                                              <netns> (idempotent; exit 3 when the registry is down)
#
# After `up`, ${SDX_TESTENV_DIR:-/tmp/sdx-testenv}/registry.env (mode 0600) holds:
#   SDX_REGISTRY_ADDR=127.0.0.1:5117          anonymous, plain http (SDX_REGISTRY_PORT)
#   SDX_REGISTRY_AUTH_ADDR=127.0.0.1:5118     htpasswd basic auth (SDX_REGISTRY_AUTH_PORT)
#   SDX_REGISTRY_AUTH_SCHEME=http             distribution 2.8 accepts basic auth without TLS
#   SDX_REGISTRY_AUTH_USER=sdx
#   SDX_REGISTRY_AUTH_PASSWORD=...            random, new on every fresh `up`
#   SDX_REGISTRY_STATE=<state dir>
#   SDX_REGISTRY_BASE_IMAGE=127.0.0.1:5117/sdx/base:1
#                                             only when scripts/base-image/push-base-image.mjs exists
#                                             and pushed the offline base image (linux/amd64 +
#                                             linux/arm64 index of base-rootfs.sh's directories)
#
# Facts for tests:
# - Both instances: storage on the filesystem under the state dir, `storage.delete.enabled:
#   true` (DELETE of manifests and blobs by digest answers 202), no blob descriptor cache,
#   empty on every fresh `up`. A re-run `up` of a healthy env changes nothing (not the
#   password, not the content, not the env file).
# - The auth instance answers 401 with `WWW-Authenticate: Basic realm="sdx-registry"` on
#   every route (also GET /v2/) without valid credentials; wrong credentials are 401 too.
# - Reachability from the Swarm test engine (scripts/testenv/swarm.sh; its dockerd lives in
#   network namespace $SDX_SWARM_NETNS with only lo): per instance, a host socat forwards
#   the unix socket <state>/<instance>.sock to 127.0.0.1:<port>, and a socat inside the
#   namespace listens on 127.0.0.1:<port> and forwards to that socket. So the image
#   reference 127.0.0.1:<port>/repo:tag is the same on the host and for that dockerd,
#   which treats 127.0.0.0/8 registries as insecure (plain http) by default. `up` attaches
#   to $SDX_SWARM_NETNS when it exists; swarm.sh `up` attaches when registry.env exists,
#   so either start order works. `swarm.sh down` kills the in-namespace forwarders.
# - Registry logs: <state>/anon.log and <state>/auth.log.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BASE_DIR=${SDX_TESTENV_DIR:-/tmp/sdx-testenv}
STATE=$BASE_DIR/registry
ENV_FILE=$BASE_DIR/registry.env
PORT=${SDX_REGISTRY_PORT:-5117}
AUTH_PORT=${SDX_REGISTRY_AUTH_PORT:-5118}
SWARM_NETNS=${SDX_SWARM_NETNS:-sdx-swarm}
HOST=127.0.0.1
USER_NAME=sdx
REALM=sdx-registry
INSTANCES=(anon auth)
START_TIMEOUT=${SDX_REGISTRY_START_TIMEOUT:-30}
BASE_REPO=sdx/base
BASE_TAG=1
PUSH_SCRIPT=$ROOT/scripts/base-image/push-base-image.mjs

LOG_TAG=registry
DIE_TAIL=15
die_log_files() { printf '%s\n' "$STATE"/*.log; }
# shellcheck source=scripts/lib/testenv.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testenv.sh"

[[ $PORT =~ ^[0-9]+$ && $AUTH_PORT =~ ^[0-9]+$ ]] || die "SDX_REGISTRY_PORT and SDX_REGISTRY_AUTH_PORT must be numbers"
[[ $PORT != "$AUTH_PORT" ]] || die "SDX_REGISTRY_PORT and SDX_REGISTRY_AUTH_PORT must differ"

port_of() { if [[ $1 == anon ]]; then echo "$PORT"; else echo "$AUTH_PORT"; fi; }

# ---------------------------------------------------------------- packages
ensure_packages() {
  apt_install_missing docker-registry apache2-utils socat curl
  # The package enables a system registry on :5000 under systemd; we only want its binary.
  if [[ " ${MISSING_PACKAGES[*]} " == *" docker-registry "* && -d /run/systemd/system ]]; then
    log "stopping and disabling the docker-registry system service the package just started"
    systemctl disable --now docker-registry >/dev/null 2>&1 || true
  fi
  require_commands docker-registry htpasswd socat curl nsenter setsid
}

# ---------------------------------------------------------------- processes
# Ours = a docker-registry or socat whose command line names our state dir
# (a stale pid file may point at a reused pid; a `tail -f <state>/x.log` is not ours).
is_ours() {
  local c
  c=$(cmdline "$1") || return 1
  [[ $c == *"$STATE/"* && ($c == *docker-registry* || $c == *socat*) ]]
}

# Unlike scripts/lib/testenv.sh's stop_pid: only registries and socats of ours, silently, no wait after KILL.
stop_ours() {
  local pid=$1 i
  pid_alive "$pid" && is_ours "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

our_pids() {
  local f p
  # One grep over every command line (cheap) before the exact check per candidate.
  while read -r f; do
    p=${f#/proc/}
    p=${p%/cmdline}
    [[ $p == "$$" || $p == "${BASHPID:-$$}" ]] && continue
    if pid_alive "$p" && is_ours "$p"; then echo "$p"; fi
  done < <(grep -lsF -- "$STATE/" /proc/[0-9]*/cmdline 2>/dev/null || true)
}

# HTTP status of GET url (000 when nothing answers), optionally inside a network namespace.
curl_code() { # url [netns]
  local url=$1 ns=${2:-} args=(-s --noproxy '*' -o /dev/null -w '%{http_code}' --max-time 5)
  if [[ -n $ns ]]; then
    nsenter --net="/run/netns/$ns" -- curl "${args[@]}" "$url" 2>/dev/null || true
  else
    curl "${args[@]}" "$url" 2>/dev/null || true
  fi
}

# The anonymous instance answers GET /v2/ with 200, the auth one with 401.
expected_code() { if [[ $1 == anon ]]; then echo 200; else echo 401; fi; }
instance_answers() { # instance [netns]
  [[ $(curl_code "http://$HOST:$(port_of "$1")/v2/" "${2:-}") == "$(expected_code "$1")" ]]
}

port_taken() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

is_up() {
  local i
  [[ -f $ENV_FILE ]] || return 1
  for i in "${INSTANCES[@]}"; do
    pid_alive "$(read_pid "$STATE/$i.pid")" && is_ours "$(read_pid "$STATE/$i.pid")" || return 1
    pid_alive "$(read_pid "$STATE/$i-sock.pid")" && [[ -S $STATE/$i.sock ]] || return 1
    instance_answers "$i" || return 1
  done
}

# ---------------------------------------------------------------- registries
write_config() { # instance
  local i=$1 auth=""
  if [[ $i == auth ]]; then
    auth="auth:
  htpasswd:
    realm: $REALM
    path: $STATE/htpasswd"
  fi
  mkdir -p "$STATE/storage/$i"
  cat >"$STATE/$i.yml" <<EOF
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: $STATE/storage/$i
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: $HOST:$(port_of "$i")
  headers:
    X-Content-Type-Options: [nosniff]
$auth
EOF
}

start_instance() { # instance
  local i=$1 port pid n
  port=$(port_of "$i")
  if port_taken "$port"; then
    die "port $port on $HOST is taken by another process; set $([[ $i == anon ]] && echo SDX_REGISTRY_PORT || echo SDX_REGISTRY_AUTH_PORT)"
  fi
  write_config "$i"
  # env -i: the registry reads REGISTRY_* variables as config overrides; none may leak in.
  spawn "$STATE/$i.pid" "$STATE/$i.log" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin docker-registry serve "$STATE/$i.yml"
  pid=$(read_pid "$STATE/$i.pid")
  for ((n = 0; n < START_TIMEOUT * 10; n++)); do
    instance_answers "$i" && break
    pid_alive "$pid" || die "docker-registry ($i) exited during start"
    sleep 0.1
  done
  instance_answers "$i" || die "docker-registry ($i) did not answer GET /v2/ with $(expected_code "$i") on $HOST:$port within ${START_TIMEOUT}s"
  # The host end of the namespace forwarders; the socket is root's only.
  rm -f "$STATE/$i.sock"
  spawn "$STATE/$i-sock.pid" "$STATE/$i-sock.log" \
    socat "UNIX-LISTEN:$STATE/$i.sock,fork,unlink-early,mode=600" "TCP:$HOST:$port"
  for ((n = 0; n < 50; n++)); do
    [[ -S $STATE/$i.sock ]] && break
    sleep 0.1
  done
  [[ -S $STATE/$i.sock ]] || die "socat did not create $STATE/$i.sock"
  log "$i registry on $HOST:$port (pid $pid)"
}

make_credentials() {
  PASSWORD=$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32)
  ((${#PASSWORD} >= 24)) || die "could not generate a password"
  # Password on stdin (-i), never on a command line other processes can read.
  printf '%s' "$PASSWORD" | htpasswd -Bin "$USER_NAME" >"$STATE/htpasswd" 2>/dev/null || die "htpasswd -B failed"
  chmod 600 "$STATE/htpasswd"
}

write_env() {
  mkdir -p "$BASE_DIR"
  (
    umask 077
    cat >"$ENV_FILE.tmp" <<EOF
SDX_REGISTRY_ADDR=$HOST:$PORT
SDX_REGISTRY_AUTH_ADDR=$HOST:$AUTH_PORT
SDX_REGISTRY_AUTH_SCHEME=http
SDX_REGISTRY_AUTH_USER=$USER_NAME
SDX_REGISTRY_AUTH_PASSWORD=$PASSWORD
SDX_REGISTRY_STATE=$STATE
EOF
  )
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}

# Adds (or replaces) one KEY=value line, atomically, keeping every other line.
set_env_key() { # key value
  (
    umask 077
    { grep -v "^$1=" "$ENV_FILE" || true; printf '%s=%s\n' "$1" "$2"; } >"$ENV_FILE.tmp"
  )
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}

show_env() { sed -E 's/^(SDX_REGISTRY_AUTH_PASSWORD=).*/\1<hidden>/' "$ENV_FILE"; }

# ---------------------------------------------------------------- namespaces
netns_inode() { stat -L -c %i "/run/netns/$1" 2>/dev/null; }
in_netns() { # pid netns
  local link
  link=$(readlink "/proc/$1/ns/net" 2>/dev/null) || return 1
  [[ $link == "net:[$(netns_inode "$2")]" ]]
}

cmd_attach() {
  local ns=${1:-} i port pidf pid n
  [[ -n $ns ]] || { echo "usage: $0 attach <netns>" >&2; exit 2; }
  [[ $ns =~ ^[A-Za-z0-9._-]+$ ]] || die "bad network namespace name '$ns'"
  [[ $(id -u) -eq 0 ]] || die "must run as root (nsenter)"
  [[ -e /run/netns/$ns ]] || die "network namespace $ns does not exist"
  # The running registry's ports are the env file's, whatever the caller's environment says
  # (swarm.sh and hosts.sh call attach from shells that may not export SDX_REGISTRY_PORT).
  local addr
  addr=$(sed -n 's/^SDX_REGISTRY_ADDR=//p' "$ENV_FILE" 2>/dev/null || true); if [[ $addr == *:* ]]; then PORT=${addr##*:}; fi
  addr=$(sed -n 's/^SDX_REGISTRY_AUTH_ADDR=//p' "$ENV_FILE" 2>/dev/null || true); if [[ $addr == *:* ]]; then AUTH_PORT=${addr##*:}; fi
  if ! is_up; then
    log "registry is not up (run: bash scripts/testenv/registry.sh up); not attaching $ns"
    exit 3
  fi
  for i in "${INSTANCES[@]}"; do
    port=$(port_of "$i")
    pidf=$STATE/fwd-$ns-$i.pid
    pid=$(read_pid "$pidf")
    if pid_alive "$pid" && is_ours "$pid" && in_netns "$pid" "$ns" && instance_answers "$i" "$ns"; then
      continue
    fi
    stop_ours "$pid"
    spawn "$pidf" "$STATE/fwd-$ns-$i.log" nsenter --net="/run/netns/$ns" -- \
      socat "TCP-LISTEN:$port,bind=$HOST,fork,reuseaddr" "UNIX-CONNECT:$STATE/$i.sock"
    for ((n = 0; n < 50; n++)); do
      instance_answers "$i" "$ns" && break
      pid_alive "$(read_pid "$pidf")" || die "forwarder for $i in $ns exited (port $port taken there?)"
      sleep 0.1
    done
    instance_answers "$i" "$ns" || die "the $i registry does not answer on $HOST:$port inside $ns"
  done
  log "attached to network namespace $ns ($HOST:$PORT, $HOST:$AUTH_PORT)"
}

# ---------------------------------------------------------------- base image
push_base_image() {
  if grep -q '^SDX_REGISTRY_BASE_IMAGE=' "$ENV_FILE"; then return 0; fi
  if [[ ! -f $PUSH_SCRIPT ]]; then
    log "no $PUSH_SCRIPT yet: not pushing the offline base image (SDX_REGISTRY_BASE_IMAGE unset)"
    return 0
  fi
  local arch dirs=() ref=$HOST:$PORT/$BASE_REPO:$BASE_TAG
  for arch in amd64 arm64; do
    bash "$ROOT/scripts/base-image/base-rootfs.sh" "$arch" "$STATE/base-rootfs/$arch" >/dev/null 2>"$STATE/base-rootfs-$arch.log" ||
      die "base-rootfs.sh $arch failed (see $STATE/base-rootfs-$arch.log)"
    dirs+=(--rootfs "$arch=$STATE/base-rootfs/$arch")
  done
  (
    # shellcheck source=scripts/use-node.sh
    source "$ROOT/scripts/use-node.sh" >/dev/null 2>&1 || exit 1
    node "$PUSH_SCRIPT" --registry "$HOST:$PORT" --repository "$BASE_REPO" --tag "$BASE_TAG" "${dirs[@]}"
  ) >"$STATE/push-base-image.log" 2>&1 || die "push-base-image.mjs failed (see $STATE/push-base-image.log)"
  set_env_key SDX_REGISTRY_BASE_IMAGE "$ref"
  log "base image $ref"
}

# ---------------------------------------------------------------- commands
cmd_up() {
  ensure_packages
  [[ $(id -u) -eq 0 ]] || die "must run as root (network namespaces)"
  ((${#STATE} < 90)) || die "state dir path too long for unix sockets ($STATE); use a shorter SDX_TESTENV_DIR"

  if is_up; then
    log "already up; leaving it as it is"
  else
    if [[ -e $STATE || -e $ENV_FILE ]] || [[ -n $(our_pids) ]]; then
      log "stale state found, cleaning up first"
      cmd_down
    fi
    mkdir -p "$STATE"
    chmod 700 "$STATE"
    make_credentials
    local i
    for i in "${INSTANCES[@]}"; do start_instance "$i"; done
    write_env
  fi
  push_base_image
  if [[ -e /run/netns/$SWARM_NETNS ]]; then cmd_attach "$SWARM_NETNS"; fi
  log "env file $ENV_FILE:"
  show_env >&2
}

cmd_down() {
  [[ $(id -u) -eq 0 ]] || die "must run as root"
  local f
  for f in "$STATE"/*.pid; do
    [[ -e $f ]] && stop_ours "$(read_pid "$f")"
  done
  # After kill -9 of the script or of a parent, forks of socat and registries whose pid
  # files are gone or stale: found by their command line naming our state dir.
  kill_listed_pids our_pids 3 0.2
  rm -rf "$STATE"
  rm -f "$ENV_FILE" "$ENV_FILE.tmp"
  log "down"
}

cmd_status() {
  if is_up; then
    echo "registry: up (anonymous $HOST:$PORT pid $(read_pid "$STATE/anon.pid"), basic auth $HOST:$AUTH_PORT pid $(read_pid "$STATE/auth.pid"))"
    local f ns
    for f in "$STATE"/fwd-*-anon.pid; do
      [[ -e $f ]] || continue
      ns=${f##*/fwd-}
      ns=${ns%-anon.pid}
      if pid_alive "$(read_pid "$f")" && [[ -e /run/netns/$ns ]]; then echo "  attached to network namespace $ns"; fi
    done
    show_env
    return 0
  fi
  echo "registry: down"
  [[ -e $STATE ]] && echo "  (state dir $STATE exists; run '$0 down' to clean up)"
  return 3
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  attach) cmd_attach "${2:-}" ;;
  *)
    echo "usage: $0 up|down|status|attach <netns>" >&2
    exit 2
    ;;
esac
