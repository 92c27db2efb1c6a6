#!/usr/bin/env bash
# Local Kubernetes control plane for sdx integration tests.
#
# Builds (once, cached) the official kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl and kubelet from the Go module proxy, plus etcd 3.6
# and kwok/kwokctl, then runs a real control plane on 127.0.0.1 with kwokctl's
# "binary" runtime. Three nodes and their pods are simulated by kwok (the API
# server, RBAC, admission, controllers and scheduler are the real ones), and
# one REAL node runs beside them (see "real node" below).
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
#   SDX_K8S_WITH_REAL_NODE  1: start the real node, 0: KWOK nodes only (default 1)
#   SDX_K8S_NODE_NETNS   the real node's network namespace (default <cluster>-node)
#
# Writes ${SDX_TESTENV_DIR}/k8s.env with SDX_K8S_KUBECONFIG, SDX_K8S_CONTEXT
# and SDX_K8S_KUBECTL, and with the real node also:
#   SDX_K8S_REAL_NODE=sdx-real-1              the Node's name
#   SDX_K8S_REAL_NODE_NETNS=<cluster>-node    network namespace of its kubelet,
#                                             containerd and pod network
#   SDX_K8S_REAL_NODE_LABEL=sdx.dev/real-node=true
#   SDX_K8S_REAL_NODE_TAINT=sdx.dev/real-node=true:NoSchedule
#   SDX_K8S_REAL_NODE_IMAGE=sdx.local/busybox:1   imported into its containerd
#   SDX_K8S_REAL_NODE_REGISTRY=127.0.0.1:5117     the test registry's address, pulled
#                                             over plain http (registry.env's, else
#                                             SDX_REGISTRY_PORT's); registry.sh attach
#                                             <netns> makes it reachable when the
#                                             registry starts after this node
# Logs: ${SDX_TESTENV_DIR}/k8s-*.log.
#
# Real node (SDX_K8S_WITH_REAL_NODE=1): the kubelet built above, Debian's containerd
# 1.6 and runc, and Debian's CNI plugins (a bridge 10.88.0.0/24), all inside
# network namespace <cluster>-node; pod cgroups under /sdx-k8s-<cluster> (cgroup
# v1 and v2 both work: cgroupfs driver, failCgroupV1 false). It reaches the
# API server through a socat pair (unix socket) at the same 127.0.0.1:<port>.
# Facts for tests:
# - Only pods that tolerate the taint land there; the node carries the label
#   above plus the KWOK nodes' labels (m6i.large, us-east-1a, on-demand), so a
#   target with spotLabels [{key: sdx.dev/real-node, value: "true",
#   onDemandValue: "false"}] and a service with spot "only" runs on it.
# - Nothing is pulled from the internet: the pause image and sdx.local/busybox:1
#   (Debian's busybox-static, every applet in /bin, /www/index.html) are made
#   here and imported; images on the test registry pull by tag or digest.
# - Pod IPs answer inside the namespace: nsenter --net=/run/netns/<netns> wget
#   -qO- http://<podIP>:<port>/. No kube-proxy (no Service VIPs), no cluster
#   DNS, and the API server cannot reach the kubelet (no logs/exec/port-forward
#   through the API); events, statuses and probes are all real.
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

K8S_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet)
ALL_BINARIES=("${K8S_BINARIES[@]}" etcd kwok kwokctl)

# shellcheck source=scripts/lib/testenv.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testenv.sh"
# Unlike scripts/lib/testenv.sh's: timestamped (builds and starts take minutes), and die shows no log tails
# (show_logs does, where it helps).
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

