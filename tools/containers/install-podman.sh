#!/usr/bin/env bash
# Install what the live compose test needs on a Debian/Ubuntu host without a Docker engine:
# podman, buildah, runc and debootstrap from the OS packages, podman-compose 1.6.0 from PyPI
# (the distribution's older versions know no profiles or health conditions), and the
# containers.conf settings a host without CAP_SYS_RESOURCE and with hybrid cgroups needs.
# Run as root. Idempotent: a second run changes nothing.
set -euo pipefail
# catatonit is the init compose's `init: true` asks for; podman only recommends it.
packages=(podman buildah runc catatonit netavark aardvark-dns uidmap fuse-overlayfs iptables debootstrap busybox-static
  ca-certificates)
if ! dpkg -s "${packages[@]}" >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${packages[@]}"
fi
venv="${GAAI_PODMAN_COMPOSE_VENV:-$HOME/.cache/gaai/containers/podman-compose}"
if [ ! -x "$venv/bin/podman-compose" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q podman-compose==1.6.0
fi
# The processes may not raise their rlimits here (no CAP_SYS_RESOURCE), so containers get
# limits at or below the host's; crun of this release refuses hybrid cgroup hosts, runc does not.
conf=/etc/containers/containers.conf.d/gaai.conf
if [ ! -f "$conf" ]; then
  mkdir -p "$(dirname "$conf")"
  nofile="$(ulimit -Hn)"
  nproc="$(ulimit -Hu)"
  [ "$nofile" = unlimited ] || [ "$nofile" -gt 20000 ] && nofile=20000
  [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ] && nproc=32768
  cat >"$conf" <<CONF
# Written by graph-analytics-ai tools/containers/install-podman.sh
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
runtime = "runc"
CONF
fi
echo "$venv/bin/podman-compose"
