#!/usr/bin/env bash
# Root filesystem of a small OFFLINE base image for Node apps, assembled without
# Docker and without any registry, from Debian packages only (npm is not used).
#
#   scripts/base-image/base-rootfs.sh <amd64|arm64> <outdir>
#
# <outdir> is replaced (it must be absent, empty, or an earlier output of this
# script). Prints the package versions used and the total size.
#
# Contents (same layout for both architectures; <triplet> = x86_64-linux-gnu or
# aarch64-linux-gnu):
#   /lib/<triplet>/        glibc runtime from libc6: the dynamic loader, libc.so.6, libm.so.6,
#                          libdl.so.2, libpthread.so.0, librt.so.1, libresolv.so.2, libutil.so.1,
#                          libnss_files.so.2, libnss_dns.so.2; libgcc_s.so.1 from libgcc-s1
#   /lib64/ld-linux-x86-64.so.2 (amd64) | /lib/ld-linux-aarch64.so.1 (arm64)
#                          the loader path the official Node linux binaries ask for
#   /usr/lib/<triplet>/libstdc++.so.6(.0.x)   from libstdc++6
#   /bin/busybox           Debian busybox-static; applet symlinks in /bin (sh, wget, nc, cat, ls,
#                          env, sleep, ... see APPLETS), /usr/bin/env, /sbin/nologin
#   /etc/passwd, /etc/group  root (0), nonroot (65532, home /home/nonroot owned by 65532 when
#                          run as root), nobody/nogroup (65534)
#   /etc/nsswitch.conf, /etc/hosts (localhost), /tmp (1777), /root (0700), /usr/local/bin
# No Node runtime: sdx's builder adds a Node layer when the base lacks one. No ld.so.cache:
# Debian's loader searches /lib/<triplet> and /usr/lib/<triplet> by default.
#
# Facts for tests:
# - The output is byte-identical on re-runs with the same apt lists (same package
#   versions): content, modes, symlinks and ownership; only timestamps differ, and
#   the image writer normalises those.
# - amd64 .debs come from `apt-get download` (hash-checked by apt); arm64 .debs are the
#   same package versions from the same mirror's pool (the amd64 file name with
#   _arm64.deb), checked by their control fields (Package, Version, Architecture).
#   The system's apt configuration is never changed.
# - Downloads are cached in ${XDG_CACHE_HOME:-$HOME/.cache}/sdx/base-rootfs/.
set -euo pipefail
umask 022

PACKAGES=(libc6 libgcc-s1 libstdc++6 busybox-static)
# Applets a container entrypoint or a health check is likely to use; a fixed list, so
# the content does not depend on running the (possibly foreign-arch) busybox.
APPLETS=(sh ash cat ls env sleep nc wget echo printf test true false mkdir rmdir rm cp mv ln
  chmod chown touch head tail grep egrep fgrep sed awk sort uniq tr wc cut tee find xargs ps
  kill id whoami hostname uname date pwd readlink realpath basename dirname stat du df tar
  gzip gunzip zcat sha256sum md5sum which timeout nslookup vi less more free top nproc
  mktemp seq yes)
GLIBC_LIBS=(libc.so.6 libm.so.6 libdl.so.2 libpthread.so.0 librt.so.1 libresolv.so.2 libutil.so.1
  libnss_files.so.2 libnss_dns.so.2)
CACHE=${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/sdx/base-rootfs

log() { printf '[base-rootfs] %s\n' "$*" >&2; }
die() {
  printf '[base-rootfs] ERROR: %s\n' "$*" >&2
  exit 1
}

ARCH=${1:-}
OUT=${2:-}
case $ARCH in
  amd64) TRIPLET=x86_64-linux-gnu LOADER=/lib64/ld-linux-x86-64.so.2 ;;
  arm64) TRIPLET=aarch64-linux-gnu LOADER=/lib/ld-linux-aarch64.so.1 ;;
  *)
    echo "usage: $0 amd64|arm64 <outdir>" >&2
    exit 2
    ;;
esac
[[ -n $OUT ]] || { echo "usage: $0 amd64|arm64 <outdir>" >&2; exit 2; }
for c in apt-cache apt-get dpkg-deb sha256sum; do command -v "$c" >/dev/null || die "command '$c' not found (Debian/Ubuntu only)"; done
command -v curl >/dev/null || command -v python3 >/dev/null || die "need curl or python3 to download arm64 packages"