# Kubernetes binaries missing from an otherwise complete cache of this version
# (a cache made before kubelet was on the list): only those are built.
missing_k8s_binaries() {
  [[ -f "$STAMP" && "$(head -n1 "$STAMP")" == "$(stamp_content)" ]] || return 1
  local b missing=()
  for b in etcd kwok kwokctl; do [[ -x "$BIN/$b" ]] || return 1; done
  for b in "${K8S_BINARIES[@]}"; do [[ -x "$BIN/$b" ]] || missing+=("$b"); done
  ((${#missing[@]})) || return 1
  echo "${missing[@]}"
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
  local partial="" k8s_build=("${K8S_BINARIES[@]}")
  if partial="$(missing_k8s_binaries)"; then
    read -r -a k8s_build <<<"$partial"
    log "cache complete except ${k8s_build[*]}: building only those"
  fi

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
  for b in "${k8s_build[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  log "go get k8s.io/kubernetes@$K8S_VERSION (go $godir, godebug ${godebug:-none})"
  go get "${pkgs[@]/%/@$K8S_VERSION}"
  local now; now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  local ld="-s -w" pkgv
  for pkgv in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkgv.gitVersion=$K8S_VERSION -X $pkgv.gitMajor=1 -X $pkgv.gitMinor=$minor"
    ld+=" -X $pkgv.gitTreeState=clean -X $pkgv.buildDate=$now"
  done
  log "go build ${k8s_build[*]}"
  go build -trimpath -p "$jobs" -ldflags "$ld" -o "$out/" "${pkgs[@]}"
  log "kubernetes done after $((SECONDS-start)) s"
  if [[ -n "$partial" ]]; then
    "$out/kubelet" --version 2>/dev/null | grep -qx "Kubernetes $K8S_VERSION" || die "kubelet does not report Kubernetes $K8S_VERSION"
    kill "$MONITOR_PID" 2>/dev/null || true; wait "$MONITOR_PID" 2>/dev/null || true; MONITOR_PID=""
    for b in "${k8s_build[@]}"; do
      [[ -x "$out/$b" ]] || die "missing binary $b"
      mv "$out/$b" "$BIN/$b.tmp" && mv "$BIN/$b.tmp" "$BIN/$b"
    done
    { head -n1 "$STAMP"
      echo "go=$(go version | awk '{print $3}') built=$now seconds=$((SECONDS-start)) added=${k8s_build[*]}"
      (cd "$BIN" && stat -c "%s %n" "${ALL_BINARIES[@]}")
    } >"$STAMP.tmp"
    mv "$STAMP.tmp" "$STAMP"
    cd /
    build_cleanup; BUILD_TMP=""; trap - EXIT
    log "build complete in $((SECONDS-start)) s (${k8s_build[*]} added to $BIN)"
    return 0
  fi

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
# kwok manages only the nodes annotated as fake, never the real node's status or pods.
componentsPatches:
- name: kwok-controller
  extraArgs:
  - key: manage-all-nodes
    value: "false"
    override: true
  - key: manage-nodes-with-annotation-selector
    value: kwok.x-k8s.io/node=fake
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
  if [[ $WITH_REAL_NODE == 1 ]]; then
    content+="$(printf '\nSDX_K8S_REAL_NODE=%s\nSDX_K8S_REAL_NODE_NETNS=%s\nSDX_K8S_REAL_NODE_LABEL=%s\nSDX_K8S_REAL_NODE_TAINT=%s\nSDX_K8S_REAL_NODE_IMAGE=%s' \
      "$REAL_NODE" "$NODE_NETNS" "$NODE_LABEL_KEY=true" "$NODE_TAINT" "$BUSYBOX_IMAGE")"
    [[ -n ${NODE_REGISTRY:-} ]] && content+="$(printf '\nSDX_K8S_REAL_NODE_REGISTRY=%s' "$NODE_REGISTRY")"
  fi
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
  node_down
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

# ============================================================================
# real node
# ============================================================================
WITH_REAL_NODE="${SDX_K8S_WITH_REAL_NODE:-1}"
NODE_DIR="$TESTENV_DIR/k8s-node"
NODE_NETNS="${SDX_K8S_NODE_NETNS:-$CLUSTER-node}"
REAL_NODE=sdx-real-1
NODE_LABEL_KEY=sdx.dev/real-node
NODE_TAINT="$NODE_LABEL_KEY=true:NoSchedule"
NODE_CGROUP="sdx-k8s-$CLUSTER"       # pod cgroups: /<this>/kubepods/... in every hierarchy
NODE_IP=172.31.255.1                 # inside the namespace only
POD_SUBNET=10.88.0.0/24
POD_GATEWAY=10.88.0.1
PAUSE_IMAGE=sdx.local/pause:1
BUSYBOX_IMAGE=sdx.local/busybox:1
CTRD_SOCK="$NODE_DIR/containerd.sock"
CNI_BIN_DIR=/usr/lib/cni
NODE_START_TIMEOUT="${SDX_K8S_NODE_START_TIMEOUT:-120}"

ensure_node_packages() {
  local p
  # The package may enable a system containerd; ours is separate and that one is left alone.
  APT_ROOT_HINT=" for the real node (or set SDX_K8S_WITH_REAL_NODE=0)" \
    apt_install_missing containerd runc containernetworking-plugins socat iproute2 busybox-static
  for p in containerd ctr runc socat nsenter setsid ip sha256sum; do
    command -v "$p" >/dev/null || die "command '$p' not found"
  done
  [[ -x /bin/busybox && -x "$CNI_BIN_DIR/bridge" && -x "$CNI_BIN_DIR/host-local" ]] || die "busybox or CNI plugins missing"
}

nctr() { ctr -a "$CTRD_SOCK" -n k8s.io "$@"; }

real_node_ready() {
  [[ "$(kc get node "$REAL_NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}

node_healthy() {
  pid_alive "$(read_pid "$NODE_DIR/kubelet.pid")" && pid_alive "$(read_pid "$NODE_DIR/containerd.pid")" &&
    pid_alive "$(read_pid "$NODE_DIR/fwd-host.pid")" && pid_alive "$(read_pid "$NODE_DIR/fwd-node.pid")" &&
    [[ -e /run/netns/$NODE_NETNS ]] && real_node_ready
}

# Every process of the node, by pid: in its network namespace (kubelet, containerd,
# the inner forwarder), naming our dir on its command line (shims, the host-side
# forwarder), or in the pod cgroups (containers, which live in their own netns).
node_leftover_pids() {
  pids_of_netns_dir_cgroup "$NODE_NETNS" "$NODE_DIR/" "$NODE_CGROUP"
}

# Safe when nothing runs and after kill -9 of any part.
node_down() {
  local pid
  # kubelet first, so it does not restart what is being killed
  for pid in "$(read_pid "$NODE_DIR/kubelet.pid")" "$(read_pid "$NODE_DIR/containerd.pid")"; do
    if pid_alive "$pid" && cmdline_has "$pid" "$NODE_DIR/"; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  kill_listed_pids node_leftover_pids 5 0.3 quiet
  # What the shims and runc keep outside our dir: containerd 1.6 puts a shim's socket at
  # /run/containerd/s/sha256(<address>/<namespace>/<id>) and runc's state at
  # /run/containerd/runc/<namespace>/<id>, whatever containerd's own state dir is.
  local d id h
  for d in "$NODE_DIR/containerd/state/io.containerd.runtime.v2.task/k8s.io"/*; do
    id=${d##*/}
    [[ $id =~ ^[0-9a-f]{64}$ ]] || continue
    h=$(printf '%s' "$CTRD_SOCK/k8s.io/$id" | sha256sum | cut -d' ' -f1)
    rm -f "/run/containerd/s/$h"
    rm -rf "/run/containerd/runc/k8s.io/$id"
  done
  unmount_under "$NODE_DIR" quiet
  remove_cgroup_tree "$NODE_CGROUP"
  delete_netns "$NODE_NETNS"
  remove_tree "$NODE_DIR" quiet || log "could not remove $NODE_DIR"
  rm -f "$TESTENV_DIR/k8s-node-"*.log
}

# An OCI image layout tar of one root filesystem directory, for `ctr import`:
# a single uncompressed layer with fixed owners and times, so the same
# directory always gives the same digests.
oci_archive() { # rootfs ref out-tar config-json-fragment
  local root=$1 ref=$2 tarfile=$3 cfg=$4 d arch
  case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch="$(uname -m)" ;; esac
  d="$(mktemp -d "$NODE_DIR/images/oci.XXXXXX")"
  mkdir -p "$d/blobs/sha256"
  tar -C "$root" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$d/layer.tar" .
  local layer lsize config csize manifest msize
  layer="$(sha256sum <"$d/layer.tar" | cut -d' ' -f1)"; lsize="$(stat -c %s "$d/layer.tar")"
  mv "$d/layer.tar" "$d/blobs/sha256/$layer"
  printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=/bin:/sbin:/usr/bin:/usr/sbin"],%s},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$arch" "$cfg" "$layer" >"$d/config"
  config="$(sha256sum <"$d/config" | cut -d' ' -f1)"; csize="$(stat -c %s "$d/config")"
  mv "$d/config" "$d/blobs/sha256/$config"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$config" "$csize" "$layer" "$lsize" >"$d/manifest"
  manifest="$(sha256sum <"$d/manifest" | cut -d' ' -f1)"; msize="$(stat -c %s "$d/manifest")"
  mv "$d/manifest" "$d/blobs/sha256/$manifest"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$manifest" "$msize" "$arch" "$ref" "$ref" >"$d/index.json"
  tar -C "$d" --owner=0 --group=0 --numeric-owner -cf "$tarfile" oci-layout index.json blobs
  rm -rf "$d"
}

# The pause image (a shell that sleeps until TERM) and a busybox image, both from
# Debian's busybox-static, imported into the node's containerd.
import_node_images() {
  local w="$NODE_DIR/images" a
  mkdir -p "$w/pause/bin" "$w/busybox"/{bin,etc,tmp,root,www,proc,sys,dev}
  cp /bin/busybox "$w/pause/bin/busybox"
  ln -sf busybox "$w/pause/bin/sh"; ln -sf busybox "$w/pause/bin/sleep"
  cp /bin/busybox "$w/busybox/bin/busybox"
  for a in $(/bin/busybox --list); do [[ $a == busybox ]] || ln -sf busybox "$w/busybox/bin/$a"; done
  chmod 1777 "$w/busybox/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$w/busybox/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$w/busybox/etc/group"
  printf 'sdx-busybox\n' >"$w/busybox/www/index.html"
  oci_archive "$w/pause" "$PAUSE_IMAGE" "$w/pause.tar" \
    '"Entrypoint":["/bin/sh","-c","trap \"exit 0\" TERM INT; while :; do sleep 3600 & wait $!; done"]'
  oci_archive "$w/busybox" "$BUSYBOX_IMAGE" "$w/busybox.tar" '"Cmd":["sh"]'
  nctr images import "$w/pause.tar" >/dev/null || die "ctr import of the pause image failed"
  nctr images import "$w/busybox.tar" >/dev/null || die "ctr import of the busybox image failed"
  rm -rf "$w"
}

# The test registry (registry.sh): its addresses are pulled from over plain http
# (hosts.toml is read at every pull, so it may start later), and when it is up,
# its socat forwarders put it at the same 127.0.0.1 addresses in the namespace.
# Started after this node, `registry.sh attach <netns>` (or `k8s.sh up` again) attaches it.
attach_registry() {
  local envf="$TESTENV_DIR/registry.env" addr addrs
  addrs="127.0.0.1:${SDX_REGISTRY_PORT:-5117} 127.0.0.1:${SDX_REGISTRY_AUTH_PORT:-5118}"
  NODE_REGISTRY="127.0.0.1:${SDX_REGISTRY_PORT:-5117}"
  if [[ -f $envf ]]; then
    addrs+=" $(sed -n 's/^SDX_REGISTRY_\(AUTH_\)\{0,1\}ADDR=//p' "$envf" | tr '\n' ' ')"
    NODE_REGISTRY="$(sed -n 's/^SDX_REGISTRY_ADDR=//p' "$envf")"
  fi
  for addr in $addrs; do
    mkdir -p "$NODE_DIR/certs.d/$addr"
    printf 'server = "http://%s"\n\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' "$addr" "$addr" >"$NODE_DIR/certs.d/$addr/hosts.toml"
  done
  [[ -f $envf ]] || return 0
  attach_to_registry "$NODE_NETNS" "registry.env exists but the registry is down; not attached (after registry.sh up: registry.sh attach $NODE_NETNS)" || true
}

node_up() {
  ensure_node_packages
  [[ $(id -u) -eq 0 ]] || die "the real node needs root (network namespace, containerd, kubelet); or set SDX_K8S_WITH_REAL_NODE=0"
  ((${#CTRD_SOCK} < 100)) || die "socket path too long ($CTRD_SOCK); use a shorter SDX_TESTENV_DIR"
  NODE_REGISTRY=""
  if node_healthy; then
    attach_registry
    return 0
  fi
  if [[ -e $NODE_DIR || -e /run/netns/$NODE_NETNS ]]; then
    log "real node: stale state, cleaning up first"
    node_down
  fi
  local start=$SECONDS api_port
  api_port="$(sed -n 's#^[[:space:]]*server: https://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$KUBECONFIG_PATH" | head -n1)"
  [[ -n $api_port ]] || die "no https://127.0.0.1:<port> server in $KUBECONFIG_PATH"
  mkdir -p "$NODE_DIR"/{containerd,cni/net.d,cni/ipam,kubelet,logs,pod-logs,certs.d,images}

  # The namespace: lo, and a veth pair that carries the node IP and the default
  # route (the kubelet wants both; no dummy driver in every kernel).
  ip netns add "$NODE_NETNS" || die "ip netns add $NODE_NETNS failed"
  ip -n "$NODE_NETNS" link set lo up
  ip -n "$NODE_NETNS" link add sdxnode0 type veth peer name sdxnode1 || die "cannot create a veth pair in $NODE_NETNS"
  ip -n "$NODE_NETNS" link set sdxnode1 up
  ip -n "$NODE_NETNS" addr add "$NODE_IP/32" dev sdxnode0
  ip -n "$NODE_NETNS" link set sdxnode0 up
  ip -n "$NODE_NETNS" route add default dev sdxnode0

  # The API server listens on the host's 127.0.0.1 only: a socat pair over a unix socket.
  spawn "$NODE_DIR/fwd-host.pid" "$NODE_DIR/logs/forward.log" \
    socat "UNIX-LISTEN:$NODE_DIR/apiserver.sock,fork,unlink-early" "TCP:127.0.0.1:$api_port"
  spawn "$NODE_DIR/fwd-node.pid" "$NODE_DIR/logs/forward.log" \
    nsenter --net="/run/netns/$NODE_NETNS" -- socat "TCP-LISTEN:$api_port,bind=127.0.0.1,fork,reuseaddr" "UNIX-CONNECT:$NODE_DIR/apiserver.sock"

  # restrict_oom_score_adj: without CAP_SYS_RESOURCE in a VM sandbox, runc may not lower
  # oom_score_adj to the -998 the CRI asks for the pause container.
  {
    containerd_config "$NODE_DIR/containerd" "$CTRD_SOCK" cri
    cat <<EOT
[plugins."io.containerd.internal.v1.opt"]
  path = "$NODE_DIR/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  netns_mounts_under_state_dir = true
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$NODE_DIR/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$NODE_DIR/certs.d"
EOT
  } >"$NODE_DIR/containerd/config.toml"
  cat >"$NODE_DIR/cni/net.d/10-sdx.conflist" <<EOT
{"cniVersion": "0.4.0", "name": "sdx-pods", "plugins": [
  {"type": "bridge", "bridge": "sdxcni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_SUBNET", "gateway": "$POD_GATEWAY"}]], "dataDir": "$NODE_DIR/cni/ipam"}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
EOT
  spawn "$NODE_DIR/containerd.pid" "$NODE_DIR/logs/containerd.log" \
    nsenter --net="/run/netns/$NODE_NETNS" -- containerd --config "$NODE_DIR/containerd/config.toml"
  local i
  for ((i = 0; i < 100; i++)); do
    [[ -S $CTRD_SOCK ]] && nctr version >/dev/null 2>&1 && break
    pid_alive "$(read_pid "$NODE_DIR/containerd.pid")" || { tail -n 20 "$NODE_DIR/logs/containerd.log" >&2; die "containerd exited"; }
    sleep 0.1
  done
  [[ -S $CTRD_SOCK ]] || die "containerd socket $CTRD_SOCK did not appear"
  import_node_images
  attach_registry

  # The cluster's admin credentials: a throwaway cluster, and no CSR approval loop to wait for.
  cp "$CLUSTER_DIR/kubeconfig.yaml" "$NODE_DIR/kubeconfig.yaml" 2>/dev/null || cp "$KUBECONFIG_PATH" "$NODE_DIR/kubeconfig.yaml"
  cat >"$NODE_DIR/kubelet-config.yaml" <<EOT
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# cgroup v1 hosts: allowed again (the kubelet refuses them by default since 1.35)
failCgroupV1: false
failSwapOn: false
# containerd 1.6 cannot tell the kubelet its driver; this is the fallback it uses
cgroupDriver: cgroupfs
cgroupRoot: /$NODE_CGROUP
containerRuntimeEndpoint: unix://$CTRD_SOCK
imageServiceEndpoint: unix://$CTRD_SOCK
podLogsDir: $NODE_DIR/pod-logs
address: 0.0.0.0
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
registerWithTaints:
- {key: $NODE_LABEL_KEY, value: "true", effect: NoSchedule}
resolvConf: ""
staticPodPath: ""
enforceNodeAllocatable: []
# Only memory: the host's disk fill level must not evict test pods.
evictionHard: {memory.available: 50Mi}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
EOT
  # A Node left by an earlier kubelet still looks Ready for a while: remove it, so
  # Ready below is this kubelet's own report.
  kc delete node "$REAL_NODE" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  local c
  for c in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
    [[ -e "${c}cgroup.procs" ]] || continue
    mkdir -p "$c$NODE_CGROUP" 2>/dev/null || true
  done
  spawn "$NODE_DIR/kubelet.pid" "$NODE_DIR/logs/kubelet.log" \
    nsenter --net="/run/netns/$NODE_NETNS" -- "$BIN/kubelet" \
      --config "$NODE_DIR/kubelet-config.yaml" --kubeconfig "$NODE_DIR/kubeconfig.yaml" \
      --root-dir "$NODE_DIR/kubelet" --hostname-override "$REAL_NODE" --node-ip "$NODE_IP" \
      --node-labels "type=real,$NODE_LABEL_KEY=true,node.kubernetes.io/instance-type=m6i.large,topology.kubernetes.io/region=us-east-1,topology.kubernetes.io/zone=us-east-1a,karpenter.sh/capacity-type=on-demand" \
      --v=1
  local f
  for f in kubelet containerd; do ln -sfn "$NODE_DIR/logs/$f.log" "$TESTENV_DIR/k8s-node-$f.log"; done
  local deadline=$((SECONDS + NODE_START_TIMEOUT))
  until real_node_ready; do
    if ! pid_alive "$(read_pid "$NODE_DIR/kubelet.pid")"; then
      log "kubelet exited; last lines of $NODE_DIR/logs/kubelet.log:"; tail -n 25 "$NODE_DIR/logs/kubelet.log" >&2
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "node $REAL_NODE not Ready after ${NODE_START_TIMEOUT}s; last lines of $NODE_DIR/logs/kubelet.log:"; tail -n 25 "$NODE_DIR/logs/kubelet.log" >&2
      return 1
    fi
    sleep 1
  done
  log "real node $REAL_NODE Ready in $((SECONDS - start)) s (netns $NODE_NETNS)"
}

kwok_manages_all_nodes() { grep -q -- '--manage-all-nodes=true' "$CLUSTER_DIR/kwok.yaml" 2>/dev/null; }

lock_cluster() {
  mkdir -p "$TESTENV_DIR"
  exec 9>"$TESTENV_DIR/k8s.lock"
  flock -w 900 9 || die "timed out waiting for $TESTENV_DIR/k8s.lock"
}

cmd_up() {
  # Packages first: CI starts this script early, while nothing else installs.
  if [[ $WITH_REAL_NODE == 1 ]]; then ensure_node_packages; fi
  cmd_build
  lock_cluster
  local start=$SECONDS
  if apiserver_ready; then
    log "cluster $CLUSTER already up; verifying"
    if ! finish_up; then show_logs; die "cluster $CLUSTER is up but not healthy (try: $0 down && $0 up)"; fi
    # A cluster created before the real node existed has kwok managing every node,
    # which would overwrite the kubelet's node and pod statuses.
    if [[ $WITH_REAL_NODE == 1 ]] && kwok_manages_all_nodes; then
      log "cluster $CLUSTER was created without the real node (kwok manages all nodes); staying without it (for it: $0 down && $0 up)"
      WITH_REAL_NODE=0
    fi
    if [[ $WITH_REAL_NODE == 1 ]] && ! node_up; then die "the real node did not start (logs: $NODE_DIR/logs; SDX_K8S_WITH_REAL_NODE=0 runs without it)"; fi
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
  if [[ $WITH_REAL_NODE == 1 ]] && ! node_up; then die "the real node did not start (logs: $NODE_DIR/logs; SDX_K8S_WITH_REAL_NODE=0 runs without it)"; fi
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
    if [[ $WITH_REAL_NODE == 1 ]] && ! kwok_manages_all_nodes && ! node_healthy; then
      echo "real node $REAL_NODE: not healthy (run: $0 up)"; [[ -f "$ENV_FILE" ]] && cat "$ENV_FILE"; return 1
    fi
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
