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

LOG_TAG=swarm
die_log_files() { printf '%s\n' "$DOCKERD_LOG" "$CTRD_LOG"; }
# shellcheck source=scripts/lib/testenv.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testenv.sh"

dk() { docker -H "unix://$SOCK" "$@"; }

# ---------------------------------------------------------------- packages
ensure_packages() {
  apt_install_missing docker.io busybox-static iproute2
  require_commands dockerd containerd runc docker nsenter setsid ip
  [[ -x /bin/busybox ]] || die "/bin/busybox missing (busybox-static)"
}

# ---------------------------------------------------------------- helpers
engine_answers() {
  [[ -S $SOCK ]] && timeout 10 docker -H "unix://$SOCK" version --format '{{.Server.APIVersion}}' >/dev/null 2>&1
}

is_up() {
  pid_alive "$(read_pid "$DOCKERD_PID")" && engine_answers &&
    [[ $(timeout 10 docker -H "unix://$SOCK" info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null) == active ]]
}

# Every process that belongs to this test engine, by pid:
# - processes in the sdx-swarm network namespace (dockerd, containerd, docker-proxy),
# - processes whose command line names our containerd dir (containerd, its shims),
# - processes in the containers' cgroup parent.
leftover_pids() {
  pids_of_netns_dir_cgroup "$NETNS" "$CTRD_DIR/" "$CGROUP_PARENT"
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

# ---------------------------------------------------------------- image
build_image() {
  if dk image inspect "$IMAGE:latest" >/dev/null 2>&1; then
    dk tag "$IMAGE:latest" "$IMAGE:1" >/dev/null
    return 0
  fi
  local build=$STATE/image-build
  busybox_rootfs_tar "$build"
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
  publish_env_file <<EOF
SDX_SWARM_DOCKER_HOST=unix://$SOCK
SDX_SWARM_NETNS=$NETNS
SDX_SWARM_IMAGE=$IMAGE:latest
SDX_SWARM_IMAGE_ID=$image_id
SDX_SWARM_NODE_ID=$node_id
EOF
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
  attach_to_registry "$NETNS" "registry.env exists but the registry is down; not attached (run registry.sh up)" || true
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
  containerd_config "$CTRD_DIR" "$CTRD_SOCK" >"$CTRD_DIR/config.toml"
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

  kill_listed_pids leftover_pids 3 0.3

  remove_shim_sockets
  unmount_under "$STATE"
  remove_cgroup_tree "$CGROUP_PARENT"
  delete_netns "$NETNS"
  remove_tree "$STATE" || die "could not remove $STATE"
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

run_up_down_status "$@"
