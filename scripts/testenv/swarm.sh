#!/usr/bin/env bash
# Throwaway Docker Engine (Debian docker.io 20.10, Engine API 1.41) in swarm mode,
# isolated from any Docker the user runs: own containerd, own data/exec root,
# own unix socket, own cgroup parent and its own network namespace.
# It never talks to /var/run/docker.sock.
#
#   scripts/testenv/swarm.sh up       start (or verify) and write the env file
#   scripts/testenv/swarm.sh status   exit 0 when up, 3 when down
#   scripts/testenv/swarm.sh down     tear everything down (safe when nothing runs,
#                                     and after dockerd was killed -9)
#
# After `up`, ${SDX_TESTENV_DIR:-/tmp/sdx-testenv}/swarm.env holds:
#   SDX_SWARM_DOCKER_HOST=unix://<state>/docker.sock
#   SDX_SWARM_NETNS=sdx-swarm              (set SDX_SWARM_NETNS, with another SDX_TESTENV_DIR,
#                                           to run a second instance side by side)
#   SDX_SWARM_IMAGE=sdx-busybox:latest     (also tagged sdx-busybox:1)
#   SDX_SWARM_IMAGE_ID=sha256:...
#   SDX_SWARM_NODE_ID=...
#
# Facts for tests:
# - Nothing can be pulled from the internet (the namespace has only lo). The image is a
#   `docker import` of Debian's static busybox (every applet symlinked in /bin; sh, httpd,
#   sleep, nc, wget, cat, ...). Create services WITHOUT registry resolution: docker CLI
#   `--no-resolve-image`, dockerode `createService(spec)` with no auth argument. A task
#   start tries to pull its image first: for sdx-busybox that fails at once (no DNS in
#   the namespace) and the engine runs the local image; images on the test registry
#   (scripts/testenv/registry.sh, attached to this namespace at 127.0.0.1:<port>) are
#   really pulled, by digest.
# - The single node carries the label `sdx.capacity=on-demand`, so a placement
#   constraint `node.labels.sdx.capacity==on-demand` is satisfiable and
#   `node.labels.sdx.capacity==spot` leaves tasks pending ("no suitable node").
# - No IPVS in this kernel: routing-mesh (ingress) ports and service VIPs do not work.
#   Use `--publish mode=host,target=N` (random published port per task, or set
#   published=) and/or `--endpoint-mode dnsrr`. Published ports live on 127.0.0.1 of
#   the namespace: `nsenter --net=/run/netns/sdx-swarm curl http://127.0.0.1:PORT/`.
# - dockerd runs with --iptables=false --ip-masq=false --ip-forward=false; the default
#   bridge exists only inside the namespace.
set -euo pipefail

BASE_DIR=${SDX_TESTENV_DIR:-/tmp/sdx-testenv}
STATE=$BASE_DIR/swarm
ENV_FILE=$BASE_DIR/swarm.env
NETNS=${SDX_SWARM_NETNS:-sdx-swarm}
SOCK=$STATE/docker.sock
DOCKERD_PID=$STATE/dockerd.pid
DOCKERD_LOG=$STATE/dockerd.log
CTRD_DIR=$STATE/containerd
CTRD_SOCK=$CTRD_DIR/containerd.sock
CTRD_PID=$STATE/containerd.pid
CTRD_LOG=$STATE/containerd.log
CGROUP_PARENT=$NETNS
IMAGE=sdx-busybox
NODE_LABEL=sdx.capacity=on-demand
START_TIMEOUT=${SDX_SWARM_START_TIMEOUT:-60}

log() { printf '[swarm] %s\n' "$*" >&2; }
die() {
  printf '[swarm] ERROR: %s\n' "$*" >&2
  local f
  for f in "$DOCKERD_LOG" "$CTRD_LOG"; do
    if [[ -s $f ]]; then
      printf '[swarm] --- last lines of %s ---\n' "$f" >&2
      tail -n 25 "$f" >&2 || true
    fi
  done
  exit 1
}

dk() { docker -H "unix://$SOCK" "$@"; }

