#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine (run as root): the Debian packages that the raw-socket
# addon and the tests' real peers need, the npm packages, the addon (datapath/native) and the
# TypeScript build.
# Every step is skipped when it is already done, so `npm test` and `npm start` can always call it.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  build-essential python3     # the AF_PACKET addon (node-gyp: make, a C compiler, python3)
  iproute2 iputils-ping ethtool procps tcpdump iperf3 netsniff-ng
  openvswitch-common          # ovs-ofctl
  openvswitch-switch          # Open vSwitch itself, the reference switch
  openvswitch-testcontroller  # ovs-testcontroller
  python3-os-ken python3-scapy
  tshark
  pmacct nfdump               # sfacctd and nfcapd: the sFlow, NetFlow and IPFIX collectors
  prometheus                  # promtool checks the metrics exposition
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

# Node's headers for native addons (ours and os-lock's, built by npm ci): npm's nodedir setting,
# else the system's Node (/usr/include/node), else node-gyp fetches them.
nodedir=$(npm config get nodedir 2>/dev/null || true)
if [ -z "$nodedir" ] || [ "$nodedir" = undefined ] || [ "$nodedir" = null ]; then
  nodedir=$([ -f /usr/include/node/node_api.h ] && echo /usr || true)
fi

# npm packages: install when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages" >&2
  export npm_config_nodedir="$nodedir"
  if [ -f package-lock.json ]; then npm ci --loglevel=warn --no-audit --no-fund >&2; else npm install --loglevel=warn --no-audit --no-fund >&2; fi
fi

# The AF_PACKET addon (npm ci builds it too, with the package's install script): built again when
# missing or older than its sources, by scripts/build-addon.sh (npm's node-gyp, which npm puts on
# the PATH of scripts; the same nodedir fallback).
ADDON=datapath/native/build/Release/af_packet.node
if [ ! -f "$ADDON" ] || [ -n "$(find datapath/native -maxdepth 1 -newer "$ADDON" \( -name '*.c' -o -name '*.h' -o -name binding.gyp \))" ]; then
  echo "setup: building the AF_PACKET addon" >&2
  npm_config_nodedir="$nodedir" npm run --silent build:native >&2
fi

# Build (type-checks everything: sources, tests and benchmarks).
npm run --silent build >&2
