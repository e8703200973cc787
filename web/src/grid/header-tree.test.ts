import { describe, expect, it } from "vitest";
import { AxisLayout, expandToFit, toggleExpanded, visibleMembers, type DimensionTree, type TreeMember } from "./header-tree";

function tree(name: string, edges: Record<string, string[]>, roots: string[]): { t: DimensionTree; id: (c: string) => number } {
  const codes = new Set<string>([...roots, ...Object.keys(edges), ...Object.values(edges).flat()]);
  const ids = new Map([...codes].map((c, i) => [c, i]));
  const id = (c: string) => ids.get(c)!;
  const members = new Map<number, TreeMember>();
  for (const c of codes) members.set(id(c), { id: id(c), code: c, name: c, children: (edges[c] ?? []).map(id) });
  return { t: { name, members, roots: roots.map(id) }, id };
}

// Region: World -> {EMEA -> {FR, DE}, AMER -> {US}}
const region = tree("Region", { World: ["EMEA", "AMER"], EMEA: ["FR", "DE"], AMER: ["US"] }, ["World"]);
// Month: Q1 -> {Jan, Feb, Mar}
const month = tree("Month", { Q1: ["Jan", "Feb", "Mar"] }, ["Q1"]);

const codes = (t: DimensionTree, ids: number[]) => ids.map((i) => t.members.get(i)!.code);

describe("header tree", () => {
  it("collapsed root shows only itself", () => {
    const v = visibleMembers(region.t, region.t.roots, new Set());
    expect(v).toEqual([{ id: region.id("World"), depth: 0, hasChildren: true, expanded: false }]);
  });

  it("expanded members show their children depth-first, parents first", () => {
    const expanded = new Set([region.id("World"), region.id("EMEA")]);
    const v = visibleMembers(region.t, region.t.roots, expanded);
    expect(codes(region.t, v.map((m) => m.id))).toEqual(["World", "EMEA", "FR", "DE", "AMER"]);
    expect(v.map((m) => m.depth)).toEqual([0, 1, 2, 2, 1]);
    // AMER is collapsed: US is hidden, AMER still says it has children
    expect(v[4]).toMatchObject({ hasChildren: true, expanded: false });
  });

  it("expanding a collapsed child under a collapsed parent shows nothing yet", () => {
    const v = visibleMembers(region.t, region.t.roots, new Set([region.id("EMEA")]));
    expect(v.length).toBe(1);
  });

  it("toggle expands then collapses", () => {
    const once = toggleExpanded(new Set(), 3);
    expect(once.has(3)).toBe(true);
    expect(toggleExpanded(once, 3).has(3)).toBe(false);
  });

  it("two dimensions on an axis cross-join, the first varying slowest, with spans", () => {
    const r = visibleMembers(region.t, region.t.roots, new Set([region.id("World")])); // World, EMEA, AMER
    const m = visibleMembers(month.t, month.t.roots, new Set([month.id("Q1")])); // Q1, Jan, Feb, Mar
    const axis = new AxisLayout([r, m]);
    expect(axis.count).toBe(12);
    expect(codes(region.t, [axis.tupleAt(5)[0]])).toEqual(["EMEA"]);
    expect(codes(month.t, [axis.tupleAt(5)[1]])).toEqual(["Jan"]);
    expect(axis.headerAt(0, 5)).toMatchObject({ start: 4, span: 4 });
    expect(axis.headerAt(1, 5)).toMatchObject({ start: 5, span: 1 });
    // headers of the outer level over tuples 3..9 are World (0..3), EMEA (4..7), AMER (8..11)
    expect(axis.headersInRange(0, 3, 10).map((h) => [codes(region.t, [h.member.id])[0], h.start, h.span])).toEqual([
      ["World", 0, 4], ["EMEA", 4, 4], ["AMER", 8, 4],
    ]);
    expect(axis.indexOf([region.id("AMER"), month.id("Feb")])).toBe(10);
    expect(axis.indexOf([region.id("US"), month.id("Feb")])).toBe(-1);
  });

  it("an axis of 10,000 tuples is addressed without listing them", () => {
    const big: DimensionTree = {
      name: "Big",
      members: new Map(Array.from({ length: 100 }, (_, i) => [i, { id: i, code: `m${i}`, name: `m${i}`, children: [] }])),
      roots: Array.from({ length: 100 }, (_, i) => i),
    };
    const v = visibleMembers(big, big.roots, new Set());
    const axis = new AxisLayout([v, v]);
    expect(axis.count).toBe(10_000);
    expect(axis.tupleAt(9_999)).toEqual([99, 99]);
    expect(axis.tupleAt(1_234)).toEqual([12, 34]);
    expect(() => axis.tupleAt(10_000)).toThrow(RangeError);
  });

  it("expandToFit opens the structure breadth first, then leaf parents, within the limit", () => {
    const names = (e: Set<number>) => [...e].map((i) => region.t.members.get(i)!.code).sort();
    // World (1) -> + EMEA, AMER (3) -> + FR, DE (5) -> + US (6).
    expect(names(expandToFit(region.t, region.t.roots, 6))).toEqual(["AMER", "EMEA", "World"]);
    expect(names(expandToFit(region.t, region.t.roots, 5))).toEqual(["EMEA", "World"]);
    expect(names(expandToFit(region.t, region.t.roots, 4))).toEqual(["AMER", "World"]);
    expect(names(expandToFit(region.t, region.t.roots, 2))).toEqual([]);
    // P&L: NET -> {OPEX -> {TRAVEL -> 4 leaves, PEOPLE -> 3 leaves}, TAX -> 2 leaves}. With 6
    // rows the structure (NET, OPEX) opens before TAX's leaves, though TAX is shallower.
    const pl = tree("Account", { NET: ["OPEX", "TAX"], OPEX: ["TRAVEL", "PEOPLE"], TRAVEL: ["T1", "T2", "T3", "T4"], PEOPLE: ["P1", "P2", "P3"], TAX: ["X1", "X2"] }, ["NET"]);
    const plNames = (e: Set<number>) => [...e].map((i) => pl.t.members.get(i)!.code).sort();
    expect(plNames(expandToFit(pl.t, pl.t.roots, 6))).toEqual(["NET", "OPEX"]);
    expect(plNames(expandToFit(pl.t, pl.t.roots, 8))).toEqual(["NET", "OPEX", "TAX"]);
    // 10: TAX (+2 = 7), TRAVEL would make 11, PEOPLE makes 10.
    expect(plNames(expandToFit(pl.t, pl.t.roots, 10))).toEqual(["NET", "OPEX", "PEOPLE", "TAX"]);
    // Every limit: within it, and no member opened without its parent.
    for (let limit = 1; limit <= 16; limit++) {
      const e = expandToFit(pl.t, pl.t.roots, limit);
      const shown = visibleMembers(pl.t, pl.t.roots, e).length;
      expect(shown).toBeLessThanOrEqual(Math.max(limit, 1));
      for (const [child, parent] of [["OPEX", "NET"], ["TAX", "NET"], ["TRAVEL", "OPEX"], ["PEOPLE", "OPEX"]])
        if (e.has(pl.id(child))) expect(e.has(pl.id(parent))).toBe(true);
    }
  });
});