# ---------------------------------------------------------------- packages
ensure_packages() {
  local missing=() p
  for p in docker.io busybox-static iproute2; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  if ((${#missing[@]})); then
    [[ $(id -u) -eq 0 ]] || die "need root to apt-get install ${missing[*]}"
    log "installing ${missing[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a
    apt-get update -qq >/dev/null || die "apt-get update failed"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
      || die "apt-get install ${missing[*]} failed"
  fi
  for p in dockerd containerd runc docker nsenter setsid ip; do
    command -v "$p" >/dev/null || die "command '$p' not found after install"
  done
  [[ -x /bin/busybox ]] || die "/bin/busybox missing (busybox-static)"
}

# ---------------------------------------------------------------- helpers
# Alive = exists and is not a zombie (our daemons are reparented to init, which may reap late).
pid_alive() {
  [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null || return 1
  local st
  st=$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ $st != Z && $st != X ]]
}
read_pid() { if [[ -s $1 ]]; then tr -dc '0-9' <"$1"; fi; }

engine_answers() {
  [[ -S $SOCK ]] && timeout 10 docker -H "unix://$SOCK" version --format '{{.Server.APIVersion}}' >/dev/null 2>&1
}

is_up() {
  pid_alive "$(read_pid "$DOCKERD_PID")" && engine_answers &&
    [[ $(timeout 10 docker -H "unix://$SOCK" info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null) == active ]]
}

# Stop a pid: TERM, wait up to $2 tenths of a second, then KILL. Only when its command
# line names our state dir (a stale pid file may point at a reused pid).
stop_pid() {
  local pid=$1 wait_ds=${2:-100} i
  pid_alive "$pid" || return 0
  if ! tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$STATE/"; then
    log "pid $pid is not ours (stale pid file), not stopping it"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < wait_ds; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  ((wait_ds < 20)) || log "pid $pid did not exit after $((wait_ds / 10))s, sending KILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 30; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
}

# Every process that belongs to this test engine, by pid:
# - processes in the sdx-swarm network namespace (dockerd, containerd, docker-proxy),
# - processes whose command line names our containerd dir (containerd, its shims),
# - processes in the containers' cgroup parent.
leftover_pids() {
  {
    if [[ -e /run/netns/$NETNS ]]; then ip netns pids "$NETNS" 2>/dev/null || true; fi
    local p
    for p in /proc/[0-9]*; do
      if tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF -- "$CTRD_DIR/"; then echo "${p#/proc/}"; fi
    done
    find /sys/fs/cgroup -name cgroup.procs \( -path "*/$CGROUP_PARENT/*" \) -exec cat {} + 2>/dev/null || true
  } | sort -un | grep -vx -e "$$" -e "${BASHPID:-$$}" || true
}

unmount_state() {
  local mp n=0
  # deepest first; mountinfo field 5 is the mount point
  while read -r mp; do
    umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || log "could not unmount $mp"
    n=$((n + 1))
  done < <(awk -v s="$STATE" '$5 == s || index($5, s "/") == 1 {print $5}' /proc/self/mountinfo | sort -r)
  ((n == 0)) || log "unmounted $n mount(s) under $STATE"
}

# containerd 1.6 puts each shim's socket at /run/containerd/s/sha256(<containerd address>/<ns>/<id>),
# whatever its state dir; a killed shim leaves it behind. Remove ours by that name.
remove_shim_sockets() {
  local d id h n=0
  for d in "$CTRD_DIR/state/io.containerd.runtime.v2.task/moby"/* "$STATE/data/containers"/*; do
    id=${d##*/}
    [[ $id =~ ^[0-9a-f]{64}$ ]] || continue
    h=$(printf '%s' "$CTRD_SOCK/moby/$id" | sha256sum | cut -d' ' -f1)
    if [[ -e /run/containerd/s/$h ]]; then rm -f "/run/containerd/s/$h" && n=$((n + 1)); fi
  done
  ((n == 0)) || log "removed $n stale shim socket(s)"
}

remove_cgroups() {
  local d
  while read -r d; do
    rmdir "$d" 2>/dev/null || true
  done < <(find /sys/fs/cgroup -depth -type d \( -path "*/$CGROUP_PARENT/*" -o -name "$CGROUP_PARENT" \) 2>/dev/null)
}

# ---------------------------------------------------------------- image
build_image() {
  if dk image inspect "$IMAGE:latest" >/dev/null 2>&1; then
    dk tag "$IMAGE:latest" "$IMAGE:1" >/dev/null
    return 0
  fi
  local build=$STATE/image-build a
  rm -rf "$build"
  mkdir -p "$build/rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,www,proc,sys,dev,var/run}
  chmod 1777 "$build/rootfs/tmp"
  cp /bin/busybox "$build/rootfs/bin/busybox"
  for a in $(/bin/busybox --list); do
    [[ $a == busybox ]] || ln -sf busybox "$build/rootfs/bin/$a"
  done
  ln -sf ../../bin/busybox "$build/rootfs/usr/bin/env"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$build/rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$build/rootfs/etc/group"
  printf 'sdx-busybox\n' >"$build/rootfs/www/index.html"
  tar -C "$build/rootfs" --numeric-owner --owner=0 --group=0 -cf "$build/rootfs.tar" .
  dk import \
    -c 'ENV PATH=/bin:/sbin:/usr/bin:/usr/sbin' \
    -c 'CMD ["sh"]' \
    -m 'sdx test image: Debian busybox-static' \
    "$build/rootfs.tar" "$IMAGE:latest" >/dev/null || die "docker import failed"
  dk tag "$IMAGE:latest" "$IMAGE:1" >/dev/null
  rm -rf "$build"
}

# ---------------------------------------------------------------- env file
write_env() {
  local image_id node_id
  image_id=$(dk image inspect --format '{{.Id}}' "$IMAGE:latest")
  node_id=$(dk info --format '{{.Swarm.NodeID}}')
  mkdir -p "$BASE_DIR"
  cat >"$ENV_FILE.tmp" <<EOF
SDX_SWARM_DOCKER_HOST=unix://$SOCK
SDX_SWARM_NETNS=$NETNS
SDX_SWARM_IMAGE=$IMAGE:latest
SDX_SWARM_IMAGE_ID=$image_id
SDX_SWARM_NODE_ID=$node_id
EOF
  mv "$ENV_FILE.tmp" "$ENV_FILE"
  log "env file $ENV_FILE:"
  cat "$ENV_FILE"
}

ensure_swarm() {
  local st
  st=$(dk info --format '{{.Swarm.LocalNodeState}}')
  if [[ $st != active ]]; then
    dk swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377 >/dev/null ||
      die "docker swarm init failed (state was '$st')"
  fi
  local node
  node=$(dk info --format '{{.Swarm.NodeID}}')
  [[ -n $node ]] || die "swarm has no node id"
  if [[ $(dk node inspect --format '{{index .Spec.Labels "sdx.capacity"}}' "$node") != "${NODE_LABEL#*=}" ]]; then
    dk node update --label-add "$NODE_LABEL" "$node" >/dev/null || die "could not label node"
  fi
}

# The test registry (scripts/testenv/registry.sh) forwards into this namespace when it runs,
# so images pushed to 127.0.0.1:<port> on the host pull at the same reference here.
attach_registry() {
  [[ -f $BASE_DIR/registry.env ]] || return 0
  local rc=0
  bash "$(dirname "${BASH_SOURCE[0]}")/registry.sh" attach "$NETNS" || rc=$?
  case $rc in
    0) ;;
    3) log "registry.env exists but the registry is down; not attached (run registry.sh up)" ;;
    *) die "registry.sh attach $NETNS failed" ;;
  esac
}

