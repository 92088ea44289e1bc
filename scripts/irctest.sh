#!/bin/sh
# Runs the IRC conformance suite irctest (https://github.com/progval/irctest) against
# sockchat's IRC front end. Opt-in, not part of CI: irctest is not vendored here.
#
#   IRCTEST_DIR=~/irctest scripts/irctest.sh [pytest arguments...]
#
# IRCTEST_DIR is a checkout of irctest with its requirements installed
# (pip install -r requirements.txt: pytest, ecdsa, filelock; pytest-xdist for -n 2).
# Each test case starts its own server (scripts/irctest/sockchat_controller.py), so deno must
# be on PATH. Extra arguments go to pytest, e.g. -k sasl, -n 2, or a file such as
# irctest/server_tests/who.py (default: all of irctest/server_tests).
set -eu

if [ -z "${IRCTEST_DIR:-}" ] || [ ! -f "$IRCTEST_DIR/conftest.py" ]; then
  echo "irctest.sh: set IRCTEST_DIR to a checkout of https://github.com/progval/irctest" >&2
  echo "  (one that has conftest.py), e.g. IRCTEST_DIR=~/irctest scripts/irctest.sh" >&2
  exit 2
fi
if ! command -v deno >/dev/null 2>&1; then
  echo "irctest.sh: deno is not on PATH; each test starts 'deno run -A main.ts serve'" >&2
  exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
cd "$IRCTEST_DIR"
# Tests of other servers' own behaviour (Ergo, Sable), of deprecated specs, and of DM history
# (sockchat never stores DMs, by design) do not apply.
markers=${IRCTEST_MARKERS:-"not implementation-specific and not deprecated and not private_chathistory"}
case " $* " in
  *" irctest/"*) set -- "$@" ;;
  *) set -- "$@" irctest/server_tests ;;
esac
PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$here/irctest${PYTHONPATH:+:$PYTHONPATH}" exec python3 -m pytest \
  -p no:cacheprovider --controller sockchat_controller -m "$markers" -rfEs "$@"
