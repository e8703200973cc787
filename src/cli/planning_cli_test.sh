#!/usr/bin/env bash
# End-to-end test of the planning commands: bridge, read-only actuals, holds, targets, comments
# and adjustments, on two tiny hand-made apps. Every expected number is worked out below.
set -u
BIN="$1"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
fails=0; passes=0
check() {  # name, expected, actual
  if [ "$2" == "$3" ]; then passes=$((passes + 1)); else
    fails=$((fails + 1)); echo "FAIL: $1"; echo "--- expected"; echo "$2"; echo "--- got"; echo "$3"; fi
}
has() {  # name, fragment, text
  if [[ "$3" == *"$2"* ]]; then passes=$((passes + 1)); else fails=$((fails + 1)); echo "FAIL: $1: no '$2' in:"; echo "$3"; fi
}
expect_error() {  # name, expected message fragment, command...
  local name="$1" frag="$2"; shift 2
  local out; out="$("$@" 2>&1)"; local rc=$?
  if [ $rc -eq 0 ] || [[ "$out" != *"$frag"* ]]; then fails=$((fails + 1)); echo "FAIL: $name (rc=$rc): $out"
  else passes=$((passes + 1)); fi
}
fingerprint() { (cd "$1" && find . -type f | sort | xargs md5sum); }

# GL app: gl = G(g1, g2) + g3; scenario Actual. Cells g1 = 10, g2 = 20, g3 = 5.
mkdir -p "$T/gl" "$T/plan"
echo '{"dims": {"gl": {}, "scenario": {}}}' >"$T/gl/manifest.json"
printf '0,g1,0\n1,g2,0\n2,g3,0\n3,G,1\n' >"$T/gl/elements_gl.csv"
printf '0,3,1\n1,3,1\n' >"$T/gl/hier_gl.csv"
printf '0,Actual,0\n' >"$T/gl/elements_scenario.csv"; : >"$T/gl/hier_scenario.csv"
printf '0,0,10\n1,0,20\n2,0,5\n' >"$T/gl/cells.csv"
# Plan app: account = T(a1, a2); scenario Actual (read-only), Budget. Budget a1 = 30, a2 = 70.
echo '{"dims": {"account": {}, "scenario": {}}}' >"$T/plan/manifest.json"
printf '0,a1,0\n1,a2,0\n2,T,1\n' >"$T/plan/elements_account.csv"
printf '0,2,1\n1,2,1\n' >"$T/plan/hier_account.csv"
printf '0,Actual,0\n1,Budget,0\n' >"$T/plan/elements_scenario.csv"; : >"$T/plan/hier_scenario.csv"
printf 'code,attribute,value\nActual,read_only,true\n' >"$T/plan/attributes_scenario.csv"
printf '0,1,30\n1,1,70\n' >"$T/plan/cells.csv"
"$BIN" import --data "$T/data" --app gl --dataset "$T/gl" >/dev/null || { echo "FAIL: import gl"; exit 1; }
"$BIN" import --data "$T/data" --app plan --dataset "$T/plan" >/dev/null || { echo "FAIL: import plan"; exit 1; }

# Rules: G -> a1 (covers g1, g2), g2 split 0.5 a1 / 0.5 a2 (overrides), g3 -> a2.
# a1 = 10 + 0.5 x 20 = 20; a2 = 0.5 x 20 + 5 = 15; T = 35.
printf 'source,target,weight\nG,a1,1\ng2,a1,0.5\ng2,a2,0.5\ng3,a2,1\n' >"$T/rules.csv"
printf 'source,target,weight\nG,a1,1\ng3,a2,0.6\n' >"$T/bad_rules.csv"
before="$(fingerprint "$T/data")"
expect_error "bridge weights not totalling 1" "g3" \
  "$BIN" bridge --data "$T/data" --source gl --target plan --source-dim gl --target-dim account --rules "$T/bad_rules.csv"
