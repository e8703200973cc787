import { describe, expect, it } from "vitest";
import { AxisLayout, toggleExpanded, visibleMembers, type DimensionTree, type TreeMember } from "./header-tree";

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
});
