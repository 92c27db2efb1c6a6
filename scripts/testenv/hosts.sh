#!/usr/bin/env bash
# Throwaway plain Linux "hosts" for the hosts backend: each one a network namespace of its
# own with its own sshd (Debian openssh-server: own config, host key, authorized_keys) and
# its own Docker Engine (Debian docker.io 20.10: own containerd, data/exec root, unix socket,
# cgroup parent), joined by a bridge on a private subnet this script creates. Not in swarm
# mode. It never talks to /var/run/docker.sock and never uses the package's ssh service.
#
#   scripts/testenv/hosts.sh up       start (or verify) and write the env file
#   scripts/testenv/hosts.sh status   exit 0 when up, 3 when down
#   scripts/testenv/hosts.sh down     tear everything down (safe when nothing runs, and
#                                     after any of its processes or `up` was killed -9)
#
# Settings (environment): SDX_HOSTS_COUNT (default 2, at most 4), SDX_HOSTS_PREFIX (default
# sdx-host, at most 12 characters), SDX_HOSTS_SUBNET (default 10.213.0.0/24, a /24),
# SDX_HOSTS_PRIVATE_DIRS (comma-separated, see below), SDX_HOSTS_START_TIMEOUT (seconds per
# dockerd, default 60). A second instance side by side needs another SDX_TESTENV_DIR,
# SDX_HOSTS_PREFIX and SDX_HOSTS_SUBNET (`down` and a stale-state `up` stop whatever runs in
# the namespaces named after the prefix).
#
# After `up`, ${SDX_TESTENV_DIR:-/tmp/sdx-testenv}/hosts.env holds (2 hosts, defaults):
#   SDX_HOSTS=10.213.0.11,10.213.0.12          host N is .(10+N) of the subnet
#   SDX_HOSTS_USER=root
#   SDX_HOSTS_PORT=22
#   SDX_HOSTS_KEY=<state>/client/id_ed25519    client private key (ed25519, no passphrase, 0600)
#   SDX_HOSTS_KNOWN_HOSTS=<state>/known_hosts  one line per host address: its ed25519 host key
#   SDX_HOSTS_FINGERPRINTS=10.213.0.11=SHA256:...,10.213.0.12=SHA256:...
#   SDX_HOSTS_NETNS=sdx-host-1,sdx-host-2
#   SDX_HOSTS_IMAGE=sdx-busybox:latest         (also tagged sdx-busybox:1) on every host
#   SDX_HOSTS_DOCKER_SOCKS=<state>/host-1/docker.sock,<state>/host-2/docker.sock
#   SDX_HOSTS_STATE=<state>
#   SDX_HOSTS_PRIVATE_DIRS=/var/lib/sdx,/var/log/sdx,/etc/sdx,/run/sdx,/srv
#
# Facts for tests:
# - Network: netns <prefix>-br holds bridge br0; host N's netns <prefix>-N has eth0 with
#   .(10+N)/24 and lo, no default route (nothing leaves the subnet). The root namespace
#   reaches the hosts through veth <prefix>-gw with .1/24, so `ssh root@10.213.0.11` works
#   from the machine, and hosts reach each other (and .1) directly. To take a host off the
#   network: `ip -n <prefix>-N link set eth0 down` (and `up` to bring it back).
# - SSH: log in as root with SDX_HOSTS_KEY only (PermitRootLogin prohibit-password, no
#   passwords, UsePAM no, StrictModes no because the state lives under /tmp). Host keys are
#   ed25519, new on every fresh `up` (a re-run `up` of a healthy env changes nothing, not the
#   keys, not the env file). Verify them with SDX_HOSTS_KNOWN_HOSTS or SDX_HOSTS_FINGERPRINTS;
#   nothing is in ~/.ssh/known_hosts. OpenSSH's client: `ssh -F /dev/null -i $KEY
#   -o IdentitiesOnly=yes -o UserKnownHostsFile=$KNOWN -o StrictHostKeyChecking=yes root@ADDR`.
#   The sftp subsystem is on; MaxSessions/MaxStartups are OpenSSH's defaults (10 channels
#   per connection), as on a real host.
# - Every session has DOCKER_HOST=unix://<state>/host-N/docker.sock (sshd_config SetEnv),
#   so `ssh root@ADDR docker ps` talks to that host's engine with no flags. Every engine has
#   its own ID (`docker info --format {{.ID}}`, its trust key in the state dir).
# - The hosts are namespaces, not VMs: they share the machine's filesystem, users and root's
#   dotfiles, except the directories of SDX_HOSTS_PRIVATE_DIRS: each host (its sessions, its
#   engine and so its containers' bind mounts) sees its own, empty at `up`, kept on the
#   machine at <state>/host-N/fs/<dir> (e.g. host 2's /var/lib/sdx/a is
#   <state>/host-2/fs/var/lib/sdx/a). `up` creates those directories on the machine as empty
#   mount points. Anything else (/tmp, /root, ...) written on host 1 is the same file on host 2.
# - Docker: --iptables=false --ip-masq=false; IPv4 forwarding on inside each host namespace
#   (dockerd's default; without it every `docker run` warns on stderr). The default bridge of
#   host N is 172.31.(100+N).1/24 inside its namespace. Published ports (`-p 8080:80`) are
#   served by docker-proxy on all addresses of the host namespace, so http://10.213.0.11:8080/
#   answers from the machine and from the other hosts' sessions. A container reaches its own
#   host's addresses but not the other hosts (no masquerading). Nothing can be pulled from the
#   internet (no DNS, no route): use SDX_HOSTS_IMAGE (a `docker import` of Debian's static
#   busybox: sh, httpd, sleep, nc, wget, ... and /www/index.html = "sdx-busybox") or the test
#   registry. Busybox 1.35's `wget -T <secs>` crashes (exit 139) in this image: write health
#   checks as `wget -q -O- URL` (Docker's own --health-timeout bounds them).
# - Registry: when ${SDX_TESTENV_DIR}/registry.env exists, `up` runs `registry.sh attach`
#   for every host, so 127.0.0.1:<port>/repo:tag of the test registry pulls on every host
#   (plain http; 127.0.0.0/8 is insecure by default). `registry.sh up` does not know about
#   these namespaces: start the registry first, or re-run `hosts.sh up` after it.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BASE_DIR=${SDX_TESTENV_DIR:-/tmp/sdx-testenv}
STATE=$BASE_DIR/hosts
ENV_FILE=$BASE_DIR/hosts.env
PREFIX=${SDX_HOSTS_PREFIX:-sdx-host}
COUNT=${SDX_HOSTS_COUNT:-2}
SUBNET=${SDX_HOSTS_SUBNET:-10.213.0.0/24}
BR_NETNS=$PREFIX-br
GW_LINK=$PREFIX-gw
CLIENT_KEY=$STATE/client/id_ed25519
KNOWN_HOSTS=$STATE/known_hosts
IMAGE=sdx-busybox
SSH_USER=root
SSH_PORT=22
START_TIMEOUT=${SDX_HOSTS_START_TIMEOUT:-60}
NS_DIR=$STATE/ns
PRIVATE_DIRS_CSV=${SDX_HOSTS_PRIVATE_DIRS:-/var/lib/sdx,/var/log/sdx,/etc/sdx,/run/sdx,/srv}

