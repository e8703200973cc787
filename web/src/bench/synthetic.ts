// A synthetic view for the frame benchmark and demos without a server: rows are 100 regions x
// 100 products (two nested row dimensions), columns 1,000 periods; cell values are a hash of
// the coordinate, served in blocks through the same viewport paging as server data.

import { formatNumber, type CellDisplay } from "../grid/frame";
import type { GridModel } from "../grid/grid-view";
import { AxisLayout, visibleMembers, type DimensionTree, type TreeMember } from "../grid/header-tree";
import { PagedCells, type BlockRequest, type CellBlock } from "../grid/paging";

function flatDimension(name: string, prefix: string, count: number): DimensionTree {
  const members = new Map<number, TreeMember>();
  for (let i = 0; i < count; i++) members.set(i, { id: i, code: `${prefix}${i}`, name: `${prefix}${i}`, children: [] });
  return { name, members, roots: [...members.keys()] };
}

export function syntheticValue(row: number, col: number): number {
  let h = (row * 73856093) ^ (col * 19349663);
  h = Math.imul(h ^ (h >>> 13), 0x5bd1e995);
  return ((h >>> 0) % 1_000_000) / 10;
}

export function syntheticFetcher(req: BlockRequest): Promise<CellBlock> {
  const rows = req.r1 - req.r0;
  const cols = req.c1 - req.c0;
  const values = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) values[r * cols + c] = syntheticValue(req.r0 + r, req.c0 + c);
  return Promise.resolve({ rows, cols, values, flags: new Uint8Array(rows * cols) });
}

const kLoading: CellDisplay = { text: "\u2026", fg: "#9aa0a6", bg: "#ffffff", alignRight: true, marks: 0 };

export function syntheticModel(onLoaded: (req: BlockRequest, changed: readonly { row: number; col: number }[] | null) => void): { model: GridModel; cells: PagedCells } {
  const region = flatDimension("Region", "R", 100);
  const product = flatDimension("Product", "P", 100);
  const period = flatDimension("Period", "T", 1000);
  const rows = new AxisLayout([visibleMembers(region, region.roots, new Set()), visibleMembers(product, product.roots, new Set())]);
  const cols = new AxisLayout([visibleMembers(period, period.roots, new Set())]);
  const cells = new PagedCells(syntheticFetcher, { rowCount: rows.count, colCount: cols.count, capacity: 64, onLoaded });
  const trees = [region, product];
  const model: GridModel = {
    rows,
    cols,
    rowLabel: (level, id) => trees[level].members.get(id)?.code ?? "?",
    colLabel: (_, id) => period.members.get(id)?.code ?? "?",
    cornerLabels: ["Region", "Product"],
    cell: (row, col) => {
      const v = cells.get(row, col);
      if (!v) return kLoading;
      return { text: formatNumber(v.value), fg: "#1f2933", bg: (row & 1) === 0 ? "#ffffff" : "#f8fafc", alignRight: true, marks: 0 };
    },
  };
  return { model, cells };
}
