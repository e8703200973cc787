#!/usr/bin/env bash
# End-to-end test of the quantatom binary: import, query, write, stats, and bad input that must
# leave the data folder untouched. Expected grids are computed by hand from examples/acme.json.
set -u
BIN="$1"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
fails=0; passes=0
check() {  # name, expected, actual
  if [ "$2" == "$3" ]; then passes=$((passes + 1)); else
    fails=$((fails + 1)); echo "FAIL: $1"; echo "--- expected"; echo "$2"; echo "--- got"; echo "$3"; fi
}
fingerprint() { (cd "$1" && find . -type f | sort | xargs md5sum); }

"$BIN" import --data "$T/data" --model "$ROOT/examples/acme.json" >/dev/null || { echo "FAIL: import"; exit 1; }

# Budget, Q1 by region. NetIncome = Sales + Services - Salaries - Rent:
# EMEA 1000+1100-600-250 = 1250; AMER 2000+500-700 = 1800; World 3050. PeopleCost = Salaries.
check "budget grid" "$(cat <<'X'
Account,World,EMEA,AMER
NetIncome,3050,1250,1800
Revenue,4600,2100,2500
Costs,1550,850,700
PeopleCost,1300,600,700
X
)" "$("$BIN" query --data "$T/data" --app acme --rows "Account: NetIncome, children(NetIncome), PeopleCost" \
      --cols "Region: World, children(World)" --where "Month=Q1,Scenario=Budget" --format csv)"

# Text shows at its leaf and is not summed; an empty total stays empty.
check "actual text" "$(cat <<'X'
Account,Jan,Feb,Mar
Rent,,lease renegotiated,
Costs,,,
Sales,950,,
X
)" "$("$BIN" query --data "$T/data" --app acme --rows "Account: Rent, Costs, Sales" --cols "Month: children(Q1)" \
      --where "Region=EMEA,Scenario=Actual" --format csv)"

# Bad input: each fails with a clear message and leaves the data folder as it was.
before="$(fingerprint "$T/data")"
expect_error() {  # name, expected message fragment, command...
  local name="$1" frag="$2"; shift 2
  local out; out="$("$@" 2>&1)"; local rc=$?
  if [ $rc -eq 0 ] || [[ "$out" != *"$frag"* ]]; then
    fails=$((fails + 1)); echo "FAIL: $name (rc=$rc): $out"
  else passes=$((passes + 1)); fi
}
printf '{"app": "acme", "dimensions": [{"name": "A", "members": [{"code": "x", "parent": "y"}]}]}' >"$T/bad.json"
expect_error "unknown parent" "bad.json: dimensions[0].members[0].parent: unknown member 'y'" \
  "$BIN" import --data "$T/data" --model "$T/bad.json" --replace
expect_error "app exists" "already exists" "$BIN" import --data "$T/data" --model "$ROOT/examples/acme.json"
expect_error "write to a total" "is consolidated" \
  "$BIN" write --data "$T/data" --app acme --cell "Account=Revenue,Region=EMEA,Month=Jan,Scenario=Budget" --value 5
expect_error "unknown member" "unknown member 'Nope' in dimension 'Region'" \
  "$BIN" write --data "$T/data" --app acme --cell "Account=Sales,Region=Nope,Month=Jan,Scenario=Budget" --value 5
expect_error "bad number" "--value '12abc' is not a number" \
  "$BIN" write --data "$T/data" --app acme --cell "Account=Sales,Region=EMEA,Month=Jan,Scenario=Budget" --value 12abc
expect_error "bad axis" "unknown function 'kids'" \
  "$BIN" query --data "$T/data" --app acme --rows "Account: kids(Revenue)" --cols "Month: Q1" --where "Scenario=Budget"
expect_error "missing slicer" "'Scenario' has several top members (Actual, Budget)" \
  "$BIN" query --data "$T/data" --app acme --rows "Account: Revenue" --cols "Month: Q1"
mkdir -p "$T/ds" && "$BIN" sample --out "$T/ds" --cells 1000 >/dev/null
echo "10,3,2,1,12" >>"$T/ds/cells.csv"
expect_error "dataset bad row" "cells.csv:1001: expected 6 fields" \
  "$BIN" import --data "$T/data" --app ds --dataset "$T/ds"
check "folder unchanged after errors" "$before" "$(fingerprint "$T/data")"

# A batch write (all or nothing), then every affected total shows it.
"$BIN" write --data "$T/data" --app acme \
  --cell "Account=Sales,Region=EMEA,Month=Mar,Scenario=Budget" --value 400 \
  --cell "Account=Rent,Region=EMEA,Month=Mar,Scenario=Budget" --value "" >/dev/null