LOG_TAG=hosts
DIE_TAIL=15
die_log_files() { printf '%s\n' "$STATE"/host-*/dockerd.log "$STATE"/host-*/containerd.log "$STATE"/host-*/sshd.log "$STATE"/host-*/sshd.out; }
# shellcheck source=scripts/lib/testenv.sh
source "$SCRIPT_DIR/../lib/testenv.sh"

[[ $PREFIX =~ ^[a-z0-9][a-z0-9-]{0,11}$ ]] ||
  die "SDX_HOSTS_PREFIX must be 1-12 characters of a-z, 0-9 and '-' (it names links of at most 15 characters)"
[[ $COUNT =~ ^[1-4]$ ]] || die "SDX_HOSTS_COUNT must be 1 to 4"
[[ $SUBNET =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.0/24$ ]] ||
  die "SDX_HOSTS_SUBNET must be an IPv4 /24 written a.b.c.0/24"
NET=${SUBNET%.0/24}
GW_ADDR=$NET.1
IFS=, read -r -a PRIVATE_DIRS <<<"$PRIVATE_DIRS_CSV"
for d in "${PRIVATE_DIRS[@]}"; do
  # Two levels deep at least (or one of the top-level data dirs), so no system directory
  # such as /etc, /var or /tmp is ever hidden from the hosts' sessions and engines.
  [[ $d =~ ^/[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)+$ || $d == /srv || $d == /opt || $d == /mnt ]] ||
    die "SDX_HOSTS_PRIVATE_DIRS: '$d' is not an absolute path two levels deep (or /srv, /opt, /mnt)"
  [[ $d != *..* && $STATE/ != "$d"/* && $d/ != /tmp/* ]] || die "SDX_HOSTS_PRIVATE_DIRS: '$d' is not allowed"
done

host_ns() { echo "$PREFIX-$1"; }
host_addr() { echo "$NET.$((10 + $1))"; }
host_dir() { echo "$STATE/host-$1"; }
host_sock() { echo "$STATE/host-$1/docker.sock"; }
host_mnt() { echo "$NS_DIR/host-$1.mnt"; }

# The engine of host N keeps its default bridge apart from the other hosts' (and from the
# subnet), so an address seen in a test names one host.
host_bip() { echo "172.31.$((100 + $1)).1/24"; }
hosts_seq() { seq 1 "$COUNT"; }
joined() { local IFS=,; echo "$*"; }

# ---------------------------------------------------------------- packages
# The package's postinst starts the system sshd on port 22 of the machine where it can
# (systemd, or an init script without a policy-rc.d forbidding it). We only want its binary.
stop_package_sshd() {
  if [[ -d /run/systemd/system ]]; then
    log "stopping and disabling the ssh system service the package just started"
    systemctl disable --now ssh.service ssh.socket >/dev/null 2>&1 || true
    return 0
  fi
  local pid
  pid=$(read_pid /run/sshd.pid)
  pid_alive "$pid" || return 0
  # Only the package's daemon: an sshd in the network namespace of the machine (ours).
  [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == /usr/sbin/sshd ]] || return 0
  [[ $(readlink "/proc/$pid/ns/net") == "$(readlink "/proc/$$/ns/net")" ]] || return 0
  log "stopping the sshd (pid $pid) the package's postinst started on port 22 of the machine"
  kill -TERM "$pid" 2>/dev/null || true
  rm -f /run/sshd.pid
}

ensure_packages() {
  apt_install_missing openssh-server openssh-client docker.io busybox-static iproute2 socat
  if [[ " ${MISSING_PACKAGES[*]} " == *" openssh-server "* ]]; then stop_package_sshd; fi
  require_commands dockerd containerd runc docker nsenter setsid ip ssh ssh-keygen /usr/sbin/sshd
  [[ -x /bin/busybox ]] || die "/bin/busybox missing (busybox-static)"
}

# ---------------------------------------------------------------- helpers
names_state() { cmdline_has "$1" "$STATE/"; }

engine_answers() { # n
  local sock
  sock=$(host_sock "$1")
  [[ -S $sock ]] && timeout 10 docker -H "unix://$sock" version --format '{{.Server.APIVersion}}' >/dev/null 2>&1
}
dk() { # n docker-args...
  local n=$1
  shift
  docker -H "unix://$(host_sock "$n")" "$@"
}

# The real client, exactly as tests are told to use it.
ssh_host() { # n command...
  local n=$1
  shift
  timeout 30 ssh -F /dev/null -i "$CLIENT_KEY" -o IdentitiesOnly=yes -o BatchMode=yes \
    -o UserKnownHostsFile="$KNOWN_HOSTS" -o GlobalKnownHostsFile=/dev/null \
    -o StrictHostKeyChecking=yes -o ConnectTimeout=5 -o LogLevel=ERROR \
    -p "$SSH_PORT" "$SSH_USER@$(host_addr "$n")" "$@"
}

sshd_port_open() { # n
  timeout 3 bash -c "exec 3<>/dev/tcp/$(host_addr "$1")/$SSH_PORT" 2>/dev/null
}

host_is_up() { # n
  local n=$1 pid
  pid=$(read_pid "$(host_dir "$n")/sshd.pid")
  [[ -e /run/netns/$(host_ns "$n") ]] && pid_alive "$pid" && names_state "$pid" &&
    pid_alive "$(read_pid "$(host_dir "$n")/dockerd.pid")" && engine_answers "$n" && sshd_port_open "$n"
}

is_up() {
  local n
  [[ -f $ENV_FILE && -s $CLIENT_KEY && -s $KNOWN_HOSTS ]] || return 1
  # Another count or subnet than the running env's: not this env.
  local addrs=()
  for n in $(hosts_seq); do addrs+=("$(host_addr "$n")"); done
  grep -qxF "SDX_HOSTS=$(joined "${addrs[@]}")" "$ENV_FILE" || return 1
  [[ -e /run/netns/$BR_NETNS ]] && ip -4 addr show dev "$GW_LINK" 2>/dev/null | grep -qF " $GW_ADDR/24 " || return 1
  for n in $(hosts_seq); do host_is_up "$n" || return 1; done
}

re_escape() { printf '%s' "$1" | sed -E 's/[][\\.*^$+?(){}|]/\\&/g'; }

# Every process that belongs to this env, by pid:
# - processes in our network namespaces (dockerd, containerd, sshd and its sessions,
#   docker-proxy, the registry's forwarders),
# - processes whose command line names a host's containerd dir, sshd_config or daemon.json
#   (containerd shims; any of them after `up` was killed between spawn and netns),
# - processes in the containers' cgroup parents.
leftover_pids() {
  {
    local ns p
    for ns in "$BR_NETNS" $(for p in 1 2 3 4; do host_ns "$p"; done); do
      if [[ -e /run/netns/$ns ]]; then ip netns pids "$ns" 2>/dev/null || true; fi
    done
    while read -r p; do
      p=${p#/proc/}
      echo "${p%/cmdline}"
    done < <(grep -lsE -- "$(re_escape "$STATE")/host-[0-9]+/(containerd/|sshd_config|daemon\.json)" /proc/[0-9]*/cmdline 2>/dev/null || true)
    for p in 1 2 3 4; do
      find /sys/fs/cgroup -name cgroup.procs -path "*/$(host_ns "$p")/*" -exec cat {} + 2>/dev/null || true
    done
  } | sort -un | grep -vx -e "$$" -e "${BASHPID:-$$}" || true
}