# ---------------------------------------------------------------- commands
cmd_up() {
  ensure_packages
  [[ $(id -u) -eq 0 ]] || die "must run as root (network namespace, dockerd)"
  ((${#SOCK} < 100)) || die "socket path too long ($SOCK); use a shorter SDX_TESTENV_DIR"

  if is_up; then
    log "already up; verifying"
    ensure_swarm
    build_image
    write_env
    attach_registry
    return 0
  fi
  if [[ -e $STATE || -e /run/netns/$NETNS ]]; then
    log "stale state found, cleaning up first"
    cmd_down
  fi

  mkdir -p "$STATE" "$CTRD_DIR"
  ip netns add "$NETNS" || die "ip netns add $NETNS failed"
  ip -n "$NETNS" link set lo up || die "could not bring up lo in $NETNS"

  # Own containerd, so a system containerd (and the user's dockerd using it) is never shared.
  cat >"$CTRD_DIR/config.toml" <<EOF
version = 2
root = "$CTRD_DIR/root"
state = "$CTRD_DIR/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$CTRD_SOCK"
[ttrpc]
  address = "$CTRD_SOCK.ttrpc"
[debug]
  address = ""
  level = "warn"
[metrics]
  address = ""
EOF
  setsid nsenter --net="/run/netns/$NETNS" -- containerd --config "$CTRD_DIR/config.toml" \
    </dev/null >"$CTRD_LOG" 2>&1 &
  echo $! >"$CTRD_PID"

  # An explicit (empty) config file so /etc/docker/daemon.json of the host is never read.
  echo '{}' >"$STATE/daemon.json"
  local i
  for ((i = 0; i < 100; i++)); do
    [[ -S $CTRD_SOCK ]] && break
    pid_alive "$(read_pid "$CTRD_PID")" || die "containerd exited"
    sleep 0.1
  done
  [[ -S $CTRD_SOCK ]] || die "containerd socket did not appear"

  setsid nsenter --net="/run/netns/$NETNS" -- \
    dockerd \
    --config-file "$STATE/daemon.json" \
    --data-root "$STATE/data" \
    --exec-root "$STATE/exec" \
    --pidfile "$DOCKERD_PID" \
    --host "unix://$SOCK" \
    --containerd "$CTRD_SOCK" \
    --cgroup-parent "$CGROUP_PARENT" \
    --exec-opt native.cgroupdriver=cgroupfs \
    --iptables=false --ip-masq=false --ip-forward=false \
    --log-level warn \
    </dev/null >"$DOCKERD_LOG" 2>&1 &
  local launcher=$!

  for ((i = 0; i < START_TIMEOUT * 10; i++)); do
    engine_answers && break
    pid_alive "$launcher" || pid_alive "$(read_pid "$DOCKERD_PID")" || die "dockerd exited"
    sleep 0.1
  done
  engine_answers || die "dockerd did not answer on $SOCK within ${START_TIMEOUT}s"
  log "dockerd $(dk version --format '{{.Server.Version}} (API {{.Server.APIVersion}})') pid $(read_pid "$DOCKERD_PID")"

  ensure_swarm
  build_image
  log "image $IMAGE:latest (+ $IMAGE:1) id $(dk image inspect --format '{{.Id}}' "$IMAGE:latest")"
  write_env
  attach_registry
}

cmd_down() {
  [[ $(id -u) -eq 0 ]] || die "must run as root"
  if command -v docker >/dev/null && engine_answers; then
    local ids=()
    mapfile -t ids < <(dk service ls -q 2>/dev/null || true)
    ((${#ids[@]} == 0)) || dk service rm "${ids[@]}" >/dev/null 2>&1 || true
    mapfile -t ids < <(dk ps -aq 2>/dev/null || true)
    ((${#ids[@]} == 0)) || dk rm -f "${ids[@]}" >/dev/null 2>&1 || true
  fi
  stop_pid "$(read_pid "$DOCKERD_PID")" 150
  # containerd runs nothing of ours any more; its graceful stop takes ~2 s for nothing
  stop_pid "$(read_pid "$CTRD_PID")" 3

  local pids=() _
  for _ in 1 2 3; do
    mapfile -t pids < <(leftover_pids)
    ((${#pids[@]})) || break
    log "killing leftover pids: ${pids[*]}"
    kill -KILL "${pids[@]}" 2>/dev/null || true
    sleep 0.3
  done

  remove_shim_sockets
  unmount_state
  remove_cgroups
  if [[ -e /run/netns/$NETNS ]]; then
    ip netns delete "$NETNS" 2>/dev/null || { umount -l "/run/netns/$NETNS" 2>/dev/null; rm -f "/run/netns/$NETNS"; }
  fi
  if [[ -e $STATE ]]; then
    rm -rf "$STATE" 2>/dev/null || { unmount_state; rm -rf "$STATE"; } || die "could not remove $STATE"
  fi
  rm -f "$ENV_FILE" "$ENV_FILE.tmp"
  log "down"
}

cmd_status() {
  local pid
  pid=$(read_pid "$DOCKERD_PID")
  if is_up; then
    echo "swarm: up (dockerd pid $pid, socket unix://$SOCK, netns $NETNS)"
    dk node ls 2>/dev/null || true
    dk service ls 2>/dev/null || true
    [[ -f $ENV_FILE ]] && cat "$ENV_FILE"
    return 0
  fi
  echo "swarm: down"
  [[ -e $STATE ]] && echo "  (state dir $STATE exists; dockerd pid '${pid:-none}'; run '$0 down' to clean up)"
  [[ -e /run/netns/$NETNS ]] && echo "  (network namespace $NETNS exists)"
  return 3
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