check "after write" "$(cat <<'X'
Account,World,EMEA,AMER
NetIncome,3700,1900,1800
X
)" "$("$BIN" query --data "$T/data" --app acme --rows "Account: NetIncome" --cols "Region: World, children(World)" \
      --where "Month=Q1,Scenario=Budget" --format csv)"

# Concurrent writes to different cells of one app all land: each process holds the app's lock
# from its load to its save. (Six writers rather than two, so that a missing lock shows.)
"$BIN" import --data "$T/data" --model "$ROOT/examples/acme.json" --app race >/dev/null
pids=()
v=0
for region in EMEA AMER; do
  for month in Jan Feb Mar; do
    v=$((v + 1))
    "$BIN" write --data "$T/data" --app race --cell "Account=Services,Region=$region,Month=$month,Scenario=Actual" \
      --value "$v" >/dev/null & pids+=($!)
  done
done
rc=0; for p in "${pids[@]}"; do wait "$p" || rc=1; done
check "concurrent writers all exit 0" "0" "$rc"
check "concurrent writes all land" "$(cat <<'X'
Region,Jan,Feb,Mar
EMEA,1,2,3
AMER,4,5,6
X
)" "$("$BIN" query --data "$T/data" --app race --rows "Region: EMEA, AMER" --cols "Month: Jan, Feb, Mar" \
      --where "Account=Services,Scenario=Actual" --format csv)"
check "no temporary files left" "" "$(cd "$T/data/apps" && ls | grep tmp)"

# A one-dimension app: without --cols the grid has a single unnamed column.
printf '%s' '{"app": "one", "dimensions": [{"name": "D", "members": [{"code": "T"}, {"code": "a", "parent": "T"},
  {"code": "b", "parent": "T", "weight": -1}]}], "cells": [{"D": "a", "value": 5}, {"D": "b", "value": 2}]}' >"$T/one.json"
"$BIN" import --data "$T/data" --model "$T/one.json" >/dev/null
check "one-dimension query" "$(cat <<'X'
D,
T,3
a,5
b,2
X
)" "$("$BIN" query --data "$T/data" --app one --rows "D: T, children(T)" --format csv)"

# Spreading into a total: EMEA Sales (Jan 1000, Feb 1100; Mar 400 after the write above) doubles
# when Revenue EMEA Q1 goes from 2500 to 5000 proportionally; Jan held keeps 1000, so Feb and Mar
# share 4000 in their ratio 1100:400 -> 2933.33..., 1066.66....
"$BIN" spread --data "$T/data" --app acme --cell "Account=Revenue,Region=EMEA,Month=Q1,Scenario=Budget" --value 5000 \
  --hold "Account=Sales,Region=EMEA,Month=Jan,Scenario=Budget" >/dev/null
got="$("$BIN" query --data "$T/data" --app acme --rows "Account: Sales" --cols "Month: Jan, Feb, Mar, Q1" \
      --where "Region=EMEA,Scenario=Budget" --format csv | tail -1)"
# Expected 1000, 8800/3, 3200/3, 5000, to 1e-9 relative.
if echo "$got" | awk -F, '{ e[2]=1000; e[3]=8800/3; e[4]=3200/3; e[5]=5000; ok=1;
     for (i = 2; i <= 5; i++) { d = $i - e[i]; if (d < 0) d = -d; if (d > 1e-9 * e[i]) ok=0 } exit !ok }'; then
  passes=$((passes + 1))
else
  fails=$((fails + 1)); echo "FAIL: after spread: $got"
fi
before_spread="$(fingerprint "$T/data")"
expect_error "spread into held cells" "every leaf below the cell is held" \
  "$BIN" spread --data "$T/data" --app acme --cell "Account=Sales,Region=EMEA,Month=Jan,Scenario=Budget" --value 1 \
  --hold "Account=Revenue,Region=World,Month=Q1,Scenario=Budget"
expect_error "bad spread method" "unknown spread method 'evenly'" \
  "$BIN" spread --data "$T/data" --app acme --cell "Account=Revenue,Region=EMEA,Month=Q1,Scenario=Budget" --value 1 --method evenly
check "folder unchanged after failed spreads" "$before_spread" "$(fingerprint "$T/data")"

stats="$("$BIN" stats --data "$T/data" --app acme)"
[[ "$stats" == *"cells: 8 numeric, 1 text"* ]] && passes=$((passes + 1)) || { fails=$((fails + 1)); echo "FAIL: stats: $stats"; }

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
