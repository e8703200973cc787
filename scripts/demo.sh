#!/usr/bin/env bash
# The main job, for now: build, write a sample corporate P&L data set, import it as the app
# "demo" into var/data, and print consolidated grids from it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh quantatom
Q=build/src/cli/quantatom
$Q sample --out var/demo-dataset --cells "${DEMO_CELLS:-500000}"
$Q import --data var/data --app demo --dataset var/demo-dataset --replace
echo
echo "== Budget, net income by quarter (FY1), all cost centers and products"
$Q query --data var/data --app demo --rows "account: NetIncome, children(NetIncome), children(Opex)" \
  --cols "month: FY1, children(FY1)" --where "scenario=Budget"
echo
echo "== Budget minus Actual by region, FY1 Q1"
$Q query --data var/data --app demo --rows "account: NetIncome, Revenue, COGS, Opex" \
  --cols "costcenter: Group, children(Group)" --where "scenario=BudgetVsActual,month=FY1-Q1"
echo
$Q stats --data var/data --app demo