expect_error "bridge unknown dimension" "has no dimension 'acct'" \
  "$BIN" bridge --data "$T/data" --source gl --target plan --source-dim gl --target-dim acct --rules "$T/rules.csv"
check "folder unchanged after failed bridges" "$before" "$(fingerprint "$T/data")"
"$BIN" bridge --data "$T/data" --source gl --target plan --source-dim gl --target-dim account --rules "$T/rules.csv" >/dev/null
check "bridged actuals" "account,Actual,Budget
a1,20,30
a2,15,70
T,35,100" "$("$BIN" query --data "$T/data" --app plan --rows "account: a1, a2, T" --cols "scenario: Actual, Budget" --format csv)"

# Actual is read-only: a write there is refused and changes nothing.
before="$(fingerprint "$T/data")"
expect_error "write into read-only Actual" "scenario 'Actual' is read-only" \
  "$BIN" write --data "$T/data" --app plan --cell "account=a1,scenario=Actual" --value 1
expect_error "hold on an unknown member" "unknown member 'zz'" \
  "$BIN" hold --data "$T/data" --app plan --user ann --cell "account=zz,scenario=Budget"
check "folder unchanged after refused writes" "$before" "$(fingerprint "$T/data")"

# ann holds a1; her spread of T Budget to 200 leaves a1 at 30 and gives a2 170. bob's spread
# (no holds) of T to 100 scales 30:170 -> 15, 85.
"$BIN" hold --data "$T/data" --app plan --user ann --cell "account=a1,scenario=Budget" >/dev/null
"$BIN" spread --data "$T/data" --app plan --user ann --cell "account=T,scenario=Budget" --value 200 >/dev/null
check "spread honours the user's hold" "account,Budget
a1,30
a2,170" "$("$BIN" query --data "$T/data" --app plan --rows "account: a1, a2" --cols "scenario: Budget" --format csv)"
"$BIN" spread --data "$T/data" --app plan --user bob --cell "account=T,scenario=Budget" --value 100 >/dev/null
check "another user's spread ignores it" "account,Budget
a1,15
a2,85" "$("$BIN" query --data "$T/data" --app plan --rows "account: a1, a2" --cols "scenario: Budget" --format csv)"
check "holds are listed" "account=a1,scenario=Budget" "$("$BIN" hold --data "$T/data" --app plan --user ann)"

# Relative spread of Budget T = 70 shaped like Actual (20 : 15) -> 40, 30.
"$BIN" spread --data "$T/data" --app plan --cell "account=T,scenario=Budget" --value 70 --method relative \
  --basis "scenario=Actual" >/dev/null
check "relative spread" "account,Budget
a1,40
a2,30" "$("$BIN" query --data "$T/data" --app plan --rows "account: a1, a2" --cols "scenario: Budget" --format csv)"

# Target 50 on T Budget: plan 70, actual 35: plan - target = 20 (+40.0%), actual - plan = -35 (-50.0%).
"$BIN" target --data "$T/data" --app plan --cell "account=T,scenario=Budget" --value 50 >/dev/null
out="$("$BIN" target --data "$T/data" --app plan --cell "account=T,scenario=Budget" --show)"
has "target layers" "plan 70.00   actual 35.00   target 50.00" "$out"
has "plan - target" "plan - target   20.00 (+40.0%)" "$out"
has "actual - plan" "actual - plan   -35.00 (-50.0%)" "$out"
expect_error "target on an unknown member" "unknown member 'nope'" \
  "$BIN" target --data "$T/data" --app plan --cell "account=nope,scenario=Budget" --value 1

# A top-side adjustment of 5 on T shows in T (70 + 5), not in a1.
"$BIN" comment --data "$T/data" --app plan --user ann --cell "account=T,scenario=Budget" --text "Accrual" --adjust 5 >/dev/null
has "adjusted total" "value 70.00, adjusted 75.00" \
  "$("$BIN" comment --data "$T/data" --app plan --list --cell "account=T,scenario=Budget")"