# containerd 1.6 puts each shim's socket at /run/containerd/s/sha256(<containerd address>/<ns>/<id>),
# whatever its state dir; a killed shim leaves it behind. Remove ours by that name.
remove_shim_sockets() {
  local hd d id h n=0
  for hd in "$STATE"/host-*; do
    [[ -d $hd ]] || continue
    for d in "$hd/containerd/state/io.containerd.runtime.v2.task/moby"/* "$hd/data/containers"/*; do
      id=${d##*/}
      [[ $id =~ ^[0-9a-f]{64}$ ]] || continue
      h=$(printf '%s' "$hd/containerd/containerd.sock/moby/$id" | sha256sum | cut -d' ' -f1)
      if [[ -e /run/containerd/s/$h ]]; then rm -f "/run/containerd/s/$h" && n=$((n + 1)); fi
    done
  done
  ((n == 0)) || log "removed $n stale shim socket(s)"
}

remove_cgroups() {
  local p
  for p in 1 2 3 4; do remove_cgroup_tree "$(host_ns "$p")"; done
}

# ---------------------------------------------------------------- network
check_subnet_free() {
  local routes
  routes=$(ip -4 route show to exact "$SUBNET" 2>/dev/null | grep -v " dev $GW_LINK " || true)
  [[ -z $routes ]] || die "subnet $SUBNET is already routed on this machine ($routes); set SDX_HOSTS_SUBNET"
  if ip -4 -o addr show | grep -v " $GW_LINK " | grep -qF " $GW_ADDR/"; then
    die "address $GW_ADDR is already on another interface; set SDX_HOSTS_SUBNET"
  fi
}

