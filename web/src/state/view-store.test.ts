import { beforeEach, describe, expect, it } from "vitest";
import { columnKey, useView } from "./view-store";

describe("view store", () => {
  beforeEach(() => {
    useView.getState().setApp("plan");
    useView.getState().setLayout([{ dim: "account", roots: ["NET_INCOME"] }], [{ dim: "month", roots: ["FY2025", "FY2026"] }], { scenario: "Budget", cost_center: "TOTAL_CC" });
  });

  it("moves a page dimension onto an axis with its page member as root, and back", () => {
    useView.getState().moveDim("cost_center", "rows", "TOTAL_CC");
    let s = useView.getState();
    expect(s.rows).toEqual([{ dim: "account", roots: ["NET_INCOME"] }, { dim: "cost_center", roots: ["TOTAL_CC"] }]);
    expect(s.pages).toEqual({ scenario: "Budget" });
    useView.getState().moveDim("cost_center", "pages", "TOTAL_CC");
    s = useView.getState();
    expect(s.rows.map((a) => a.dim)).toEqual(["account"]);
    expect(s.pages.cost_center).toBe("TOTAL_CC");
  });

  it("never leaves an axis empty", () => {
    useView.getState().moveDim("month", "pages", "FY2025");
    const s = useView.getState();
    expect(s.cols.map((a) => a.dim)).toEqual(["month"]);
    expect(s.pages.month).toBeUndefined();
  });

  it("swaps an axis dimension to the other axis", () => {
    useView.getState().moveDim("scenario", "cols", "Budget");
    useView.getState().moveDim("month", "rows", "FY2025");
    const s = useView.getState();
    expect(s.rows.map((a) => a.dim)).toEqual(["account", "month"]);
    expect(s.cols).toEqual([{ dim: "scenario", roots: ["Budget"] }]);
  });

  it("toggles expansion per member and keeps typed values by coordinate", () => {
    const st = useView.getState();
    st.toggleExpanded("account", "NET_INCOME");
    expect(useView.getState().expanded.account).toEqual(["NET_INCOME"]);
    useView.getState().toggleExpanded("account", "NET_INCOME");
    expect(useView.getState().expanded.account).toEqual([]);
    useView.getState().putEdit("k", { codes: ["a"], text: "1", status: "failed", message: "no", layer: 1 });
    expect(useView.getState().edits.k.status).toBe("failed");
    useView.getState().dropEdit("k");
    expect(useView.getState().edits).toEqual({});
  });
});

describe("column widths in the view state", () => {
  it("keeps a width per column key and forgets them with the app", () => {
    useView.getState().setApp("plan");
    const key = columnKey(["FY2026", "Q1"], null);
    useView.getState().setColWidth(key, 180);
    useView.getState().setColWidth(columnKey(["FY2026", "Q1"], 2), 90);
    expect(useView.getState().colWidths).toEqual({ [key]: 180, [columnKey(["FY2026", "Q1"], 2)]: 90 });
    expect(key).not.toBe(columnKey(["FY2026", "Q1"], 2));
    useView.getState().setApp("opex");
    expect(useView.getState().colWidths).toEqual({});
  });

  it("setLayout replaces the expansions; a picked root opens collapsed, other dimensions keep theirs", () => {
    useView.getState().setLayout([{ dim: "account", roots: ["NET_INCOME"] }], [{ dim: "month", roots: ["FY2025"] }], { scenario: "Budget" },
      { account: ["NET_INCOME", "PBT"], month: ["FY2025"] });
    expect(useView.getState().expanded).toEqual({ account: ["NET_INCOME", "PBT"], month: ["FY2025"] });
    useView.getState().setRoots("account", ["OPEX_TOTAL"]);
    const s = useView.getState();
    expect(s.rows).toEqual([{ dim: "account", roots: ["OPEX_TOTAL"] }]);
    expect(s.expanded).toEqual({ month: ["FY2025"] });
    useView.getState().setLayout(s.rows, s.cols, s.pages);
    expect(useView.getState().expanded).toEqual({});
  });
});
