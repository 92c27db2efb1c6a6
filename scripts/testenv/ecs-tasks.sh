#!/usr/bin/env bash
# A local ECS API that really runs tasks: ministack (PyPI), whose ECS scheduler starts
# each task as a container on the throwaway swarm engine of scripts/testenv/swarm.sh.
# Used by the convergence tests (packages/backend-ecs/test/ecs-convergence.integ.spec.ts);
# the request-shape tests keep using moto (scripts/testenv/ecs.sh).
#
#   scripts/testenv/ecs-tasks.sh up       needs `swarm.sh up` first; install (cached venv),
#                                         start or reuse ministack, reset its state, create
#                                         VPC/subnet/security group, write the env file
#   scripts/testenv/ecs-tasks.sh status   exit 0 when up, 3 when down
#   scripts/testenv/ecs-tasks.sh down     stop it, remove its task containers from the swarm
#                                         engine, remove the env file (safe when nothing runs)
#
# After `up`, ${SDX_TESTENV_DIR:-/tmp/sdx-testenv}/ecs-tasks.env holds:
#   SDX_ECS_TASKS_ENDPOINT=http://127.0.0.1:5066   (SDX_ECS_TASKS_PORT overrides the port)
#   SDX_ECS_TASKS_REGION=us-east-1
#   SDX_ECS_TASKS_ACCESS_KEY_ID=test               dummy credentials; deliberately not AWS_*
#   SDX_ECS_TASKS_SECRET_ACCESS_KEY=test
#   SDX_ECS_TASKS_ACCOUNT_ID=000000000000          ministack's default account
#   SDX_ECS_TASKS_VPC / _SUBNET / _SECURITY_GROUP  created in ministack's EC2 (its ECS does not
#                                                  validate them; sdx's check() wants them)
#   SDX_ECS_TASKS_DOCKER_HOST=unix://...           the swarm engine the task containers run on
#   SDX_ECS_TASKS_IMAGE=sdx-busybox:latest         a local image tasks can use (nothing pulls)
#   SDX_ECS_TASKS_CONTAINER_LABEL=ministack.instance=sdx-ecs-tasks:5066
#                                                  label on every task container of this instance
#
# Isolation. ministack binds 0.0.0.0 by default and starts side listeners (IoT mTLS on
# 0.0.0.0:8883); it also asks registries for image digests and pulls before each first
# task. So the process runs INSIDE the swarm engine's network namespace (no route out,
# side listeners unreachable from the host), while its HTTP listener is a socket that the
# launcher opens on the HOST's 127.0.0.1:<port> before it enters the namespace (setns) and
# hands to hypercorn as `fd://N`. No forwarder process; only the host's loopback reaches it.
# Registry look-ups and pulls are made by the swarm dockerd, which is in the same isolated
# namespace: they fail at once and ministack falls back to the local image.
# DOCKER_HOST is the swarm engine's unix socket (a path: reachable from any namespace).
set -euo pipefail

MINISTACK_VERSION=1.5.33
DOCKER_PY_VERSION=7.1.0

BASE_DIR=${SDX_TESTENV_DIR:-/tmp/sdx-testenv}
CACHE_DIR=${SDX_CACHE_DIR:-${HOME:-/root}/.cache/sdx}
VENV=$CACHE_DIR/ministack-venv
PORT=${SDX_ECS_TASKS_PORT:-5066}
HOST=127.0.0.1
ENDPOINT=http://$HOST:$PORT
REGION=us-east-1
INSTANCE=sdx-ecs-tasks:$PORT
PID_FILE=$BASE_DIR/ecs-tasks.pid
LOG_FILE=$BASE_DIR/ecs-tasks.log
ENV_FILE=$BASE_DIR/ecs-tasks.env
RUN_DIR=$BASE_DIR/ecs-tasks
LAUNCHER=$RUN_DIR/launch.py
SWARM_ENV=$BASE_DIR/swarm.env
START_TIMEOUT=${SDX_ECS_TASKS_START_TIMEOUT:-60}

