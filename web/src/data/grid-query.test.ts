import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { CellKind, CellFlag as WireFlag, Layer } from "../gen/quantatom/v1/common_pb";
import { QueryGridResponseSchema } from "../gen/quantatom/v1/grid_pb";
import { AxisLayout, visibleMembers } from "../grid/header-tree";
import { CellFlag } from "../grid/paging";
import { buildDimension, searchMembers } from "./dimensions";
import { blockQuery, cellCoordinate, distinctCodes, type ViewSpec, varianceSign } from "./grid-query";

const m = (id: number, code: string, parents: string[] = [], leaf = true) => ({ id, code, name: `${code} name`, leaf, parents: parents.map((parent) => ({ parent, weight: 1 })) });
const region = buildDimension("region", "standard", [m(0, "World", [], false), m(1, "EMEA", ["World"]), m(2, "AMER", ["World"])]);
const month = buildDimension("month", "time", [m(0, "Q1", [], false), m(1, "Jan", ["Q1"]), m(2, "Feb", ["Q1"]), m(3, "Mar", ["Q1"])]);
const account = buildDimension("account", "standard", [m(0, "Sales"), m(1, "Cost")]);

describe("dimensions", () => {
  it("builds children in member order and finds roots", () => {
    expect(region.roots).toEqual([0]);
    expect(region.members.get(0)?.children).toEqual([1, 2]);
    expect(searchMembers(month, "fe").map((x) => x.code)).toEqual(["Feb"]);
    expect(searchMembers(month, "NAME", 2).length).toBe(2);
  });

  it("refuses a parent the member list lacks", () => {
    expect(() => buildDimension("d", "standard", [m(0, "A", ["Nope"])])).toThrow("member A names unknown parent Nope");
  });
});

describe("member signs for variance colours", () => {
  // A small P&L: Net income = EBIT - Tax; EBIT = Gross margin - Opex; Gross margin = Revenue - COGS;
  // Opex = People + Travel (added into Opex, which is subtracted). Signs worked out by hand.
  const w = (id: number, code: string, parent?: string, weight = 1, leaf = true) =>
    ({ id, code, name: code, leaf, parents: parent ? [{ parent, weight }] : [] });
  const pnl = buildDimension("account", "standard", [
    w(7, "People", "Opex"), w(0, "NI", undefined, 1, false), w(1, "EBIT", "NI", 1, false), w(2, "Tax", "NI", -1),
    w(3, "GM", "EBIT", 1, false), w(4, "Opex", "EBIT", -1, false), w(5, "Revenue", "GM"), w(6, "COGS", "GM", -1),
    w(8, "Travel", "Opex", 0.5),
  ]);
  const sign = (code: string) => pnl.memberInfo.get(pnl.byCode.get(code)!)?.sign;

  it("multiplies the weights' signs on the path to the root (members in any order)", () => {
    expect(["NI", "EBIT", "GM", "Revenue"].map(sign)).toEqual([1, 1, 1, 1]);
    expect(["Tax", "Opex", "COGS", "People", "Travel"].map(sign)).toEqual([-1, -1, -1, -1, -1]);
    expect(region.memberInfo.get(1)?.sign).toBe(1); // unweighted dimensions: all +1
  });

  it("turns a cell's variance into favourable-when-positive, slicers included", () => {
    // rows: the P&L fully expanded (NI, EBIT, GM, Revenue, COGS, Opex, People, Travel, Tax); cols: region World, EMEA
    const rows = new AxisLayout([visibleMembers(pnl, pnl.roots, new Set([0, 1, 3, 4]))]);
    const cols = new AxisLayout([visibleMembers(region, region.roots, new Set([0]))]);
    const view: ViewSpec = {
      app: "acme", appDimensions: ["account", "region"], rowDims: [pnl], colDims: [region], layers: [],
      slicers: new Map(), sandbox: "",
    };
    const codes = Array.from({ length: rows.count }, (_, r) => pnl.memberInfo.get(rows.memberAt(0, r).id)?.code);
    expect(codes).toEqual(["NI", "EBIT", "GM", "Revenue", "COGS", "Opex", "People", "Travel", "Tax"]);
    expect(codes.map((_, r) => varianceSign(view, rows, cols, r, 1))).toEqual([1, 1, 1, 1, -1, -1, -1, -1, -1]);
    // The account on a page instead: a cost account's page flips every cell.
    expect(varianceSign({ ...view, slicerSign: -1 }, rows, cols, 4, 0)).toBe(1);
    expect(varianceSign({ ...view, slicerSign: -1 }, rows, cols, 3, 0)).toBe(-1);
  });
});

