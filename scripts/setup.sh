#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine (run as root): the Debian packages that the raw-socket
# library and the tests' real peers need, the npm packages, and the TypeScript build.
# Every step is skipped when it is already done, so `npm test` and `npm start` can always call it.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  libpcap-dev                 # raw sockets (cap builds against libpcap)
  iproute2 iputils-ping ethtool procps tcpdump iperf3 netsniff-ng
  openvswitch-common          # ovs-ofctl
  openvswitch-switch          # Open vSwitch itself, the reference switch
  openvswitch-testcontroller  # ovs-testcontroller
  python3-os-ken python3-scapy
  tshark
)

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

# npm packages: install when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages" >&2
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund >&2; else npm install --no-audit --no-fund >&2; fi
fi

# Build (type-checks everything: sources, tests and benchmarks).
npx tsc -p tsconfig.json >&2