LOG_TAG=ecs-tasks
die_log_files() { printf '%s\n' "$LOG_FILE"; }
# shellcheck source=scripts/lib/testenv.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testenv.sh"

[[ $PORT =~ ^[0-9]+$ ]] || die "SDX_ECS_TASKS_PORT must be a number (got '$PORT')"

# ---------------------------------------------------------------- swarm engine
SWARM_DOCKER_HOST=
SWARM_NETNS=
SWARM_IMAGE=
read_swarm_env() {
  [[ -f $SWARM_ENV ]] || return 1
  SWARM_DOCKER_HOST=$(sed -n 's/^SDX_SWARM_DOCKER_HOST=//p' "$SWARM_ENV")
  SWARM_NETNS=$(sed -n 's/^SDX_SWARM_NETNS=//p' "$SWARM_ENV")
  SWARM_IMAGE=$(sed -n 's/^SDX_SWARM_IMAGE=//p' "$SWARM_ENV")
  [[ -n $SWARM_DOCKER_HOST && -n $SWARM_NETNS && -n $SWARM_IMAGE ]]
}

swarm_answers() {
  [[ -n $SWARM_DOCKER_HOST && -S ${SWARM_DOCKER_HOST#unix://} ]] &&
    timeout 10 docker -H "$SWARM_DOCKER_HOST" version --format '{{.Server.APIVersion}}' >/dev/null 2>&1
}

require_swarm() {
  local how="start it first: bash scripts/testenv/swarm.sh up"
  read_swarm_env || die "the swarm test engine is not up (no usable $SWARM_ENV); $how"
  swarm_answers || die "the swarm test engine does not answer on $SWARM_DOCKER_HOST; $how"
  [[ -e /run/netns/$SWARM_NETNS ]] || die "network namespace $SWARM_NETNS is missing; $how"
  timeout 10 docker -H "$SWARM_DOCKER_HOST" image inspect "$SWARM_IMAGE" >/dev/null 2>&1 ||
    die "image $SWARM_IMAGE is missing on the swarm engine; $how"
}

# ---------------------------------------------------------------- venv
venv_ok() {
  [[ -x $VENV/bin/python ]] &&
    [[ $("$VENV/bin/python" -c 'import importlib.metadata as m, hypercorn, docker; print(m.version("ministack"), m.version("docker"))' 2>/dev/null) == "$MINISTACK_VERSION $DOCKER_PY_VERSION" ]]
}

# ministack does not depend on the docker SDK itself; without it, tasks are bookkeeping only.
ensure_venv_pinned() { ensure_venv "ministack==$MINISTACK_VERSION" "docker==$DOCKER_PY_VERSION"; }

# ---------------------------------------------------------------- process
# Our ministack: alive, not a zombie, and its command line is our launcher.
our_pid() {
  pid_alive "${1:-}" && cmdline_has "$1" "$LAUNCHER"
}

# POST /_ministack/reset stops this instance's task containers before it answers.
HTTP_TIMEOUT=60

answers() { [[ $(http_code GET "$ENDPOINT/_ministack/health") == 200 ]]; }

is_up() { our_pid "$(read_pid "$PID_FILE")" && answers; }

write_launcher() {
  mkdir -p "$RUN_DIR"
  cat >"$LAUNCHER" <<'EOF'
# Opens ministack's HTTP socket on the host's loopback, then moves this process into the
# swarm engine's network namespace and serves ministack there (see ecs-tasks.sh).
import asyncio, ctypes, os, socket, sys

host, port, netns = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind((host, port))
sock.listen(128)
CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open(f"/run/netns/{netns}", os.O_RDONLY | os.O_CLOEXEC)
if libc.setns(fd, CLONE_NEWNET) != 0:
    err = ctypes.get_errno()
    raise SystemExit(f"setns({netns}) failed: {os.strerror(err)}")
os.close(fd)
# Imported only now: every thread ministack starts is in the namespace.
from hypercorn.asyncio import serve
from hypercorn.config import Config
from ministack.app import app

config = Config()
config.bind = [f"fd://{sock.fileno()}"]
config.keep_alive_timeout = 75
config.loglevel = "INFO"
print(f"ministack serving on {host}:{port} (host loopback) from netns {netns}", flush=True)
asyncio.run(serve(app, config))  # SIGTERM: graceful shutdown, ministack removes its containers
EOF
}

start_server() {
  mkdir -p "$BASE_DIR" "$RUN_DIR/tmp"
  if port_in_use; then
    die "port $PORT on $HOST is taken by another process (not our ministack); set SDX_ECS_TASKS_PORT"
  fi
  write_launcher
  : >"$LOG_FILE"
  # GATEWAY_PORT/MINISTACK_HOSTNAME: ministack labels its containers ministack.instance=<host>:<port>,
  # which `down` uses. IoT mTLS and SFTP side listeners off; no persistence.
  env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE -u AWS_CONFIG_FILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
    DOCKER_HOST="$SWARM_DOCKER_HOST" GATEWAY_PORT="$PORT" MINISTACK_HOSTNAME="${INSTANCE%:*}" \
    MINISTACK_REGION="$REGION" IOT_MTLS_ENABLED=0 SFTP_ENABLED=0 PERSIST_STATE=0 LOG_LEVEL=INFO \
    TMPDIR="$RUN_DIR/tmp" S3_DATA_DIR="$RUN_DIR/tmp/s3" \
    setsid "$VENV/bin/python" "$LAUNCHER" "$HOST" "$PORT" "$SWARM_NETNS" \
    </dev/null >>"$LOG_FILE" 2>&1 &
  echo $! >"$PID_FILE"
  local i pid
  pid=$(read_pid "$PID_FILE")
  for ((i = 0; i < START_TIMEOUT * 10; i++)); do
    answers && return 0
    our_pid "$pid" || die "ministack exited during start"
    sleep 0.1
  done
  die "ministack did not answer on $ENDPOINT within ${START_TIMEOUT}s"
}

# ---------------------------------------------------------------- containers
# Task containers of this instance on the swarm engine (label set by ministack).
our_containers() {
  [[ -n $SWARM_DOCKER_HOST ]] && swarm_answers || return 0
  timeout 20 docker -H "$SWARM_DOCKER_HOST" ps -aq --filter "label=ministack.instance=$INSTANCE" 2>/dev/null || true
}

remove_containers() {
  local ids=()
  mapfile -t ids < <(our_containers)
  ((${#ids[@]} == 0)) && return 0
  log "removing ${#ids[@]} task container(s) left on the swarm engine"
  timeout 60 docker -H "$SWARM_DOCKER_HOST" rm -f -v "${ids[@]}" >/dev/null 2>&1 || log "could not remove some containers: ${ids[*]}"
}

# ---------------------------------------------------------------- AWS resources
create_network() {
  py - "$ENDPOINT" "$REGION" <<'EOF'
import sys
import botocore.session
endpoint, region = sys.argv[1], sys.argv[2]
session = botocore.session.get_session()
mk = lambda svc: session.create_client(svc, endpoint_url=endpoint, region_name=region,
                                       aws_access_key_id="test", aws_secret_access_key="test")
ec2 = mk("ec2")
tag = lambda kind: [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": "sdx-test"}]}]
vpc = ec2.create_vpc(CidrBlock="10.98.0.0/16", TagSpecifications=tag("vpc"))["Vpc"]["VpcId"]
subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.98.1.0/24", AvailabilityZone=region + "a",
                           TagSpecifications=tag("subnet"))["Subnet"]["SubnetId"]
sg = ec2.create_security_group(GroupName="sdx-test", Description="sdx test", VpcId=vpc,
                               TagSpecifications=tag("security-group"))["GroupId"]
account = mk("sts").get_caller_identity()["Account"]
print(f"SDX_ECS_TASKS_ACCOUNT_ID={account}")
print(f"SDX_ECS_TASKS_VPC={vpc}")
print(f"SDX_ECS_TASKS_SUBNET={subnet}")
print(f"SDX_ECS_TASKS_SECURITY_GROUP={sg}")
EOF
}

write_env() {
  local net
  net=$(create_network) || die "creating VPC/subnet/security group in ministack failed"
  {
    echo "SDX_ECS_TASKS_ENDPOINT=$ENDPOINT"
    echo "SDX_ECS_TASKS_REGION=$REGION"
    echo "SDX_ECS_TASKS_ACCESS_KEY_ID=test"
    echo "SDX_ECS_TASKS_SECRET_ACCESS_KEY=test"
    echo "$net"
    echo "SDX_ECS_TASKS_DOCKER_HOST=$SWARM_DOCKER_HOST"
    echo "SDX_ECS_TASKS_IMAGE=$SWARM_IMAGE"
    echo "SDX_ECS_TASKS_CONTAINER_LABEL=ministack.instance=$INSTANCE"
    echo "SDX_ECS_TASKS_MINISTACK_VERSION=$MINISTACK_VERSION"
  } | publish_env_file
}

# ---------------------------------------------------------------- commands
cmd_up() {
  [[ $(id -u) -eq 0 ]] || die "must run as root (enters the swarm engine's network namespace)"
  require_swarm
  ensure_venv_pinned
  if is_up; then
    local want cur
    want=$SWARM_DOCKER_HOST
    cur=$(tr '\0' '\n' 2>/dev/null <"/proc/$(read_pid "$PID_FILE")/environ" | sed -n 's/^DOCKER_HOST=//p')
    if [[ $cur != "$want" || $(ip netns identify "$(read_pid "$PID_FILE")" 2>/dev/null) != "$SWARM_NETNS" ]]; then
      log "restarting: it runs against '$cur' (want '$want' in netns $SWARM_NETNS)"
      cmd_down
      start_server
    else
      log "already up (pid $(read_pid "$PID_FILE")); resetting state"
    fi
  else
    [[ -z $(read_pid "$PID_FILE") ]] || cmd_down
    remove_containers
    start_server
    log "ministack $MINISTACK_VERSION pid $(read_pid "$PID_FILE") on $ENDPOINT, netns $SWARM_NETNS, tasks on $SWARM_DOCKER_HOST (log $LOG_FILE)"
  fi
  # Reset drops all state and stops this instance's task containers.
  [[ $(http_code POST "$ENDPOINT/_ministack/reset") == 200 ]] || die "POST /_ministack/reset failed"
  remove_containers
  write_env
}

cmd_down() {
  local pid i
  read_swarm_env || SWARM_DOCKER_HOST=unix://$BASE_DIR/swarm/docker.sock
  pid=$(read_pid "$PID_FILE")
  if our_pid "$pid"; then
    # TERM: hypercorn shuts down gracefully and ministack stops its containers (2 s each, concurrently).
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do
      our_pid "$pid" || break
      sleep 0.1
    done
    if our_pid "$pid"; then
      log "ministack pid $pid ignored TERM for 20s, sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  elif [[ -n $pid ]]; then
    log "stale pid file (pid $pid is not a running ministack of ours); removing it"
  fi
  remove_containers
  rm -f "$PID_FILE" "$ENV_FILE" "$ENV_FILE.tmp"
  rm -rf "$RUN_DIR"
  log "down"
}

cmd_status() {
  read_swarm_env || true
  if is_up; then
    echo "ecs-tasks (ministack $MINISTACK_VERSION): up, pid $(read_pid "$PID_FILE"), $ENDPOINT, netns $(ip netns identify "$(read_pid "$PID_FILE")" 2>/dev/null || echo '?')"
    echo "task containers: $(our_containers | wc -l)"
    [[ -f $ENV_FILE ]] && cat "$ENV_FILE"
    return 0
  fi
  echo "ecs-tasks (ministack): down"
  return 3
}

run_up_down_status "$@"