# ---------------------------------------------------------------- downloads
# Candidate amd64 version, URL, file name and SHA-256 of every package, as apt would
# fetch them (one apt call each for all packages: apt start-up is the slow part).
declare -A VER URL FILE SHA
resolve_packages() {
  local specs=() p line url file sha pkg ver
  for p in "${PACKAGES[@]}"; do specs+=("$p:amd64"); done
  if ! apt-cache show --no-all-versions "${specs[@]}" >/dev/null 2>&1; then
    [[ $(id -u) -eq 0 ]] || die "apt knows not all of ${PACKAGES[*]} (run apt-get update as root)"
    log "apt lists lack some of ${PACKAGES[*]}; running apt-get update"
    apt-get update -qq >/dev/null || die "apt-get update failed"
  fi
  while IFS=' ' read -r pkg ver; do
    VER[$pkg]=$ver
  done < <(apt-cache show --no-all-versions "${specs[@]}" | awk '/^Package: /{p=$2} /^Version: /{print p, $2}')
  while read -r line; do
    read -r url file _ sha <<<"$line"
    url=${url//\'/}
    pkg=${file%%_*}
    URL[$pkg]=$url FILE[$pkg]=$file SHA[$pkg]=${sha#SHA256:}
  done < <(apt-get download --print-uris "${specs[@]}" 2>/dev/null | grep "^'")
  for p in "${PACKAGES[@]}"; do
    [[ -n ${VER[$p]:-} && -n ${URL[$p]:-} ]] || die "apt has no candidate for $p:amd64"
  done
}

fetch_url() { # url dest
  if command -v curl >/dev/null; then
    curl -fsSL --retry 3 --connect-timeout 20 -o "$2" "$1"
  else
    python3 - "$1" "$2" <<'EOF'
import sys, urllib.request, shutil
with urllib.request.urlopen(sys.argv[1], timeout=60) as r, open(sys.argv[2], "wb") as f:
    shutil.copyfileobj(r, f)
EOF
  fi
}

# Prints the path of the cached .deb of package $1 for $ARCH, downloading it when needed.
deb_for() {
  local pkg=$1 deb tmp
  local url=${URL[$pkg]} file=${FILE[$pkg]} sha=${SHA[$pkg]} want_ver=${VER[$pkg]}
  mkdir -p "$CACHE"
  if [[ $ARCH == amd64 ]]; then
    deb=$CACHE/${url##*/}
    deb=${deb//%2b/+}
    deb=${deb//%2B/+}
    if [[ -s $deb ]] && [[ $(sha256sum "$deb" | cut -d' ' -f1) == "$sha" ]]; then
      printf '%s\n' "$deb"
      return 0
    fi
    tmp=$(mktemp -d "$CACHE/.dl.XXXXXX")
    # APT::Sandbox::User=root only silences apt's warning that _apt cannot write here.
    (cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "$pkg:amd64=$want_ver" >/dev/null 2>&1) ||
      { rm -rf "$tmp"; die "apt-get download $pkg=$want_ver failed"; }
    [[ -s $tmp/$file ]] || { rm -rf "$tmp"; die "apt-get download left no $file"; }
    [[ $(sha256sum "$tmp/$file" | cut -d' ' -f1) == "$sha" ]] || { rm -rf "$tmp"; die "SHA-256 mismatch for $file"; }
    mv "$tmp/$file" "$deb"
    rm -rf "$tmp"
  else
    # Same version from the same mirror's pool: only the architecture in the name differs.
    url=${url%_amd64.deb}_arm64.deb
    deb=$CACHE/${url##*/}
    deb=${deb//%2b/+}
    deb=${deb//%2B/+}
    if ! { [[ -s $deb ]] && deb_is "$deb" "$pkg" "$want_ver" arm64; }; then
      tmp=$(mktemp "$CACHE/.dl.XXXXXX")
      if ! fetch_url "$url" "$tmp"; then
        # A binNMU (+bN) is per architecture: arm64 may have been built without it.
        local plain
        plain=$(sed -E 's/(%2[bB]|\+)b[0-9]+_arm64\.deb$/_arm64.deb/' <<<"$url")
        if [[ $plain != "$url" ]] && fetch_url "$plain" "$tmp"; then
          want_ver=${want_ver%+b*}
          deb=$CACHE/${plain##*/}
          deb=${deb//%2b/+}
          deb=${deb//%2B/+}
        else
          rm -f "$tmp"
          die "could not download $url"
        fi
      fi
      deb_is "$tmp" "$pkg" "$want_ver" arm64 || { rm -f "$tmp"; die "$url is not $pkg $want_ver arm64"; }
      chmod 0644 "$tmp"
      mv "$tmp" "$deb"
    fi
  fi
  printf '%s\n' "$deb"
}

deb_is() { # deb package version arch
  [[ $(dpkg-deb -f "$1" Package 2>/dev/null) == "$2" &&
    $(dpkg-deb -f "$1" Version 2>/dev/null) == "$3" &&
    $(dpkg-deb -f "$1" Architecture 2>/dev/null) == "$4" ]]
}

# ---------------------------------------------------------------- assembly
# Copies path $2 (absolute, inside extracted package root $1) into the rootfs, and when
# it is a symlink also what it points to, so no link dangles.
take() {
  local root=$1 p=$2 target i=0
  while ((i++ < 10)); do
    [[ -e $root$p || -L $root$p ]] || die "package content lacks $p"
    mkdir -p "$STAGE$(dirname "$p")"
    cp -a --no-preserve=timestamps "$root$p" "$STAGE$p"
    [[ -L $root$p ]] || return 0
    target=$(readlink "$root$p")
    [[ $target == /* ]] || target=$(dirname "$p")/$target
    p=$(realpath -m --no-symlinks "$target")
  done
  die "symlink loop at $2"
}

[[ $OUT != / ]] || die "refusing to write to /"
if [[ -e $OUT ]]; then
  [[ -d $OUT ]] || die "$OUT exists and is not a directory"
  if [[ -n $(ls -A "$OUT") ]] && ! [[ -f $OUT/bin/busybox && -f $OUT/etc/nsswitch.conf ]]; then
    die "$OUT is not empty and is not an earlier output of this script; refusing to replace it"
  fi
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sdx-base-rootfs.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
STAGE=$WORK/rootfs
mkdir -p "$STAGE"

resolve_packages
declare -A ROOT
for pkg in "${PACKAGES[@]}"; do
  deb=$(deb_for "$pkg")
  log "$pkg $(dpkg-deb -f "$deb" Version) $ARCH"
  ROOT[$pkg]=$WORK/pkg-$pkg
  mkdir -p "${ROOT[$pkg]}"
  dpkg-deb -x "$deb" "${ROOT[$pkg]}"
done

take "${ROOT[libc6]}" "$LOADER"
for l in "${GLIBC_LIBS[@]}"; do take "${ROOT[libc6]}" "/lib/$TRIPLET/$l"; done
take "${ROOT[libgcc-s1]}" "/lib/$TRIPLET/libgcc_s.so.1"
take "${ROOT[libstdc++6]}" "/usr/lib/$TRIPLET/libstdc++.so.6"
take "${ROOT[busybox-static]}" /bin/busybox

for a in "${APPLETS[@]}"; do ln -s busybox "$STAGE/bin/$a"; done
mkdir -p "$STAGE/usr/bin" "$STAGE/sbin" "$STAGE/usr/local/bin" "$STAGE/etc" "$STAGE/tmp" "$STAGE/root" "$STAGE/home/nonroot"
ln -s ../../bin/busybox "$STAGE/usr/bin/env"
ln -s ../bin/busybox "$STAGE/sbin/nologin"
chmod 1777 "$STAGE/tmp"
chmod 0700 "$STAGE/root"

cat >"$STAGE/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
EOF
cat >"$STAGE/etc/group" <<'EOF'
root:x:0:
nonroot:x:65532:
nogroup:x:65534:
EOF
cat >"$STAGE/etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
shadow: files
hosts: files dns
networks: files
protocols: files
services: files
EOF
cat >"$STAGE/etc/hosts" <<'EOF'
127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
EOF
# Ownership is part of "byte-identical": as root, everything is root's except nonroot's home.
if [[ $(id -u) -eq 0 ]]; then
  chown -hR 0:0 "$STAGE"
  chown 65532:65532 "$STAGE/home/nonroot"
fi
chmod 0755 "$STAGE"

rm -rf "$OUT"
mkdir -p "$(dirname "$OUT")"
mv "$STAGE" "$OUT"

files=$(find "$OUT" -type f | wc -l)
bytes=$(find "$OUT" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
log "rootfs $ARCH at $OUT: $files files, $bytes bytes ($(awk -v b="$bytes" 'BEGIN {printf "%.1f", b / 1048576}') MiB)"
printf '%s\n' "$OUT"
