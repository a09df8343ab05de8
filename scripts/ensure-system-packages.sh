#!/usr/bin/env bash
# Installs the Debian packages the tests use (real peers and checkers), or names what is missing.
set -euo pipefail

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