describe("block queries", () => {
  // rows: region (World expanded: World, EMEA, AMER) x account (Sales, Cost) = 6 tuples
  const rows = new AxisLayout([visibleMembers(region, region.roots, new Set([0])), visibleMembers(account, account.roots, new Set())]);
  // cols: month (Q1 expanded: Q1, Jan, Feb, Mar) = 4 tuples
  const cols = new AxisLayout([visibleMembers(month, month.roots, new Set([0]))]);
  const view: ViewSpec = {
    app: "acme", appDimensions: ["account", "region", "month", "scenario"], rowDims: [region, account], colDims: [month],
    layers: [], slicers: new Map([["scenario", "Budget"]]), sandbox: "",
  };

  it("asks for the distinct members a block uses, per dimension", () => {
    // rows 1..3 are World/Cost, EMEA/Sales, EMEA/Cost
    expect(distinctCodes(rows, view.rowDims, 1, 4)).toEqual([["World", "EMEA"], ["Cost", "Sales"]]);
    const q = blockQuery(view, rows, cols, { r0: 1, r1: 4, c0: 2, c1: 4 });
    expect(q.request.grid?.rows?.parts.map((p) => [p.dimension, p.members])).toEqual([["region", ["World", "EMEA"]], ["account", ["Cost", "Sales"]]]);
    expect(q.request.grid?.cols?.parts.map((p) => p.members)).toEqual([["Feb", "Mar"]]);
    expect(q.request.grid?.slicers.map((s) => [s.dimension, s.member])).toEqual([["scenario", "Budget"]]);
    expect(q.request.layers).toEqual([Layer.PLAN]);
  });

  it("picks cells out of the answer by its header tuples, whatever their order", () => {
    const q = blockQuery(view, rows, cols, { r0: 1, r1: 4, c0: 2, c1: 4 });
    // The server answers with rows in another order than asked: EMEA first.
    const rowHeaders = [["EMEA", "Cost"], ["EMEA", "Sales"], ["World", "Cost"], ["World", "Sales"]];
    const colHeaders = [["Feb"], ["Mar"]];
    // value = 100 * row + col of the answer; cell 1 (EMEA/Cost, Mar) is text, 4 (World/Cost, Feb) is empty
    const N = CellKind.NUMBER;
    const kinds = [N, CellKind.TEXT, N, N, CellKind.EMPTY, N, N, N];
    const numbers = [0, 1, 100, 101, 200, 201, 300, 301];
    const flags = [0, 0, 0, 0, WireFlag.CONSOLIDATED | WireFlag.WRITABLE, WireFlag.CONSOLIDATED | WireFlag.HELD, 0, 0];
    const res = create(QueryGridResponseSchema, {
      rows: 4, cols: 2,
      rowHeaders: rowHeaders.map((members) => ({ members })), colHeaders: colHeaders.map((members) => ({ members })),
      layers: [{ layer: Layer.PLAN, kinds, numbers, texts: { 1: "note" } }],
      metadata: { flags, versions: [], errors: {} },
    });
    const block = q.decode(res);
    expect([block.rows, block.cols]).toEqual([3, 2]);
    // block row 0 = World/Cost -> answer row 2; row 1 = EMEA/Sales -> 1; row 2 = EMEA/Cost -> 0
    expect(Number.isNaN(block.values[0])).toBe(true); // World/Cost, Feb: empty
    expect(block.flags[0]).toBe(CellFlag.Consolidated | CellFlag.Writable);
    expect(block.values[1]).toBe(201); // World/Cost, Mar
    expect(block.flags[1]).toBe(CellFlag.Consolidated | CellFlag.Held);
    expect([block.values[2], block.values[3]]).toEqual([100, 101]); // EMEA/Sales
    expect(block.values[4]).toBe(0); // EMEA/Cost, Feb
    expect(block.texts?.get(5)).toBe("note"); // EMEA/Cost, Mar: text
    expect(block.flags[5] & CellFlag.Text).toBe(CellFlag.Text);
  });

  it("compare mode asks for every layer of the block in one call and reads each", () => {
    const layers = [Layer.PLAN, Layer.ACTUAL, Layer.VARIANCE_ACTUAL_VS_PLAN];
    const layerLevel = layers.map((id) => ({ id, depth: 0, hasChildren: false, expanded: false }));
    const ccols = new AxisLayout([visibleMembers(month, month.roots, new Set()), layerLevel]);
    const cview = { ...view, layers };
    const q = blockQuery(cview, rows, ccols, { r0: 0, r1: 1, c0: 0, c1: 3 });
    expect(q.request.layers).toEqual(layers);
    const res = create(QueryGridResponseSchema, {
      rows: 1, cols: 1, rowHeaders: [{ members: ["World", "Sales"] }], colHeaders: [{ members: ["Q1"] }],
      layers: layers.map((layer, i) => ({ layer, kinds: [CellKind.NUMBER], numbers: [10 * (i + 1)] })),
      metadata: { flags: [WireFlag.WRITABLE], versions: [], errors: {} },
    });
    const block = q.decode(res);
    expect([...block.values]).toEqual([10, 20, 30]);
    // only the plan column may be typed into
    expect([...block.flags].map((f) => f & CellFlag.Writable)).toEqual([CellFlag.Writable, 0, 0]);
    const coord = cellCoordinate(cview, rows, ccols, 0, 1);
    expect(coord.codes).toEqual(["Sales", "World", "Q1", "Budget"]);
    expect(coord.layer).toBe(Layer.ACTUAL);
  });
});
