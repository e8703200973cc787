#!/usr/bin/env bash
# The main job: build, write the P&L planning demo (docs/demo.md), import its two apps into
# var/data, bridge the GL actuals into the plan chart, set the top-down targets, post the
# comments, show a planner's view (consolidated grids, a spread into a total with a hold,
# targets against plan and actual), then start the API server on that data folder and print
# its URL and an admin token (docs/api.md). Ctrl-C stops the server (it saves first).
#
#   PORT=8080 (default) HOST=127.0.0.1 QUANTATOM_ADMIN_TOKEN=... (optional) scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh quantatom quantatom-server
Q=build/src/cli/quantatom
D=var/data
rm -rf var/demo "$D/apps/gl_actuals.qa" "$D/apps/plan.qa" "$D/auth.json"
$Q demo --out var/demo
$Q import --data "$D" --app gl_actuals --dataset var/demo/gl_actuals
$Q import --data "$D" --app plan --dataset var/demo/plan
echo
echo "== Bridge 10,000+ GL accounts into the plan chart (Actual is read-only in the plan)"
$Q bridge --data "$D" --source gl_actuals --target plan --source-dim gl_account --target-dim account \
  --rules var/demo/bridge_rules.csv
$Q target --data "$D" --app plan --file var/demo/targets.csv
$Q comment --data "$D" --app plan --file var/demo/comments.csv
echo
echo "== FY2025 P&L, Actual (bridged) against Budget, all cost centers"
$Q query --data "$D" --app plan --rows "account: NET_INCOME, EBIT, GROSS_MARGIN, REVENUE, COGS, OPEX_TOTAL" \
  --cols "scenario: Actual, Budget" --where "month=FY2025,cost_center=TOTAL_CC"
echo
echo "== Type 200,000,000 into EMEA opex FY2026 Budget, holding People costs (one undoable change set)"
$Q hold --data "$D" --app plan --user demo --cell "account=OPEX_PEOPLE,cost_center=EMEA,month=FY2026,scenario=Budget"
$Q spread --data "$D" --app plan --user demo --cell "account=OPEX_TOTAL,cost_center=EMEA,month=FY2026,scenario=Budget" \
  --value 200000000
$Q query --data "$D" --app plan --rows "account: OPEX_TOTAL, children(OPEX_TOTAL)" --cols "month: FY2026, children(FY2026)" \
  --where "scenario=Budget,cost_center=EMEA"
echo
echo "== Target against plan and actual, with the largest contributors"
$Q target --data "$D" --app plan --cell "account=OPEX_TOTAL,cost_center=EMEA,month=FY2026,scenario=Budget" --show --top 4
echo
echo "== Comments and adjustments under EMEA opex"
$Q comment --data "$D" --app plan --list --cell "account=OPEX_TOTAL,cost_center=EMEA,month=FY2026,scenario=Budget"
echo
echo "== The API server (Connect: binary and JSON over HTTP; docs/api.md)"
WEB=()
[ -d web/dist ] && WEB=(--web web/dist)
exec build/src/server/quantatom-server --data "$D" --host "${HOST:-127.0.0.1}" --port "${PORT:-8080}" "${WEB[@]}"
