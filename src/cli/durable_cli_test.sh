#!/usr/bin/env bash
# End-to-end test of the durable path of the quantatom binary: every change is a log record,
# the admin commands (log, audit, checkpoint, verify), a log damaged in the middle refused and
# salvaged, a tampered audit trail detected.
#   src/cli/durable_cli_test.sh build/src/cli/quantatom
set -uo pipefail
BIN="$1"
HERE="$(cd "$(dirname "$0")" && pwd)"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
passes=0; fails=0
has() {  # has NAME FRAGMENT OUTPUT
  if [[ "$3" == *"$2"* ]]; then passes=$((passes + 1)); else fails=$((fails + 1)); echo "FAIL: $1: no '$2' in:"; echo "$3"; fi
}
C1="Account=Sales,Region=EMEA,Month=Jan,Scenario=Budget"
D="$T/data"
"$BIN" import --data "$D" --model "$HERE/../../examples/acme.json" >/dev/null
has "import audits its cells" "import   $C1: - -> 1000" "$("$BIN" audit --data "$D" --app acme --cell "$C1")"

"$BIN" write --data "$D" --app acme --cell "$C1" --value 1200 --user ann >/dev/null
"$BIN" write --data "$D" --app acme --cell "$C1" --value 1300 --user bob >/dev/null
snapshot_before="$(md5sum < "$D/apps/acme.qa")"
has "a write does not rewrite the snapshot" "$snapshot_before" "$(md5sum < "$D/apps/acme.qa")"
out="$("$BIN" log list --data "$D" --app acme)"
has "log lists the writes" "ann	write	1 change set	1 cell" "$out"
has "log lists each record's version vector" "1 cell	clock {app:2}" "$out"
has "log counts them" "2 records" "$out"
out="$("$BIN" audit --data "$D" --app acme --cell "$C1" --format csv)"
has "audit has old and new (ann)" "ann,input,\"$C1\",1000,1200" "$out"
has "audit has old and new (bob)" "bob,input,\"$C1\",1200,1300" "$out"
has "audit by user" "1 entry" "$("$BIN" audit --data "$D" --app acme --user bob)"
has "audit by time (none in 2020)" "0 entries" "$("$BIN" audit --data "$D" --app acme --until 2020-01-01)"
out="$("$BIN" audit --data "$D" --app acme --since yesterday 2>&1)"
has "a bad time is refused" "--since 'yesterday' is not an ISO-8601 UTC time" "$out"
has "verify" "audit trail OK" "$("$BIN" verify --data "$D")"

# Damage the first of two records: acknowledged data is damaged, the app refuses to open,
# naming the offset; nothing is written; the operator salvages the valid prefix.
cp "$D/apps/acme.log" "$T/log.bak"
printf '\xff' | dd of="$D/apps/acme.log" bs=1 seek=30 conv=notrunc status=none
damaged="$(md5sum < "$D/apps/acme.log")"
out="$("$BIN" write --data "$D" --app acme --cell "$C1" --value 1 2>&1)"
has "damage in the middle is refused" "offset 0" "$out"
has "refused with no change to the log" "$damaged" "$(md5sum < "$D/apps/acme.log")"
has "verify reports it" "FAILED" "$("$BIN" verify --data "$D" 2>&1)"
out="$("$BIN" checkpoint --data "$D" --app acme --salvage)"
has "salvage says what it dropped" "dropped from the log" "$out"
has "salvaged app is back to the import" "1000" "$("$BIN" query --data "$D" --app acme --rows "Account: Sales" --cols "Month: Jan" --where "Region=EMEA,Scenario=Budget" --format csv)"

# Checkpoint folds the log into the snapshot; the trail keeps every change.
"$BIN" write --data "$D" --app acme --cell "$C1" --value 1400 --user cy >/dev/null
has "checkpoint" "through log record" "$("$BIN" checkpoint --data "$D" --app acme)"
has "log empty after checkpoint" "0 records" "$("$BIN" log verify --data "$D" --app acme)"
has "audit keeps checkpointed entries" "cy,input,\"$C1\",1000,1400" "$("$BIN" audit --data "$D" --app acme --cell "$C1" --format csv)"

# Tampering with the audit trail is detected.
size=$(stat -c %s "$D/apps/acme.audit")
printf 'X' | dd of="$D/apps/acme.audit" bs=1 seek=$((size - 40)) conv=notrunc status=none
has "tampered trail detected" "audit chain broken" "$("$BIN" verify --data "$D" 2>&1)"

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