no_ipv6() { # netns|"" link
  if [[ -n $1 ]]; then
    ip netns exec "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1" >/dev/null 2>&1 || true
  else
    sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1" >/dev/null 2>&1 || true
  fi
}

make_network() {
  local n ns
  ip netns add "$BR_NETNS" || die "ip netns add $BR_NETNS failed"
  ip -n "$BR_NETNS" link set lo up
  ip -n "$BR_NETNS" link add br0 type bridge || die "could not create bridge br0 in $BR_NETNS"
  no_ipv6 "$BR_NETNS" br0
  ip -n "$BR_NETNS" link set br0 up

  # The machine's end: a veth into the bridge, so the backend reaches host N at its address.
  ip link add "$GW_LINK" type veth peer name gw netns "$BR_NETNS" || die "could not create veth $GW_LINK"
  ip -n "$BR_NETNS" link set gw master br0 up
  no_ipv6 "" "$GW_LINK"
  ip addr add "$GW_ADDR/24" dev "$GW_LINK"
  ip link set "$GW_LINK" up

  for n in $(hosts_seq); do
    ns=$(host_ns "$n")
    ip netns add "$ns" || die "ip netns add $ns failed"
    ip -n "$ns" link set lo up
    ip -n "$BR_NETNS" link add "h$n" type veth peer name eth0 netns "$ns" ||
      die "could not create the veth of host $n"
    ip -n "$BR_NETNS" link set "h$n" master br0 up
    no_ipv6 "$ns" eth0
    ip -n "$ns" addr add "$(host_addr "$n")/24" dev eth0
    ip -n "$ns" link set eth0 up
  done
}

