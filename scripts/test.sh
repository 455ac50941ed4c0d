#!/usr/bin/env bash
# Set up a virtualenv from pyproject.toml and run the whole test suite.
# Used by the README and by .ci/run; safe to run again (pip skips what is installed).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e '.[test]'
export DBT_SEND_ANONYMOUS_USAGE_STATS=false
# One worker per core; a test file stays on one worker (its module fixtures build once).
exec .venv/bin/pytest -n "${SAGAZ_TEST_WORKERS:-auto}" --dist loadfile "$@"
