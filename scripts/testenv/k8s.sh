#!/usr/bin/env bash
# Local Kubernetes control plane for sdx integration tests.
#
# Builds (once, cached) the official kube-apiserver, kube-controller-manager,
# kube-scheduler and kubectl from the Go module proxy, plus etcd 3.6 and
# kwok/kwokctl, then runs a real control plane on 127.0.0.1 with kwokctl's
# "binary" runtime. Nodes and pods are simulated by kwok: the API server,
# RBAC, admission, controllers and scheduler are the real ones.
#
# Usage: scripts/testenv/k8s.sh build|up|down|status
#
# Environment (all optional):
#   SDX_K8S_VERSION      Kubernetes version to build (default below)
#   SDX_ETCD_VERSION     etcd server version (3.6.x)
#   SDX_KWOK_VERSION     kwok/kwokctl version
#   SDX_CACHE_DIR        binary cache root        (default ~/.cache/sdx)
#   SDX_TESTENV_DIR      runtime state/logs/env   (default /tmp/sdx-testenv)
#   SDX_K8S_CLUSTER      cluster name             (default sdx-test)
#   SDX_K8S_MIN_FREE_GB  free disk needed to build (default 10)
#   SDX_K8S_BUILD_JOBS   go build -p              (default: nproc, max 4)
#
# Writes ${SDX_TESTENV_DIR}/k8s.env with SDX_K8S_KUBECONFIG, SDX_K8S_CONTEXT
# and SDX_K8S_KUBECTL. Logs: ${SDX_TESTENV_DIR}/k8s-*.log.
set -Eeuo pipefail

# ---- version pins (one place) ----------------------------------------------
K8S_VERSION="${SDX_K8S_VERSION:-v1.36.3}"
ETCD_VERSION="${SDX_ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${SDX_KWOK_VERSION:-v0.8.0}"
# ----------------------------------------------------------------------------

CACHE_ROOT="${SDX_CACHE_DIR:-$HOME/.cache/sdx}"
K8S_DIR="$CACHE_ROOT/k8s-$K8S_VERSION"
BIN="$K8S_DIR/bin"
STAMP="$K8S_DIR/build.stamp"
MIN_FREE_GB="${SDX_K8S_MIN_FREE_GB:-10}"

TESTENV_DIR="${SDX_TESTENV_DIR:-/tmp/sdx-testenv}"
CLUSTER="${SDX_K8S_CLUSTER:-sdx-test}"
STATE_DIR="$TESTENV_DIR/k8s-state"            # KWOK_WORKDIR
CLUSTER_DIR="$STATE_DIR/clusters/$CLUSTER"
KUBECONFIG_PATH="$TESTENV_DIR/k8s-kubeconfig.yaml"
KWOKCTL_CONFIG="$TESTENV_DIR/k8s-kwokctl.yaml"
ENV_FILE="$TESTENV_DIR/k8s.env"
CONTEXT="kwok-$CLUSTER"
BUILD_LOG="$TESTENV_DIR/k8s-build.log"
UP_LOG="$TESTENV_DIR/k8s-up.log"

K8S_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
ALL_BINARIES=("${K8S_BINARIES[@]}" etcd kwok kwokctl)

