#!/bin/sh
# keepalived notify script: records the VRRP state in a file, for status and tests.
#   notify_state.sh FILE   keepalived appends: TYPE NAME STATE PRIORITY
# Writes "STATE epoch-ms" atomically and appends it to FILE.log.
file="$1"
state="$4"
now="$(date +%s%3N)"
printf '%s %s\n' "$state" "$now" >"$file.tmp" && mv -f "$file.tmp" "$file"
printf '%s %s %s\n' "$now" "$state" "$5" >>"$file.log"
