#!/usr/bin/env bash
# The whole test suite: system packages, type checks, web bundle, then every test file.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/prepare-system.sh

npx tsc -p tsconfig.test.json --noEmit
# The tests run the built command (bin/framebus.js): about a second less per CLI run than
# compiling the sources again each time. `npm ci` has built it; rebuild when a source is newer.
if [ ! -f dist/cli/main.js ] || [ -n "$(find src lcm scripts -newer dist/cli/main.js -not -path "src/web/generated/*" -print -quit)" ]; then
  npm run --silent build
else
  npm run --silent build:web
fi
export FRAMEBUS_TEST_CLI=dist
# The viewer's own check: browser types, and the decoders build:web generates.
npx tsc -p tsconfig.web.json

mapfile -t files < <(find src test -name '*.test.ts' 2>/dev/null | sort)
if [ "${#files[@]}" -eq 0 ]; then
  echo "no test files found" >&2
  exit 1
fi
exec node --import tsx --test --test-reporter=spec --test-timeout=600000 "${files[@]}"
