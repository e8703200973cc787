#!/usr/bin/env bash
# End-to-end test of `quantatom formula`: define, list, remove; computed cells in queries,
# recalculation after a write, read-only formula cells, error cells, bad formulas that change
# nothing, and formulas kept with the app between runs. Expected grids are computed by hand.
set -u
BIN="$1"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
fails=0; passes=0
check() {  # name, expected, actual
  if [ "$2" == "$3" ]; then passes=$((passes + 1)); else
    fails=$((fails + 1)); echo "FAIL: $1"; echo "--- expected"; echo "$2"; echo "--- got"; echo "$3"; fi
}
fingerprint() { (cd "$1" && find . -type f -name '*.qa' | sort | xargs md5sum); }

cat > "$T/shop.json" <<'X'
{"app": "shop", "planning_type": "corporate", "dimensions": [
  {"name": "Account", "type": "account", "members": [
    {"code": "Sales"}, {"code": "COGS"}, {"code": "Units"}, {"code": "GrossMargin"}, {"code": "Margin"},
    {"code": "Price"}, {"code": "Closing"}]},
  {"name": "Region", "type": "entity", "members": [
    {"code": "World"}, {"code": "EMEA", "parent": "World"}, {"code": "AMER", "parent": "World"}]},
  {"name": "Month", "type": "time", "members": [
    {"code": "Q1"}, {"code": "Jan", "parent": "Q1"}, {"code": "Feb", "parent": "Q1"}, {"code": "Mar", "parent": "Q1"}]}],
 "cells": [
  {"Account": "Sales", "Region": "EMEA", "Month": "Jan", "value": 100},
  {"Account": "COGS",  "Region": "EMEA", "Month": "Jan", "value": 60},
  {"Account": "Sales", "Region": "AMER", "Month": "Jan", "value": 300},
  {"Account": "COGS",  "Region": "AMER", "Month": "Jan", "value": 30},
  {"Account": "Sales", "Region": "EMEA", "Month": "Feb", "value": 50},
  {"Account": "Units", "Region": "EMEA", "Month": "Jan", "value": 0},
  {"Account": "Units", "Region": "AMER", "Month": "Jan", "value": 3}]}
X
"$BIN" import --data "$T/data" --model "$T/shop.json" >/dev/null || { echo "FAIL: import"; exit 1; }
Q() { "$BIN" query --data "$T/data" --app shop --format csv "$@"; }

check "define" "Account=GrossMargin [leaf]: Sales - COGS" \
  "$("$BIN" formula --data "$T/data" --app shop --member "Account=GrossMargin" --text "Sales-COGS")"
"$BIN" formula --data "$T/data" --app shop --member "Account=Margin" --text "GrossMargin / Sales" --scope both >/dev/null
"$BIN" formula --data "$T/data" --app shop --member "Account=Price" --text "Sales / Units" >/dev/null
"$BIN" formula --data "$T/data" --app shop --member "Account=Closing" --text "prev(Closing) + GrossMargin" >/dev/null
check "list" "$(cat <<'X'
Account=GrossMargin [leaf]: Sales - COGS
Account=Margin [both]: GrossMargin / Sales
Account=Price [leaf]: Sales / Units
Account=Closing [leaf]: prev(Closing) + GrossMargin
X
)" "$("$BIN" formula --data "$T/data" --app shop)"

# GrossMargin: EMEA Jan 40, Feb 50; AMER Jan 270; World Q1 360. Margin at World Jan = 310/400
# = 0.775, at World Q1 = 360/450 = 0.8 (after consolidation, not summed). Price EMEA = 100/0
# and 50/(no Units, read as 0): #DIV/0!, and so is every total above them.
# Closing EMEA: 40, 90, 90; AMER: 270, 270, 270.
check "computed grid" "$(cat <<'X'
Account/Region,Jan,Feb,Mar,Q1
GrossMargin/World,310,50,,360
Margin/World,0.775,1,,0.8
Price/EMEA,#DIV/0!,#DIV/0!,,#DIV/0!
Price/AMER,100,,,100
Closing/EMEA,40,90,90,220
Closing/AMER,270,270,270,810
X
)" "$(Q --rows "Account: GrossMargin, Margin; Region: World" --cols "Month: Jan, Feb, Mar, Q1" 2>&1 | head -3 ;
      Q --rows "Account: Price, Closing; Region: EMEA, AMER" --cols "Month: Jan, Feb, Mar, Q1" 2>&1 | tail -4)"

# A write recalculates the dependent cells, kept across runs.
"$BIN" write --data "$T/data" --app shop --cell "Account=COGS,Region=EMEA,Month=Feb" --value 20 >/dev/null
check "after write" "$(cat <<'X'
Account/Region,Jan,Feb,Mar,Q1
GrossMargin/EMEA,40,30,,70
Closing/EMEA,40,70,70,180
X
)" "$(Q --rows "Account: GrossMargin, Closing; Region: EMEA" --cols "Month: Jan, Feb, Mar, Q1")"

# Formula cells are read-only; bad formulas fail with positions and change nothing.
before="$(fingerprint "$T/data")"
out="$("$BIN" write --data "$T/data" --app shop --cell "Account=GrossMargin,Region=EMEA,Month=Jan" --value 1 2>&1)"
check "read-only" "quantatom: write 1 of 1 (Account=GrossMargin,Region=EMEA,Month=Jan): Account 'GrossMargin' is read-only" "$out"
out="$("$BIN" formula --data "$T/data" --app shop --member "Account=Units" --text "Sales * (2 +" 2>&1)"
check "syntax error" "quantatom: formula for Account=Units: line 1, column 13: expected a number, a member, a function or '(' but found the end of the formula" "$out"
out="$("$BIN" formula --data "$T/data" --app shop --member "Account=Units" --text "Sales + Revnue" 2>&1)"
check "unknown member" "quantatom: formula for Account=Units: line 1, column 9: no member 'Revnue' in dimension 'Account'" "$out"
out="$("$BIN" formula --data "$T/data" --app shop --member "Account=Sales" --text "GrossMargin * 2" 2>&1)"
check "cycle" "quantatom: formula cycle: GrossMargin -> Sales -> GrossMargin (a formula may read its own member's cells only in earlier periods: prev, lag)" "$out"
check "unchanged after errors" "$before" "$(fingerprint "$T/data")"

check "remove" "removed the formula of Account=Price" \
  "$("$BIN" formula --data "$T/data" --app shop --member "Account=Price" --remove)"
check "removed cells" "Account/Region,Jan
Price/World," "$(Q --rows "Account: Price; Region: World" --cols "Month: Jan")"

echo "formula cli: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