# ---------------------------------------------------------------- mounts
# The hosts share the machine's filesystem except these directories: each host has its own,
# kept at <state>/host-N/fs/<dir>, in a mount namespace of its own (persisted as a file, so
# sshd, containerd, dockerd and the engine's bind mounts all see the same files).
make_mount_ns() { # n
  local n=$1 hd d
  hd=$(host_dir "$n")
  if ! awk -v s="$NS_DIR" '$5 == s {f = 1} END {exit !f}' /proc/self/mountinfo; then
    mkdir -p "$NS_DIR"
    # A namespace file may only be bind-mounted on a private mount.
    if ! mount --bind "$NS_DIR" "$NS_DIR" || ! mount --make-private "$NS_DIR"; then
      die "could not make $NS_DIR a private mount"
    fi
  fi
  : >"$(host_mnt "$n")"
  for d in "${PRIVATE_DIRS[@]}"; do mkdir -p "$d" "$hd/fs$d"; done
  # Inside, the namespace files of the other hosts are detached, so no host's namespace
  # holds another's alive.
  # shellcheck disable=SC2016 # expanded by the inner shell
  unshare --mount="$(host_mnt "$n")" --propagation private -- \
    sh -ec 'umount -l "$1"; fs=$2; shift 2; for d in "$@"; do mount --bind "$fs$d" "$d"; done' \
    sh "$NS_DIR" "$hd/fs" "${PRIVATE_DIRS[@]}" ||
    die "could not create the mount namespace of host $n"
}

# ---------------------------------------------------------------- ssh
make_client_key() {
  mkdir -p "$STATE/client"
  chmod 700 "$STATE/client"
  ssh-keygen -q -t ed25519 -N '' -C "sdx-hosts-testenv" -f "$CLIENT_KEY" >/dev/null || die "ssh-keygen (client key) failed"
  chmod 600 "$CLIENT_KEY"
}

start_sshd() { # n
  local n=$1 hd ns i
  hd=$(host_dir "$n")
  ns=$(host_ns "$n")
  ssh-keygen -q -t ed25519 -N '' -C "$ns" -f "$hd/ssh_host_ed25519_key" >/dev/null || die "ssh-keygen (host key of $ns) failed"
  cp "$CLIENT_KEY.pub" "$hd/authorized_keys"
  chmod 600 "$hd/authorized_keys"
  cat >"$hd/sshd_config" <<EOF
# sdx hosts test env, host $n ($ns). Only this file is read (no /etc/ssh/sshd_config).
Port $SSH_PORT
ListenAddress 0.0.0.0
HostKey $hd/ssh_host_ed25519_key
# The pid file is the launcher's ($hd/sshd.pid): one sshd rewrites races with readers.
PidFile none
AuthorizedKeysFile $hd/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
# The state dir is under /tmp (mode 1777), which strict modes refuse for authorized_keys.
StrictModes no
PrintMotd no
PrintLastLog no
X11Forwarding no
SetEnv DOCKER_HOST=unix://$hd/docker.sock
Subsystem sftp /usr/lib/openssh/sftp-server
LogLevel INFO
EOF
  # Privilege separation directory, which the package's init script would create.
  mkdir -p /run/sshd
  chmod 755 /run/sshd
  /usr/sbin/sshd -t -f "$hd/sshd_config" 2>"$hd/sshd.log" || die "sshd -t rejects $hd/sshd_config: $(cat "$hd/sshd.log")"
  setsid nsenter --net="/run/netns/$ns" --mount="$(host_mnt "$n")" -- /usr/sbin/sshd -D -f "$hd/sshd_config" -E "$hd/sshd.log" \
    </dev/null >"$hd/sshd.out" 2>&1 &
  echo $! >"$hd/sshd.pid"
  for ((i = 0; i < 50; i++)); do
    sshd_port_open "$n" && return 0
    pid_alive "$(read_pid "$hd/sshd.pid")" || die "sshd of $ns exited"
    sleep 0.1
  done
  die "sshd of $ns does not accept connections on $(host_addr "$n"):$SSH_PORT"
}

