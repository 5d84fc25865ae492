#!/usr/bin/env bash
# Run a command with every clock 40 days ahead at 23:30 UTC: quiet hours in every programme
# country, and past the tests' FIXED_NOW. A test that reads the wall clock where it should read
# the tests' clock fails there. A shift, not a start time: the servers the tests start share it.
set -euo pipefail
day=$(date -ud '+40 days' +%F)
target=$(date -ud "$day 23:30" +%s)
shift_s=$((target - $(date -u +%s)))
echo "clock shifted to $day 23:30 UTC" >&2
exec faketime -f "+${shift_s}s" "$@"
