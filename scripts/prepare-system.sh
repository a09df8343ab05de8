#!/usr/bin/env bash
# Prepares this machine for the tests: installs the Debian packages they use (real peers and
# checkers) or names what is missing, and keeps LCM's multicast on the loopback interface.
set -euo pipefail

# LCM multicast stays on this host: route 224.0.0.0/4 to lo so group joins (liblcm's too) use
# lo, never eth0, and let UDP receive buffers hold a several-MB keyframe (liblcm's advice).
if [ "$(id -u)" -eq 0 ]; then
  ip link set lo multicast on 2>/dev/null || true
  ip route replace 224.0.0.0/4 dev lo 2>/dev/null || true
  [ "$(sysctl -n net.core.rmem_max 2>/dev/null || echo 0)" -ge 8388608 ] || sysctl -qw net.core.rmem_max=8388608 2>/dev/null || true
elif ! ip route show 224.0.0.0/4 2>/dev/null | grep -q 'dev lo'; then
  echo "note: LCM tests want multicast on loopback: sudo ip link set lo multicast on && sudo ip route add 224.0.0.0/4 dev lo" >&2
fi

declare -A need=(
  [ffprobe]=ffmpeg
  [ffmpeg]=ffmpeg
  [lcm-gen]=liblcm-bin
  [nats-server]=nats-server
  [chromium]=chromium
  [gcc]=gcc
  [pkg-config]=pkg-config
)
missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
[ -f /usr/include/lcm/lcm.h ] || missing+=(liblcm-dev)
/usr/bin/python3 -c 'import av' >/dev/null 2>&1 || missing+=(python3-av)
/usr/bin/python3 -c 'import aiortc' >/dev/null 2>&1 || missing+=(python3-aiortc)
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "framebus tests need these Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