write_known_hosts() {
  local n
  (
    umask 022
    for n in $(hosts_seq); do
      printf '%s %s\n' "$(host_addr "$n")" "$(cut -d' ' -f1,2 "$(host_dir "$n")/ssh_host_ed25519_key.pub")"
    done >"$KNOWN_HOSTS.tmp"
  )
  mv "$KNOWN_HOSTS.tmp" "$KNOWN_HOSTS"
}

fingerprint() { # n
  ssh-keygen -l -E sha256 -f "$(host_dir "$1")/ssh_host_ed25519_key.pub" | cut -d' ' -f2
}

# ---------------------------------------------------------------- docker
start_engine() { # n
  local n=$1 hd ns ctrd i
  hd=$(host_dir "$n")
  ns=$(host_ns "$n")
  ctrd=$hd/containerd
  mkdir -p "$ctrd"
  # Own containerd, so a system containerd (and the user's dockerd using it) is never shared.
  containerd_config "$ctrd" "$ctrd/containerd.sock" >"$ctrd/config.toml"
  setsid nsenter --net="/run/netns/$ns" --mount="$(host_mnt "$n")" -- containerd --config "$ctrd/config.toml" \
    </dev/null >"$hd/containerd.log" 2>&1 &
  echo $! >"$hd/containerd.pid"
  # An explicit config file so /etc/docker/daemon.json of the machine is never read. The trust
  # key is the engine's ID (docker info .ID): per host, not the machine's /etc/docker/key.json.
  printf '{"deprecated-key-path": "%s/key.json"}\n' "$hd" >"$hd/daemon.json"
  for ((i = 0; i < 100; i++)); do
    [[ -S $ctrd/containerd.sock ]] && break
    pid_alive "$(read_pid "$hd/containerd.pid")" || die "containerd of $ns exited"
    sleep 0.1
  done
  [[ -S $ctrd/containerd.sock ]] || die "containerd socket of $ns did not appear"

  setsid nsenter --net="/run/netns/$ns" --mount="$(host_mnt "$n")" -- \
    dockerd \
    --config-file "$hd/daemon.json" \
    --data-root "$hd/data" \
    --exec-root "$hd/exec" \
    --pidfile "$hd/dockerd.pid" \
    --host "unix://$hd/docker.sock" \
    --containerd "$ctrd/containerd.sock" \
    --cgroup-parent "$ns" \
    --exec-opt native.cgroupdriver=cgroupfs \
    --bip "$(host_bip "$n")" \
    --iptables=false --ip-masq=false \
    --log-level warn \
    </dev/null >"$hd/dockerd.log" 2>&1 &
  echo $! >"$hd/dockerd.launch.pid"
}

wait_engine() { # n
  local n=$1 hd i
  hd=$(host_dir "$n")
  for ((i = 0; i < START_TIMEOUT * 10; i++)); do
    engine_answers "$n" && break
    pid_alive "$(read_pid "$hd/dockerd.launch.pid")" || pid_alive "$(read_pid "$hd/dockerd.pid")" ||
      die "dockerd of $(host_ns "$n") exited"
    sleep 0.1
  done
  engine_answers "$n" || die "dockerd of $(host_ns "$n") did not answer within ${START_TIMEOUT}s"
  rm -f "$hd/dockerd.launch.pid"
}

# The busybox root filesystem, built once and imported on every host.
image_tar() {
  local build=$STATE/image-build
  [[ -s $build/rootfs.tar ]] && return 0
  busybox_rootfs_tar "$build"
}

