#include "base/strings.h"
#include "importer/demo_plan_inputs.h"

namespace quantatom::demo {

std::string DemoReadme(const DemoSummary& s) {
  return StrCat(R"(# QuantatomAI demo: corporate P&L planning

Written by `quantatom demo --out DIR`; the same bytes on every run. The story is in
`docs/demo.md` of the QuantatomAI sources.

A company of about 1 billion in gross sales (FY2025), with offices in 15 cities across EMEA,
AMERICAS and APAC, plans its P&L in two apps:

- `gl_actuals/`: the general ledger's actuals at posting grain. `gl_account` has )",
                s.gl_leaf_accounts, R"( posting
  accounts (natural account x market: `6010-1030` is "Salaries – Engineering – Germany") under
  )",
                s.gl_parent_accounts, R"( natural accounts (`6010`) under the P&L sections; `cost_center` has )",
                s.cost_centers, R"(
  cost centers; `month` runs FY2025-M01 .. FY2026-M12; `scenario` is `Actual` only.
  `cells.csv` holds )",
                s.actual_cells, R"( actuals, in cents, for FY2025-M01 .. FY2026-M06: the last six months
  are still open.
- `plan/`: the plan. `account` has one plan account per natural account (`P6010`), under the
  same sections; `cost_center` and `month` are the same members with the same ids; `scenario` is
  `Actual`, `Budget`, `Forecast`. `cells.csv` holds )",
                s.budget_cells, R"( Budget cells (all 24 months) and )", s.forecast_cells,
                R"(
  Forecast cells (FY2026-M07 .. M12), in whole currency units. `Actual` is empty: it is filled by
  bridging the GL actuals with `bridge_rules.csv`.

Both folders are data-set folders (`docs/formats/dataset-csv.md`):

```sh
quantatom import --data var/data --app gl_actuals --dataset DIR/gl_actuals
quantatom import --data var/data --app plan --dataset DIR/plan
```

## P&L sections

Values are stored positive (revenue, costs and taxes alike); edges of weight -1 subtract.

```
NET_INCOME        = PBT - INCOME_TAX
PBT               = EBIT + OTHER_INCOME - OTHER_EXPENSE
EBIT              = GROSS_MARGIN - OPEX_TOTAL
GROSS_MARGIN      = REVENUE - COGS
REVENUE           = GROSS_SALES - SALES_DEDUCTIONS
OPEX_TOTAL        = OPEX_PEOPLE + OPEX_TRAVEL + OPEX_IT + OPEX_FACILITIES + OPEX_MARKETING
                    + OPEX_PROFESSIONAL + OPEX_GA
```

`cost_center`: `TOTAL_CC` > `EMEA`, `AMERICAS`, `APAC` > region departments (`EMEA-SALES`, with
SALES, MKTG, RND, OPS, GNA) > cost centers (`EMEA-SALES-LON`). `month`: `FY2025` > `FY2025-Q1` >
`FY2025-M01`; the two years have no common root, so name a month in every query.

## Display names and read-only members

Two optional files of the data-set format carry what the elements files do not; the importer
reads both (`docs/formats/dataset-csv.md` of the QuantatomAI sources):

- `labels_<dim>.csv`, header `code,name`: the display name of every member
  ("Salaries – Engineering – Germany"). Names with commas are quoted.
- `plan/attributes_scenario.csv`, header `code,attribute,value`: one line,
  `Actual,read_only,true`. Actual in the plan is owned by the bridge: nobody types into it.

The three files below are CSV with a header line. A coordinate names one member of every
dimension of the plan app, `Dim=Code,Dim=Code,...` (the syntax of `quantatom write --cell`);
it holds commas, so it is quoted.

## bridge_rules.csv

`source,target,weight`: )",
                s.bridge_rules, R"( rules mapping GL actuals to plan accounts.

- `source` is a `gl_account` member: a natural account (`6010`), which covers every posting
  account below it, or a posting account (`6010-1030`).
- `target` is a leaf of the plan's `account` (`P6010`).
- `weight` is the share of the source's value that goes to the target.

A posting account is mapped by the rules of the nearest source that covers it: its own rules
if it has any (a leaf override, )",
                s.leaf_overrides, R"( of them), else its natural account's. Several rules with one
source are a split ()",
                s.split_sources, R"( sources: 0.6 / 0.4, and 0.5 / 0.3 / 0.2). For every posting account the
weights that apply sum to exactly 1, so bridging neither loses nor doubles a cent. The bridged
value of plan cell (account T, cost center C, month M, Actual) is the sum over GL cells
(L, C, M, Actual) of value x weight, over the rules that apply to L and target T.

## targets.csv

`coordinate,value,method`: )",
                s.targets, R"( top-down targets on consolidated FY2026 Budget cells, such as
`"account=OPEX_TOTAL,cost_center=EMEA,month=FY2026,scenario=Budget",<value>,proportional`. The
value is the total the cell must reach; `method` is a spread method of `quantatom spread`
(`proportional` here: the leaves below keep their proportions). Each is a percentage change of
the bottom-up budget, rounded to thousands: EMEA opex -3%, travel -15%, APAC revenue +5%,
Americas marketing Q1 -10%, COGS -2%, Americas R&D people costs +4%.

## comments.csv

`coordinate,author,time,text,adjust,parent`: )",
                s.comments, R"( comments on plan cells, leaf and consolidated.

- `time` is ISO-8601 UTC (`2025-10-14T09:12:00Z`).
- `text` is quoted when it holds a comma or a quote (`""` for a quote).
- `adjust` is empty, or the amount the author added to the cell with the comment (a
  `spread --method add` on a consolidated cell; value + adjust on a leaf).
- `parent` is empty for a new thread, or the 1-based data line (not counting the header) of the
  comment this one replies to. Lines 1 to 3 are one thread.
)");
}

}  // namespace quantatom::demo
