#!/usr/bin/env bash
# OpenFlow 1.0 conformance, `npm run conformance`: os-ken's switch tester with the Ryu project's
# OpenFlow 1.0 test patterns, run by the harness ryu-switch-test.sh against the built ofswitch
# (dist/lib/cli.js). Not part of `npm test`: the patterns and the harness are not in this
# repository (the patterns are the Ryu project's; CI keeps both beside the checkout, in ../shared).
#
#   OFSWITCH_RYU_PATTERNS  the patterns directory (default ../shared/conformance/ryu-of10)
#   OFSWITCH_RYU_TOOL      the harness (default ../shared/tools/ryu-switch-test.sh)
#   RT_TESTS, RT_TIMEOUT, RT_LOGDIR, ...  the harness's own settings (see its header); RT_LOGDIR
#                          defaults here to /tmp/ofswitch-ryu-PID
#
# The harness starts Open vSwitch (the tester) with its own runtime directory and everything in a
# private network namespace; it needs root. Exits 0 only when the harness exits 0 and its summary
# line says "N passed, 0 failed" with N > 0; 2 when the patterns or the harness are missing.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PATTERNS=${OFSWITCH_RYU_PATTERNS:-$ROOT/../shared/conformance/ryu-of10}
TOOL=${OFSWITCH_RYU_TOOL:-$ROOT/../shared/tools/ryu-switch-test.sh}

missing=()
[ -d "$PATTERNS" ] || missing+=("no test patterns at $PATTERNS (set OFSWITCH_RYU_PATTERNS)")
[ -f "$TOOL" ] || missing+=("no harness at $TOOL (set OFSWITCH_RYU_TOOL)")
if [ ${#missing[@]} -gt 0 ]; then
  joined=$(printf '%s; ' "${missing[@]}")
  echo "conformance: cannot run the Ryu OpenFlow 1.0 tests: ${joined%; }" >&2
  exit 2
fi
CLI=$ROOT/dist/lib/cli.js
[ -f "$CLI" ] || { echo "conformance: $CLI is not built (npm run build)" >&2; exit 2; }

# Expanded by the harness inside its namespace, where it sets RT_DPID, RT_PORTn, RT_CONTROLLER.
# shellcheck disable=SC2016
TARGET="exec $(command -v node) $CLI"' --dpid $RT_DPID --port $RT_PORT1 --port $RT_PORT2 --port $RT_PORT3 --controller $RT_CONTROLLER --fail-mode secure --listen ptcp:6634:127.0.0.1'
export RT_TEST_DIR=$PATTERNS
export RT_LOGDIR=${RT_LOGDIR:-/tmp/ofswitch-ryu-$$}

OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
bash "$TOOL" "$TARGET" 2>&1 | tee "$OUT"
status=${PIPESTATUS[0]}

summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$OUT" | tail -n 1)
if [ -z "$summary" ]; then
  echo "conformance: FAILED: the harness printed no 'N passed, M failed' line (exit $status); logs in $RT_LOGDIR" >&2
  exit 1
fi
read -r passed _ failed _ <<<"$summary"
if [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ] || [ "$status" -ne 0 ]; then
  echo "conformance: FAILED: $summary (harness exit $status); logs in $RT_LOGDIR" >&2
  exit 1
fi
echo "conformance: $summary"