ensure_image() { # n
  local n=$1
  if ! dk "$n" image inspect "$IMAGE:latest" >/dev/null 2>&1; then
    image_tar
    dk "$n" import \
      -c 'ENV PATH=/bin:/sbin:/usr/bin:/usr/sbin' \
      -c 'CMD ["sh"]' \
      -m 'sdx test image: Debian busybox-static' \
      "$STATE/image-build/rootfs.tar" "$IMAGE:latest" >/dev/null || die "docker import on $(host_ns "$n") failed"
  fi
  dk "$n" tag "$IMAGE:latest" "$IMAGE:1" >/dev/null
}

# ---------------------------------------------------------------- registry, env
# The test registry (scripts/testenv/registry.sh) forwards into each host's namespace when it
# runs, so images pushed to 127.0.0.1:<port> on the machine pull at the same reference there.
attach_registry() {
  [[ -f $BASE_DIR/registry.env ]] || return 0
  local n port auth_port
  # registry.sh takes its ports from the environment, not from its env file: pass the ones the
  # running registry wrote, so the forwarders listen where the env file says, whoever calls us.
  port=$(sed -n 's/^SDX_REGISTRY_ADDR=.*:\([0-9]*\)$/\1/p' "$BASE_DIR/registry.env")
  auth_port=$(sed -n 's/^SDX_REGISTRY_AUTH_ADDR=.*:\([0-9]*\)$/\1/p' "$BASE_DIR/registry.env")
  [[ -n $port && -n $auth_port ]] || die "$BASE_DIR/registry.env has no SDX_REGISTRY_ADDR/SDX_REGISTRY_AUTH_ADDR ports"
  for n in $(hosts_seq); do
    SDX_TESTENV_DIR=$BASE_DIR SDX_REGISTRY_PORT=$port SDX_REGISTRY_AUTH_PORT=$auth_port \
      attach_to_registry "$(host_ns "$n")" \
      "registry.env exists but the registry is down; not attached (run registry.sh up, then hosts.sh up)" || return 0
  done
}

# Each login works with the real client, the known_hosts file and no docker flags.
verify_logins() {
  local n got
  for n in $(hosts_seq); do
    got=$(ssh_host "$n" docker info --format '{{.DockerRootDir}}' 2>&1) ||
      die "ssh root@$(host_addr "$n") docker info failed: $got"
    [[ $got == "$(host_dir "$n")/data" ]] ||
      die "ssh root@$(host_addr "$n") reached the engine at '$got', not $(host_dir "$n")/data (SetEnv DOCKER_HOST?)"
  done
}

write_env() {
  local n addrs=() fps=() nss=() socks=()
  for n in $(hosts_seq); do
    addrs+=("$(host_addr "$n")")
    fps+=("$(host_addr "$n")=$(fingerprint "$n")")
    nss+=("$(host_ns "$n")")
    socks+=("$(host_sock "$n")")
  done
  mkdir -p "$BASE_DIR"
  cat >"$ENV_FILE.tmp" <<EOF
SDX_HOSTS=$(joined "${addrs[@]}")
SDX_HOSTS_USER=$SSH_USER
SDX_HOSTS_PORT=$SSH_PORT
SDX_HOSTS_KEY=$CLIENT_KEY
SDX_HOSTS_KNOWN_HOSTS=$KNOWN_HOSTS
SDX_HOSTS_FINGERPRINTS=$(joined "${fps[@]}")
SDX_HOSTS_NETNS=$(joined "${nss[@]}")
SDX_HOSTS_IMAGE=$IMAGE:latest
SDX_HOSTS_DOCKER_SOCKS=$(joined "${socks[@]}")
SDX_HOSTS_STATE=$STATE
SDX_HOSTS_PRIVATE_DIRS=$(joined "${PRIVATE_DIRS[@]}")
EOF
  # A re-run `up` leaves an unchanged file alone (its mtime too).
  if cmp -s "$ENV_FILE.tmp" "$ENV_FILE"; then rm -f "$ENV_FILE.tmp"; else mv "$ENV_FILE.tmp" "$ENV_FILE"; fi
  log "env file $ENV_FILE:"
  cat "$ENV_FILE" >&2
}

