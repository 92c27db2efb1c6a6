#!/usr/bin/env bash
# A local ECS API for tests: moto in server mode on 127.0.0.1.
#
#   scripts/testenv/ecs.sh up       install (cached venv), start or reuse moto_server, reset
#                                   its state, create VPC/subnet/security group, write env file
#   scripts/testenv/ecs.sh status   exit 0 when up, 3 when down
#   scripts/testenv/ecs.sh down     stop it (safe when nothing runs) and remove the env file
#
# After `up`, ${SDX_TESTENV_DIR:-/tmp/sdx-testenv}/ecs.env holds:
#   SDX_ECS_ENDPOINT=http://127.0.0.1:5055   (SDX_ECS_PORT overrides the port)
#   SDX_ECS_REGION=us-east-1
#   SDX_ECS_ACCESS_KEY_ID=testing            dummy credentials; deliberately not AWS_* so
#   SDX_ECS_SECRET_ACCESS_KEY=testing        they never leak into other tools
#   SDX_ECS_ACCOUNT_ID=123456789012          moto's default account
#   SDX_ECS_VPC=vpc-...  SDX_ECS_SUBNET=subnet-...  SDX_ECS_SECURITY_GROUP=sg-...
#   SDX_ECS_SERVICE_RUNNING=N                what moto reports as runningCount of a new service
#
# moto has no scheduler: CreateService reports runningCount = MOTO_ECS_SERVICE_RUNNING
# (server-wide, from SDX_ECS_SERVICE_RUNNING here, default 0) and
# pendingCount = desiredCount - that; deployments[0].rolloutState is COMPLETED only when
# that number >= desiredCount, else IN_PROGRESS forever. UpdateService with desiredCount
# sets runningCount = desiredCount, pendingCount = 0, but never touches deployments[0].
# Every `up` resets all moto state (POST /moto-api/reset), so each test run starts clean.
set -euo pipefail

MOTO_VERSION=5.2.5

BASE_DIR=${SDX_TESTENV_DIR:-/tmp/sdx-testenv}
CACHE_DIR=${SDX_CACHE_DIR:-${HOME:-/root}/.cache/sdx}
VENV=$CACHE_DIR/moto-venv
PORT=${SDX_ECS_PORT:-5055}
HOST=127.0.0.1
ENDPOINT=http://$HOST:$PORT
REGION=us-east-1
SERVICE_RUNNING=${SDX_ECS_SERVICE_RUNNING:-0}
PID_FILE=$BASE_DIR/ecs.pid
LOG_FILE=$BASE_DIR/ecs.log
ENV_FILE=$BASE_DIR/ecs.env
START_TIMEOUT=${SDX_ECS_START_TIMEOUT:-60}

LOG_TAG=ecs
die_log_files() { printf '%s\n' "$LOG_FILE"; }
# shellcheck source=scripts/lib/testenv.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testenv.sh"

[[ $PORT =~ ^[0-9]+$ ]] || die "SDX_ECS_PORT must be a number (got '$PORT')"
[[ $SERVICE_RUNNING =~ ^[0-9]+$ ]] || die "SDX_ECS_SERVICE_RUNNING must be a number (got '$SERVICE_RUNNING')"

# ---------------------------------------------------------------- venv
venv_ok() {
  [[ -x $VENV/bin/python && -x $VENV/bin/moto_server ]] &&
    [[ $("$VENV/bin/python" -c 'import importlib.metadata as m, flask, boto3; print(m.version("moto"))' 2>/dev/null) == "$MOTO_VERSION" ]]
}

ensure_venv_pinned() { ensure_venv "moto[server]==$MOTO_VERSION"; }

# ---------------------------------------------------------------- process
# Our moto_server: alive, not a zombie, and its command line is moto_server from our venv.
our_pid() {
  pid_alive "${1:-}" && cmdline_has "$1" "moto_server"
}

answers() { [[ $(http_code GET "$ENDPOINT/moto-api/") != 000 ]]; }

is_up() { our_pid "$(read_pid "$PID_FILE")" && answers; }

start_server() {
  mkdir -p "$BASE_DIR"
  if port_in_use; then
    die "port $PORT on $HOST is taken by another process (not our moto_server); set SDX_ECS_PORT"
  fi
  : >"$LOG_FILE"
  MOTO_ECS_SERVICE_RUNNING=$SERVICE_RUNNING setsid "$VENV/bin/moto_server" -H "$HOST" -p "$PORT" \
    </dev/null >>"$LOG_FILE" 2>&1 &
  echo $! >"$PID_FILE"
  local i pid
  pid=$(read_pid "$PID_FILE")
  for ((i = 0; i < START_TIMEOUT * 10; i++)); do
    answers && return 0
    our_pid "$pid" || die "moto_server exited during start"
    sleep 0.1
  done
  die "moto_server did not answer on $ENDPOINT within ${START_TIMEOUT}s"
}

