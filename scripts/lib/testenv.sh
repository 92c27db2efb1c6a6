# shellcheck shell=bash
# Helpers shared by the test-environment scripts in scripts/testenv/ (sourced, never run).
# A script sets LOG_TAG (its log prefix, e.g. swarm) and, for die's log tails, may define
# die_log_files (prints one path per line) and set DIE_TAIL, then sources this file.

TESTENV_SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../testenv" && pwd)

# Logs a line on stderr, prefixed with [$LOG_TAG].
log() { printf '[%s] %s\n' "$LOG_TAG" "$*" >&2; }

# Logs an error plus the last $DIE_TAIL (25) lines of each non-empty file die_log_files names, and exits 1.
die() {
  printf '[%s] ERROR: %s\n' "$LOG_TAG" "$*" >&2
  local f files=()
  if declare -F die_log_files >/dev/null; then mapfile -t files < <(die_log_files); fi
  for f in "${files[@]}"; do
    if [[ -s $f ]]; then
      printf '[%s] --- last lines of %s ---\n' "$LOG_TAG" "$f" >&2
      tail -n "${DIE_TAIL:-25}" "$f" >&2 || true
    fi
  done
  exit 1
}

# apt-get installs those of the Debian packages "$@" that are missing (waiting for dpkg's lock, which another testenv script may hold); sets MISSING_PACKAGES to them.
apt_install_missing() {
  MISSING_PACKAGES=()
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || MISSING_PACKAGES+=("$p")
  done
  ((${#MISSING_PACKAGES[@]})) || return 0
  [[ $(id -u) -eq 0 ]] || die "need root to apt-get install ${MISSING_PACKAGES[*]}${APT_ROOT_HINT:-}"
  log "installing ${MISSING_PACKAGES[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a
  apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null || die "apt-get update failed"
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${MISSING_PACKAGES[@]}" >/dev/null ||
    die "apt-get install ${MISSING_PACKAGES[*]} failed"
}

# Dies unless every command "$@" is on PATH (or an executable path).
require_commands() {
  local p
  for p in "$@"; do
    command -v "$p" >/dev/null || die "command '$p' not found after install"
  done
}

# Alive = exists and is not a zombie (our daemons are reparented to init, which may reap late).
pid_alive() {
  [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null || return 1
  local st
  st=$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ $st != Z && $st != X ]]
}

# Prints the pid in pid file $1, nothing when the file is missing or empty.
read_pid() { if [[ -s $1 ]]; then tr -dc '0-9' <"$1"; fi; }

# Prints the command line of pid $1, arguments separated by spaces.
cmdline() { tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline"; }

# True when the command line of pid $1 contains the fixed string $2.
cmdline_has() { cmdline "$1" | grep -qF -- "$2"; }

# Stops pid $1 (TERM, $2 (100) tenths of a second, KILL) only if its command line names $STATE/: a stale pid file may name a reused pid.
stop_pid() {
  local pid=$1 wait_ds=${2:-100} i
  pid_alive "$pid" || return 0
  if ! cmdline_has "$pid" "$STATE/"; then
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

# KILLs the pids that command $1 lists, up to $2 rounds $3 seconds apart, until it lists none; $4 = quiet: no log.
kill_listed_pids() {
  local lister=$1 rounds=$2 pause=$3 quiet=${4:-} pids=() r
  for ((r = 0; r < rounds; r++)); do
    mapfile -t pids < <("$lister")
    ((${#pids[@]})) || break
    [[ $quiet == quiet ]] || log "killing leftover pids: ${pids[*]}"
    kill -KILL "${pids[@]}" 2>/dev/null || true
    sleep "$pause"
  done
}

# Starts cmd "$3..." detached in its own session (Ctrl-C of `up` misses it; setsid execs, so $! is it) without k8s.sh's flock fds 8/9; pid to file $1, output to $2.
spawn() {
  local pidf=$1 logf=$2
  shift 2
  setsid "$@" </dev/null >>"$logf" 2>&1 8>&- 9>&- &
  echo $! >"$pidf"
}

# Runs command "$3..." every second until it succeeds (true) or $1 seconds pass (false, logged; $2 says what).
wait_for() {
  local t="$1" what="$2"
  shift 2
  local deadline=$((SECONDS + t))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { log "timed out after ${t}s waiting for $what"; return 1; }
    sleep 1
  done
}

# Prints (once each, never this shell) the pids in network namespace $1, naming $2 on their command line, or in cgroups under one named $3.
pids_of_netns_dir_cgroup() {
  {
    if [[ -e /run/netns/$1 ]]; then ip netns pids "$1" 2>/dev/null || true; fi
    local p
    for p in /proc/[0-9]*; do
      if cmdline_has "${p#/proc/}" "$2"; then echo "${p#/proc/}"; fi
    done
    find /sys/fs/cgroup -name cgroup.procs -path "*/$3/*" -exec cat {} + 2>/dev/null || true
  } | sort -un | grep -vx -e "$$" -e "${BASHPID:-$$}" || true
}

# Unmounts everything at or under dir $1, deepest first; logs how many unless $2 = quiet.
unmount_under() {
  local mp n=0
  # mountinfo field 5 is the mount point
  while read -r mp; do
    umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || log "could not unmount $mp"
    n=$((n + 1))
  done < <(awk -v s="$1" '$5 == s || index($5, s "/") == 1 {print $5}' /proc/self/mountinfo | sort -r)
  ((n == 0)) || [[ ${2:-} == quiet ]] || log "unmounted $n mount(s) under $1"
}

# Removes dir $1 when it exists, unmounting what is left under it if needed ($2 as unmount_under's); false when it stays.
remove_tree() {
  [[ -e $1 ]] || return 0
  rm -rf "$1" 2>/dev/null || { unmount_under "$1" "${2:-}"; rm -rf "$1"; }
}

# Removes every (empty) cgroup named $1 and those under it, in every hierarchy, deepest first.
remove_cgroup_tree() {
  local d
  while read -r d; do
    rmdir "$d" 2>/dev/null || true
  done < <(find /sys/fs/cgroup -depth -type d \( -path "*/$1/*" -o -name "$1" \) 2>/dev/null)
}

# Deletes network namespace $1 when it exists, also when `ip netns delete` cannot (lazy unmount).
delete_netns() {
  if [[ -e /run/netns/$1 ]]; then
    ip netns delete "$1" 2>/dev/null || { umount -l "/run/netns/$1" 2>/dev/null; rm -f "/run/netns/$1"; }
  fi
}

# Makes dir $1 afresh with rootfs/ (Debian's static busybox, every applet linked in /bin, /www/index.html) and rootfs.tar of it, owned by root.
busybox_rootfs_tar() {
  local build=$1 a
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
}

# Prints a containerd 1.6 config: root and state under dir $1, socket $2, warnings only, CRI plugin disabled unless $3 = cri.
containerd_config() {
  local disabled='"io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"'
  [[ ${3:-} == cri ]] || disabled='"io.containerd.grpc.v1.cri", '"$disabled"
  cat <<EOF
version = 2
root = "$1/root"
state = "$1/state"
disabled_plugins = [$disabled]
[grpc]
  address = "$2"
[ttrpc]
  address = "$2.ttrpc"
[debug]
  address = ""
  level = "warn"
[metrics]
  address = ""
EOF
}

# Runs `registry.sh attach $1`; when the registry is down logs $2 and returns 3, dies on any other failure.
attach_to_registry() {
  local rc=0
  bash "$TESTENV_SCRIPTS_DIR/registry.sh" attach "$1" 8>&- 9>&- || rc=$?
  case $rc in
    0) ;;
    3)
      log "$2"
      return 3
      ;;
    *) die "registry.sh attach $1 failed" ;;
  esac
}

# Writes stdin to $ENV_FILE atomically (through $ENV_FILE.tmp), then logs its name and prints it on stdout.
publish_env_file() {
  cat >"$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
  log "env file $ENV_FILE:"
  cat "$ENV_FILE"
}

# Runs cmd_up, cmd_down or cmd_status for the script's argument $1; usage and exit 2 otherwise.
run_up_down_status() {
  case ${1:-} in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    *)
      echo "usage: $0 up|down|status" >&2
      exit 2
      ;;
  esac
}

# The Python of $VENV without the caller's AWS profile settings (the emulators take explicit keys).
py() { env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE -u AWS_CONFIG_FILE "$VENV/bin/python" "$@"; }

# Creates $VENV with the pip requirements "$@" unless venv_ok (the script's check) already holds.
ensure_venv() {
  venv_ok && return 0
  command -v python3 >/dev/null || die "python3 not found"
  log "creating $VENV with $*"
  rm -rf "$VENV"
  mkdir -p "$CACHE_DIR"
  python3 -m venv "$VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$VENV/bin/pip" install -q --disable-pip-version-check "$@" || die "pip install $* failed"
  venv_ok || die "venv at $VENV is not usable after install"
}

# HTTP status of METHOD URL ($1 $2) through py, or 000 when nothing answers within $HTTP_TIMEOUT (5) s.
http_code() {
  py - "$1" "$2" "${HTTP_TIMEOUT:-5}" <<'EOF'
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[2], method=sys.argv[1], data=b"" if sys.argv[1] == "POST" else None)
try:
    with urllib.request.urlopen(req, timeout=float(sys.argv[3])) as r:
        print(r.status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception:
    print("000")
EOF
}

# True when something accepts TCP connections on $HOST:$PORT.
port_in_use() {
  py - "$HOST" "$PORT" <<'EOF'
import socket, sys
s = socket.socket()
s.settimeout(1)
sys.exit(0 if s.connect_ex((sys.argv[1], int(sys.argv[2]))) == 0 else 1)
EOF
}