# ---------------------------------------------------------------- commands
cmd_up() {
  ensure_packages
  [[ $(id -u) -eq 0 ]] || die "must run as root (network namespaces, dockerd, sshd)"
  ((${#STATE} < 60)) || die "state dir path too long for unix sockets ($STATE); use a shorter SDX_TESTENV_DIR"
  local t0=$SECONDS n

  if is_up; then
    log "already up; verifying"
    for n in $(hosts_seq); do ensure_image "$n"; done
    verify_logins
    write_env
    attach_registry
    return 0
  fi
  if [[ -e $STATE || -e $ENV_FILE || -e /run/netns/$BR_NETNS ]] || ip link show "$GW_LINK" >/dev/null 2>&1 ||
    [[ -n $(leftover_pids) ]]; then
    log "stale state found, cleaning up first"
    cmd_down
  fi
  for n in 1 2 3 4; do
    [[ ! -e /run/netns/$(host_ns "$n") ]] || cmd_down
  done
  check_subnet_free

  mkdir -p "$STATE"
  chmod 755 "$STATE"
  for n in $(hosts_seq); do
    mkdir -p "$(host_dir "$n")"
    make_mount_ns "$n"
  done
  make_network
  make_client_key
  # Engines first (they take the longest), sshd while they start.
  for n in $(hosts_seq); do start_engine "$n"; done
  for n in $(hosts_seq); do start_sshd "$n"; done
  write_known_hosts
  for n in $(hosts_seq); do
    wait_engine "$n"
    ensure_image "$n"
    log "host $n: $(host_ns "$n") $(host_addr "$n"), dockerd $(dk "$n" version --format '{{.Server.Version}}') pid $(read_pid "$(host_dir "$n")/dockerd.pid"), sshd pid $(read_pid "$(host_dir "$n")/sshd.pid")"
  done
  verify_logins
  write_env
  attach_registry
  log "up in $((SECONDS - t0))s"
}

cmd_down() {
  [[ $(id -u) -eq 0 ]] || die "must run as root"
  local n hd ids=()
  for hd in "$STATE"/host-*; do
    [[ -d $hd ]] || continue
    n=${hd##*-}
    if command -v docker >/dev/null && [[ $n =~ ^[0-9]+$ ]] && engine_answers "$n"; then
      mapfile -t ids < <(dk "$n" ps -aq 2>/dev/null || true)
      ((${#ids[@]} == 0)) || dk "$n" rm -f "${ids[@]}" >/dev/null 2>&1 || true
    fi
  done
  for hd in "$STATE"/host-*; do
    [[ -d $hd ]] || continue
    stop_pid "$(read_pid "$hd/sshd.pid")" 20
    stop_pid "$(read_pid "$hd/dockerd.pid")" 150
    # containerd runs nothing of ours any more; its graceful stop takes ~2 s for nothing
    stop_pid "$(read_pid "$hd/containerd.pid")" 3
  done

  kill_listed_pids leftover_pids 3 0.3

  remove_shim_sockets
  unmount_under "$STATE"
  remove_cgroups
  local ns
  for ns in $(for n in 1 2 3 4; do host_ns "$n"; done) "$BR_NETNS"; do delete_netns "$ns"; done
  # Gone with its peer in the bridge namespace; only a veth of that name is ever ours.
  if ip -d link show "$GW_LINK" 2>/dev/null | grep -q ' veth '; then ip link delete "$GW_LINK" 2>/dev/null || true; fi
  remove_tree "$STATE" || die "could not remove $STATE"
  rm -f "$ENV_FILE" "$ENV_FILE.tmp"
  log "down"
}

cmd_status() {
  local n
  if is_up; then
    echo "hosts: up ($COUNT hosts on $SUBNET, machine at $GW_ADDR via $GW_LINK)"
    for n in $(hosts_seq); do
      echo "  host $n: $(host_ns "$n") $(host_addr "$n"):$SSH_PORT sshd pid $(read_pid "$(host_dir "$n")/sshd.pid"), dockerd pid $(read_pid "$(host_dir "$n")/dockerd.pid") unix://$(host_sock "$n"), $(dk "$n" ps -q 2>/dev/null | wc -l) container(s)"
    done
    cat "$ENV_FILE"
    return 0
  fi
  echo "hosts: down"
  [[ -e $STATE ]] && echo "  (state dir $STATE exists; run '$0 down' to clean up)"
  for n in 1 2 3 4; do
    [[ -e /run/netns/$(host_ns "$n") ]] && echo "  (network namespace $(host_ns "$n") exists)"
  done
  [[ -e /run/netns/$BR_NETNS ]] && echo "  (network namespace $BR_NETNS exists)"
  return 3
}

run_up_down_status "$@"