# ---------------------------------------------------------------- AWS resources
create_network() {
  py - "$ENDPOINT" "$REGION" <<'EOF'
import sys, boto3
endpoint, region = sys.argv[1], sys.argv[2]
ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name=region,
                   aws_access_key_id="testing", aws_secret_access_key="testing")
tag = lambda kind: [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": "sdx-test"}]}]
vpc = ec2.create_vpc(CidrBlock="10.99.0.0/16", TagSpecifications=tag("vpc"))["Vpc"]["VpcId"]
# Like a default VPC. Also needed by moto: awsvpc RunTask reads the ENI's private DNS name,
# which moto only sets when the VPC has DNS hostnames enabled (else HTTP 500).
ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.99.1.0/24", AvailabilityZone=region + "a",
                           TagSpecifications=tag("subnet"))["Subnet"]["SubnetId"]
sg = ec2.create_security_group(GroupName="sdx-test", Description="sdx test", VpcId=vpc,
                               TagSpecifications=tag("security-group"))["GroupId"]
sts = boto3.client("sts", endpoint_url=endpoint, region_name=region,
                   aws_access_key_id="testing", aws_secret_access_key="testing")
account = sts.get_caller_identity()["Account"]
print(f"SDX_ECS_ACCOUNT_ID={account}")
print(f"SDX_ECS_VPC={vpc}")
print(f"SDX_ECS_SUBNET={subnet}")
print(f"SDX_ECS_SECURITY_GROUP={sg}")
EOF
}

write_env() {
  local net
  net=$(create_network) || die "creating VPC/subnet/security group in moto failed"
  {
    echo "SDX_ECS_ENDPOINT=$ENDPOINT"
    echo "SDX_ECS_REGION=$REGION"
    echo "SDX_ECS_ACCESS_KEY_ID=testing"
    echo "SDX_ECS_SECRET_ACCESS_KEY=testing"
    echo "$net"
    echo "SDX_ECS_SERVICE_RUNNING=$SERVICE_RUNNING"
    echo "SDX_ECS_MOTO_VERSION=$MOTO_VERSION"
  } | publish_env_file
}

# ---------------------------------------------------------------- commands
cmd_up() {
  ensure_venv_pinned
  if is_up; then
    # MOTO_ECS_SERVICE_RUNNING is read by the server process: restart when it changed.
    local cur
    cur=$(tr '\0' '\n' 2>/dev/null <"/proc/$(read_pid "$PID_FILE")/environ" | sed -n 's/^MOTO_ECS_SERVICE_RUNNING=//p')
    if [[ $cur != "$SERVICE_RUNNING" ]]; then
      log "restarting: MOTO_ECS_SERVICE_RUNNING was '$cur', want '$SERVICE_RUNNING'"
      cmd_down
      start_server
    else
      log "already up (pid $(read_pid "$PID_FILE")); resetting state"
    fi
  else
    [[ -z $(read_pid "$PID_FILE") ]] || cmd_down
    start_server
    log "moto_server $MOTO_VERSION pid $(read_pid "$PID_FILE") on $ENDPOINT (log $LOG_FILE)"
  fi
  [[ $(http_code POST "$ENDPOINT/moto-api/reset") == 200 ]] || die "POST /moto-api/reset failed"
  write_env
}

cmd_down() {
  local pid i
  pid=$(read_pid "$PID_FILE")
  if our_pid "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      our_pid "$pid" || break
      sleep 0.1
    done
    if our_pid "$pid"; then
      log "moto_server pid $pid ignored TERM, sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  elif [[ -n $pid ]]; then
    log "stale pid file (pid $pid is not a running moto_server of ours); removing it"
  fi
  rm -f "$PID_FILE" "$ENV_FILE" "$ENV_FILE.tmp"
  log "down"
}

cmd_status() {
  if is_up; then
    echo "ecs (moto $MOTO_VERSION): up, pid $(read_pid "$PID_FILE"), $ENDPOINT"
    [[ -f $ENV_FILE ]] && cat "$ENV_FILE"
    return 0
  fi
  echo "ecs (moto): down"
  return 3
}

run_up_down_status "$@"
