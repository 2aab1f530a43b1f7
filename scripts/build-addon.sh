#!/usr/bin/env bash
# Builds the AF_PACKET addon (datapath/native) with node-gyp: `npm install` runs it (the package's
# install script, also in a project that installs ofswitch from its tarball), and so do
# `npm run build:native` and scripts/setup.sh. node-gyp is npm's own (npm puts it on the PATH of
# scripts). Node's headers come from npm's nodedir setting (npm hands it to scripts as
# npm_config_nodedir), else from the system's Node (/usr/include/node), else node-gyp fetches them.
set -euo pipefail
cd "$(dirname "$0")/.."
nodedir=${npm_config_nodedir:-}
if [ -z "$nodedir" ]; then nodedir=$(npm config get nodedir 2>/dev/null || true); fi
if [ -z "$nodedir" ] || [ "$nodedir" = undefined ] || [ "$nodedir" = null ]; then
  nodedir=$([ -f /usr/include/node/node_api.h ] && echo /usr || true)
fi
if [ -n "$nodedir" ]; then export npm_config_nodedir="$nodedir"; else unset npm_config_nodedir; fi
exec node-gyp rebuild --directory=datapath/native