log() { printf '[k8s.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

stamp_content() {
  printf 'k8s=%s etcd=%s kwok=%s\n' "$K8S_VERSION" "$ETCD_VERSION" "$KWOK_VERSION"
}

is_built() {
  [[ -f "$STAMP" ]] || return 1
  [[ "$(head -n1 "$STAMP")" == "$(stamp_content)" ]] || return 1
  local b
  for b in "${ALL_BINARIES[@]}"; do [[ -x "$BIN/$b" ]] || return 1; done
}

free_gb() { df -P -BG "$1" | awk 'NR==2 { sub(/G$/, "", $4); print $4 }'; }

# ============================================================================
# build
# ============================================================================
BUILD_TMP=""
MONITOR_PID=""
build_cleanup() {
  if [[ -n "$MONITOR_PID" ]]; then kill "$MONITOR_PID" 2>/dev/null || true; wait "$MONITOR_PID" 2>/dev/null || true; fi
  if [[ -n "$BUILD_TMP" && -d "$BUILD_TMP" ]]; then
    chmod -R u+w "$BUILD_TMP" 2>/dev/null || true
    rm -rf "$BUILD_TMP"
  fi
}

do_build() {
  command -v go >/dev/null || die "go is not on PATH (Go >= 1.26 is needed)"
  mkdir -p "$CACHE_ROOT" "$TESTENV_DIR"

  exec 8>"$CACHE_ROOT/.k8s-build.lock"
  if ! flock -n 8; then
    log "another build holds $CACHE_ROOT/.k8s-build.lock; waiting for it"
    flock 8
  fi
  if is_built; then log "already built: $BIN ($(stamp_content))"; return 0; fi

  # Half builds from a crashed run: never reused, always removed.
  rm -rf "$CACHE_ROOT"/.k8s-build.* 2>/dev/null || true
  local avail; avail="$(free_gb "$CACHE_ROOT")"
  if (( avail < MIN_FREE_GB )); then
    die "only ${avail} GB free on $(df -P "$CACHE_ROOT" | awk 'NR==2{print $6}') (for $CACHE_ROOT); the build needs ~${MIN_FREE_GB} GB (Go module + build cache, deleted afterwards). Free some space or set SDX_CACHE_DIR elsewhere."
  fi

  local jobs="${SDX_K8S_BUILD_JOBS:-$(nproc)}"; (( jobs > 4 )) && jobs=4
  BUILD_TMP="$(mktemp -d "$CACHE_ROOT/.k8s-build.XXXXXX")"
  trap build_cleanup EXIT
  trap 'exit 130' INT TERM HUP   # so the EXIT trap removes the half build
  local out="$BUILD_TMP/out"; mkdir -p "$out" "$BUILD_TMP/tmp"

  export GOPATH="$BUILD_TMP/gopath" GOMODCACHE="$BUILD_TMP/gomod" GOCACHE="$BUILD_TMP/gocache" \
    GOTMPDIR="$BUILD_TMP/tmp" GOFLAGS="-modcacherw -buildvcs=false" GOWORK=off CGO_ENABLED=0 GOBIN="$out"
  local start=$SECONDS peak_file="$BUILD_TMP/peak_kb"
  echo 0 >"$peak_file"
  ( # peak disk monitor
    while sleep 15; do
      s="$(du -sk "$BUILD_TMP" 2>/dev/null | cut -f1)" || true
      [[ -n "$s" ]] && (( s > $(cat "$peak_file") )) && echo "$s" >"$peak_file"
    done ) &
  MONITOR_PID=$!

  log "building k8s $K8S_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION with $(go version | awk '{print $3}'), -p $jobs, in $BUILD_TMP (${avail} GB free)"

  # ---- Kubernetes ----------------------------------------------------------
  local minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  local patch="${K8S_VERSION##*.}"
  local staging="v0.${minor}.${patch}"
  mkdir -p "$BUILD_TMP/k8s"; cd "$BUILD_TMP/k8s"
  go mod init sdx.local/k8s-build >/dev/null 2>&1
  local gomod
  gomod="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -f "$gomod" ]] || die "could not download k8s.io/kubernetes@$K8S_VERSION's go.mod"
  # Staging modules: every `k8s.io/<m> => ./staging/src/k8s.io/<m>` replace
  # (block or single-line form) becomes k8s.io/<m> => k8s.io/<m>@v0.<minor>.<patch>.
  local mods
  mods="$(sed -nE 's#^[[:space:]]*(replace[[:space:]]+)?(k8s\.io/[A-Za-z0-9._-]+)[[:space:]]+=>[[:space:]]+\./staging/src/k8s\.io/.*#\2#p' "$gomod" | sort -u)"
  [[ -n "$mods" ]] || die "no staging replace lines found in $gomod"
  local m n=0
  for m in $mods; do go mod edit "-replace=$m=$m@$staging"; n=$((n+1)); done
  log "replaced $n staging modules with @$staging"
  local godir godebug
  godir="$(awk '$1=="go"{print $2; exit}' "$gomod")"
  godebug="$(awk '$1=="godebug" && $2 ~ /^default=/ {print $2; exit}' "$gomod")"
  [[ -n "$godir" ]] && go mod edit "-go=$godir"
  [[ -n "$godebug" ]] && go mod edit "-godebug=$godebug"
  local pkgs=() b
  for b in "${K8S_BINARIES[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  log "go get k8s.io/kubernetes@$K8S_VERSION (go $godir, godebug ${godebug:-none})"
  go get "${pkgs[@]/%/@$K8S_VERSION}"
  local now; now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  local ld="-s -w" pkgv
  for pkgv in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkgv.gitVersion=$K8S_VERSION -X $pkgv.gitMajor=1 -X $pkgv.gitMinor=$minor"
    ld+=" -X $pkgv.gitTreeState=clean -X $pkgv.buildDate=$now"
  done
  log "go build ${K8S_BINARIES[*]}"
  go build -trimpath -p "$jobs" -ldflags "$ld" -o "$out/" "${pkgs[@]}"
  log "kubernetes done after $((SECONDS-start)) s"

  # ---- etcd ----------------------------------------------------------------
  mkdir -p "$BUILD_TMP/etcd"; cd "$BUILD_TMP/etcd"
  go mod init sdx.local/etcd-build >/dev/null 2>&1
  cat >main.go <<'EOF'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  go mod tidy
  go build -trimpath -p "$jobs" -ldflags "-s -w" -o "$out/etcd" .
  log "etcd done after $((SECONDS-start)) s"

  # ---- kwok ----------------------------------------------------------------
  cd "$BUILD_TMP"
  go install -trimpath -p "$jobs" -ldflags "-s -w" \
    "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION"
  log "kwok done after $((SECONDS-start)) s"

  # ---- verify & publish ----------------------------------------------------
  "$out/kube-apiserver" --version
  "$out/kubectl" version --client
  "$out/etcd" --version | head -n1
  local kv; kv="$("$out/kube-apiserver" --version)"
  [[ "$kv" == "Kubernetes $K8S_VERSION" ]] || die "kube-apiserver reports '$kv', expected 'Kubernetes $K8S_VERSION'"
  for b in "${ALL_BINARIES[@]}"; do [[ -x "$out/$b" ]] || die "missing binary $b"; done

  kill "$MONITOR_PID" 2>/dev/null || true; wait "$MONITOR_PID" 2>/dev/null || true; MONITOR_PID=""
  local s; s="$(du -sk "$BUILD_TMP" | cut -f1)"; (( s > $(cat "$peak_file") )) && echo "$s" >"$peak_file"
  local peak_kb; peak_kb="$(cat "$peak_file")"
  rm -f "$STAMP"
  rm -rf "$BIN"
  mkdir -p "$K8S_DIR"
  mv "$out" "$BIN"
  local secs=$((SECONDS-start))
  { stamp_content
    echo "go=$(go version | awk '{print $3}') built=$now seconds=$secs peak_build_dir_mb=$((peak_kb/1024))"
    (cd "$BIN" && stat -c "%s %n" "${ALL_BINARIES[@]}")
  } >"$STAMP.tmp"
  mv "$STAMP.tmp" "$STAMP"   # written last: a half build is never reused
  cd /
  build_cleanup; BUILD_TMP=""; trap - EXIT
  log "build complete in ${secs} s; peak build dir $((peak_kb/1024)) MB; binaries: $(du -sh "$BIN" | cut -f1) in $BIN"
}

cmd_build() {
  mkdir -p "$TESTENV_DIR"
  if is_built; then log "already built: $BIN ($(stamp_content))"; return 0; fi
  log "building; log: $BUILD_LOG"
  local rc
  # (not under `if`/`||`: that would switch off errexit inside do_build)
  set +e; ( set -e; do_build ) >"$BUILD_LOG" 2>&1; rc=$?; set -e
  if (( rc != 0 )); then
    log "build FAILED; tail of $BUILD_LOG:"
    tail -n 40 "$BUILD_LOG" >&2
    exit 1
  fi
  tail -n 1 "$BUILD_LOG" >&2
}

# ============================================================================
# cluster
# ============================================================================
kwok_env() {
  export KWOK_WORKDIR="$STATE_DIR"
  # kwokctl must never download anything: every binary is local, and any
  # accidental download goes to a dead loopback proxy and fails fast.
  # (Go never proxies loopback, so local traffic is unaffected.)
  export KWOK_RUNTIME=binary
  export KWOK_KUBE_APISERVER_BINARY="$BIN/kube-apiserver"
  export KWOK_KUBE_CONTROLLER_MANAGER_BINARY="$BIN/kube-controller-manager"
  export KWOK_KUBE_SCHEDULER_BINARY="$BIN/kube-scheduler"
  export KWOK_KUBECTL_BINARY="$BIN/kubectl"
  export KWOK_ETCD_BINARY="$BIN/etcd"
  export KWOK_CONTROLLER_BINARY="$BIN/kwok"
  export KWOK_KUBE_VERSION="$K8S_VERSION"
  export KWOK_VERSION="$KWOK_VERSION"
  export HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9
  export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
  export PATH="$BIN:$PATH"
}

kc() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_PATH" --context "$CONTEXT" "$@"; }

apiserver_ready() {
  [[ -f "$KUBECONFIG_PATH" && -x "$BIN/kubectl" ]] || return 1
  [[ "$(kc --request-timeout=5s get --raw /readyz 2>/dev/null)" == "ok" ]]
}

write_kwokctl_config() {
  cat >"$KWOKCTL_CONFIG" <<EOF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  runtime: binary
  bindAddress: 127.0.0.1
  kubeVersion: $K8S_VERSION
  kwokVersion: $KWOK_VERSION
  kubeApiserverBinary: $BIN/kube-apiserver
  kubeControllerManagerBinary: $BIN/kube-controller-manager
  kubeSchedulerBinary: $BIN/kube-scheduler
  kubectlBinary: $BIN/kubectl
  etcdBinary: $BIN/etcd
  kwokControllerBinary: $BIN/kwok
  kubeAuthorization: true
  kubeAdmission: true
EOF
}

# Fake nodes, labelled like EKS/Karpenter nodes. kwok (--manage-all-nodes)
# turns them Ready and keeps their heartbeats; the scheduler binds pods to them.
node_manifest() {
  local spec name type zone cap cpu mem
  for spec in \
    "sdx-node-1 m6i.large us-east-1a on-demand 2 8Gi" \
    "sdx-node-2 m6i.large us-east-1b on-demand 2 8Gi" \
    "sdx-node-3 m6i.xlarge us-east-1c spot 4 16Gi"; do
    read -r name type zone cap cpu mem <<<"$spec"
    cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: $name
  annotations:
    kwok.x-k8s.io/node: fake
  labels:
    kubernetes.io/hostname: $name
    kubernetes.io/arch: amd64
    kubernetes.io/os: linux
    node.kubernetes.io/instance-type: $type
    topology.kubernetes.io/region: us-east-1
    topology.kubernetes.io/zone: $zone
    karpenter.sh/capacity-type: $cap
    type: kwok
status:
  allocatable: {cpu: "$cpu", memory: $mem, pods: "110"}
  capacity: {cpu: "$cpu", memory: $mem, pods: "110"}
  nodeInfo:
    architecture: amd64
    operatingSystem: linux
EOF
  done
}

wait_for() { # timeout_s description command...
  local t="$1" what="$2"; shift 2
  local deadline=$((SECONDS + t))
  until "$@" >/dev/null 2>&1; do
    (( SECONDS < deadline )) || { log "timed out after ${t}s waiting for $what"; return 1; }
    sleep 1
  done
}

nodes_ready() {
  local n
  n="$(kc get nodes -l type=kwok -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null | grep -c '^True$')" || true
  [[ "${n:-0}" -ge 3 ]]
}

link_logs() {
  local f
  [[ -d "$CLUSTER_DIR/logs" ]] || return 0
  for f in "$CLUSTER_DIR"/logs/*.log; do
    [[ -e "$f" ]] && ln -sfn "$f" "$TESTENV_DIR/k8s-$(basename "$f")"
  done
  return 0
}

show_logs() {
  log "--- tail of logs ---"
  local f
  for f in "$UP_LOG" "$CLUSTER_DIR"/logs/*.log; do
    [[ -f "$f" ]] || continue
    printf '==> %s <==\n' "$f" >&2
    tail -n 25 "$f" >&2
  done
}

write_env() {
  mkdir -p "$TESTENV_DIR"
  local content
  content="$(printf 'SDX_K8S_KUBECONFIG=%s\nSDX_K8S_CONTEXT=%s\nSDX_K8S_KUBECTL=%s\n' "$KUBECONFIG_PATH" "$CONTEXT" "$BIN/kubectl")"
  printf '%s\n' "$content" >"$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
  printf '%s\n' "$content"
}

finish_up() { # nodes + readiness; idempotent. Explicit returns: called under `if`.
  node_manifest | kc apply -f - >>"$UP_LOG" 2>&1 || { log "applying the fake nodes failed"; return 1; }
  wait_for 120 "3 Ready nodes" nodes_ready || return 1
  wait_for 120 "ServiceAccount default/default" kc get serviceaccount default -n default || return 1
  link_logs
}

# Kill every process whose cwd is the cluster dir (kwokctl starts each
# component there), plus anything in the pid files. Safe after a crash.
kill_leftovers() {
  local pids=() pid f real
  real="$(readlink -f "$CLUSTER_DIR" 2>/dev/null || echo "$CLUSTER_DIR")"
  for f in /proc/[0-9]*; do
    pid="${f#/proc/}"
    [[ "$(readlink "$f/cwd" 2>/dev/null)" == "$real" ]] && pids+=("$pid")
  done
  if [[ -d "$CLUSTER_DIR/pids" ]]; then
    for f in "$CLUSTER_DIR"/pids/*.pid; do
      [[ -f "$f" ]] || continue
      pid="$(cat "$f" 2>/dev/null)"
      [[ "$pid" =~ ^[0-9]+$ ]] || continue
      # only if it still looks like ours
      tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$CLUSTER_DIR" && pids+=("$pid")
    done
  fi
  ((${#pids[@]})) || return 0
  log "killing leftover processes: ${pids[*]}"
  kill -TERM "${pids[@]}" 2>/dev/null || true

  for _ in $(seq 1 20); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || return 0
    sleep 0.5
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
}

do_down() {
  if [[ -x "$BIN/kwokctl" && -d "$CLUSTER_DIR" ]]; then
    ( kwok_env; timeout 60 kwokctl --name "$CLUSTER" delete cluster --kubeconfig "$KUBECONFIG_PATH" ) </dev/null >>"$UP_LOG" 2>&1 8>&- 9>&- \
      || log "kwokctl delete cluster failed (continuing with manual cleanup)"
  fi
  kill_leftovers
  rm -rf "$CLUSTER_DIR"
  rm -f "$ENV_FILE" "$KUBECONFIG_PATH" "$KWOKCTL_CONFIG"
  local f
  for f in "$TESTENV_DIR"/k8s-*.log; do [[ -L "$f" ]] && rm -f "$f"; done
  return 0
}

lock_cluster() {
  mkdir -p "$TESTENV_DIR"
  exec 9>"$TESTENV_DIR/k8s.lock"
  flock -w 900 9 || die "timed out waiting for $TESTENV_DIR/k8s.lock"
}

cmd_up() {
  cmd_build
  lock_cluster
  local start=$SECONDS
  if apiserver_ready; then
    log "cluster $CLUSTER already up; verifying"
    if ! finish_up; then show_logs; die "cluster $CLUSTER is up but not healthy (try: $0 down && $0 up)"; fi
    write_env
    return 0
  fi
  if [[ -d "$CLUSTER_DIR" ]]; then
    log "stale state in $CLUSTER_DIR; cleaning up first"
    do_down
  fi
  mkdir -p "$STATE_DIR"
  : >"$UP_LOG"
  write_kwokctl_config
  log "starting cluster $CLUSTER ($K8S_VERSION) on 127.0.0.1; log: $UP_LOG"
  if ! ( kwok_env
         kwokctl --name "$CLUSTER" -c "$KWOKCTL_CONFIG" create cluster \
           --runtime binary \
           --kube-apiserver-binary "$BIN/kube-apiserver" \
           --kube-controller-manager-binary "$BIN/kube-controller-manager" \
           --kube-scheduler-binary "$BIN/kube-scheduler" \
           --etcd-binary "$BIN/etcd" \
           --kwok-controller-binary "$BIN/kwok" \
           --kube-authorization=true \
           --kubeconfig "$KUBECONFIG_PATH" \
           --timeout 3m ) </dev/null >>"$UP_LOG" 2>&1 8>&- 9>&-; then
    # (fds 8/9 are our flock fds: the daemons kwokctl leaves running must not inherit them)
    link_logs; show_logs; die "kwokctl create cluster failed"
  fi
  link_logs
  if ! wait_for 180 "kube-apiserver /readyz" apiserver_ready; then show_logs; die "apiserver not ready"; fi
  if ! finish_up; then show_logs; die "cluster did not become ready"; fi
  # Nothing may have been downloaded: kwokctl's download cache must be empty.
  if [[ -d "$STATE_DIR/cache" ]] && find "$STATE_DIR/cache" -type f | grep -q .; then
    log "WARNING: kwokctl cache is not empty: $(find "$STATE_DIR/cache" -type f | head -n 5)"
  fi
  log "cluster $CLUSTER up in $((SECONDS - start)) s"
  write_env
}

cmd_down() {
  lock_cluster
  do_down
  log "cluster $CLUSTER down"
}

cmd_status() {
  if apiserver_ready; then
    echo "k8s: up (cluster $CLUSTER, $K8S_VERSION, context $CONTEXT)"
    kc get nodes -L node.kubernetes.io/instance-type,topology.kubernetes.io/zone,karpenter.sh/capacity-type 2>/dev/null || true
    [[ -f "$ENV_FILE" ]] && cat "$ENV_FILE"
    return 0
  fi
  if [[ -d "$CLUSTER_DIR" ]]; then echo "k8s: down (stale state in $CLUSTER_DIR; run: $0 down)"
  else echo "k8s: down"; fi
  if is_built; then echo "binaries: built ($BIN)"; else echo "binaries: not built (run: $0 build)"; fi
  return 1
}

case "${1:-}" in
  build) cmd_build ;;
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: $0 build|up|down|status" >&2; exit 2 ;;
esac