has "no adjustment below" "value 40.00, adjusted 40.00" \
  "$("$BIN" comment --data "$T/data" --app plan --list --cell "account=a1,scenario=Budget")"
# Layers survive a later write: the comment and the target are still there.
"$BIN" write --data "$T/data" --app plan --cell "account=a2,scenario=Budget" --value 31 >/dev/null
has "comment kept after a write" "ann: Accrual [adjust 5]" \
  "$("$BIN" comment --data "$T/data" --app plan --list --cell "account=T,scenario=Budget")"
has "target kept after a write" "target 50.00" \
  "$("$BIN" target --data "$T/data" --app plan --cell "account=T,scenario=Budget" --show)"
expect_error "empty comment" "" "$BIN" comment --data "$T/data" --app plan --cell "account=T,scenario=Budget" --text ""

# Undo and redo across runs: carl's write of a2 = 99 is undone (back to 31), then redone.
"$BIN" write --data "$T/data" --app plan --user carl --cell "account=a2,scenario=Budget" --value 99 >/dev/null
"$BIN" undo --data "$T/data" --app plan --user carl >/dev/null
check "undo across runs" "account,Budget
a2,31" "$("$BIN" query --data "$T/data" --app plan --rows "account: a2" --cols "scenario: Budget" --format csv)"
"$BIN" redo --data "$T/data" --app plan --user carl >/dev/null
check "redo across runs" "account,Budget
a2,99" "$("$BIN" query --data "$T/data" --app plan --rows "account: a2" --cols "scenario: Budget" --format csv)"
# cli wrote a2 = 31 earlier, and carl changed it since: undoing cli's write is refused.
before="$(fingerprint "$T/data")"
expect_error "undo over someone else's later change" "was changed since by change set" \
  "$BIN" undo --data "$T/data" --app plan --user cli
check "folder unchanged after a refused undo" "$before" "$(fingerprint "$T/data")"

# A sandbox across runs: eve's a1 = 1000 shows in her sandbox (T = 1000 + 99), not in the app
# (a1 = 40); dan then writes a1 = 41, so her commit is refused until she keeps hers.
"$BIN" sandbox open --data "$T/data" --app plan --user eve >/dev/null
"$BIN" sandbox write --data "$T/data" --app plan --user eve --cell "account=a1,scenario=Budget" --value 1000 >/dev/null
check "sandbox reads over the app" "account,Budget
a1,1000
T,1099" "$("$BIN" sandbox query --data "$T/data" --app plan --user eve --rows "account: a1, T" --cols "scenario: Budget" --format csv)"
check "app unchanged by the sandbox" "account,Budget
a1,40" "$("$BIN" query --data "$T/data" --app plan --rows "account: a1" --cols "scenario: Budget" --format csv)"
expect_error "sandbox write into read-only Actual" "scenario 'Actual' is read-only" \
  "$BIN" sandbox write --data "$T/data" --app plan --user eve --cell "account=a1,scenario=Actual" --value 1
"$BIN" write --data "$T/data" --app plan --user dan --cell "account=a1,scenario=Budget" --value 41 >/dev/null
before="$(fingerprint "$T/data")"
expect_error "sandbox commit over a later change" "account=a1,scenario=Budget: now 41, yours 1000" \
  "$BIN" sandbox commit --data "$T/data" --app plan --user eve
check "folder unchanged after a refused commit" "$before" "$(fingerprint "$T/data")"
"$BIN" sandbox commit --data "$T/data" --app plan --user eve --policy mine >/dev/null
check "committed, keeping mine" "account,Budget
a1,1000" "$("$BIN" query --data "$T/data" --app plan --rows "account: a1" --cols "scenario: Budget" --format csv)"
expect_error "no sandbox after the commit" "has no open sandbox" \
  "$BIN" sandbox query --data "$T/data" --app plan --user eve --rows "account: a1"

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
