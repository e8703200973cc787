// From grid blocks to QueryGrid requests and back.
//
// The grid's row and column tuples come from the header trees (AxisLayout); a block is a run of
// tuples on each axis, which is not always a cross join (with two dimensions on an axis, a block
// can start in the middle of one outer member and end in the next). So a block asks for the
// cross join of the distinct members it uses per dimension, a superset, and picks its cells out
// of the answer by the header tuples the server returns (never by assuming an order).
//
// In compare mode the column axis has one more, innermost level: the value layer (plan, actual,
// target, variances), whose member ids are Layer values. All layers of a block come in one call.

import { create } from "@bufbuild/protobuf";
import { CellKind, Layer, CellFlag as WireFlag, type Coordinate } from "../gen/quantatom/v1/common_pb";
import { CoordinateSchema } from "../gen/quantatom/v1/common_pb";
import {
  QueryGridRequestSchema,
  type QueryGridRequest,
  type QueryGridResponse,
  type GridSpec,
  GridSpecSchema,
} from "../gen/quantatom/v1/grid_pb";
import type { AxisLayout } from "../grid/header-tree";
import { CellFlag, type BlockRequest, type CellBlock } from "../grid/paging";
import type { LoadedDimension } from "./dimensions";

export const kLayerNames: Record<number, string> = {
  [Layer.PLAN]: "Plan",
  [Layer.ACTUAL]: "Actual",
  [Layer.TARGET]: "Target",
  [Layer.VARIANCE_ACTUAL_VS_PLAN]: "Var A-P",
  [Layer.VARIANCE_PLAN_VS_TARGET]: "Var P-T",
  [Layer.VARIANCE_ACTUAL_VS_TARGET]: "Var A-T",
  [Layer.ADJUSTED]: "Adjusted",
};

/** What the grid shows, apart from expansion: enough to turn cells into coordinates. */
export interface ViewSpec {
  readonly app: string;
  /** The app's dimensions in coordinate order. */
  readonly appDimensions: readonly string[];
  readonly rowDims: readonly LoadedDimension[];
  readonly colDims: readonly LoadedDimension[];
  /** Layers shown side by side (compare mode), or empty for plan only. */
  readonly layers: readonly Layer[];
  /** A member for every dimension on no axis. */
  readonly slicers: ReadonlyMap<string, string>;
  readonly sandbox: string;
  /** The product of the slicers' member signs (MemberInfo.sign); absent: 1. */
  readonly slicerSign?: 1 | -1;
}

function codeOf(dim: LoadedDimension, id: number): string {
  const info = dim.memberInfo.get(id);
  if (!info) throw new Error(`dimension ${dim.name}: no member id ${id}`);
  return info.code;
}

/** The distinct member codes per level of an axis over tuples [first, end), in first-seen order. */
export function distinctCodes(axis: AxisLayout, dims: readonly LoadedDimension[], first: number, end: number): string[][] {
  return dims.map((dim, level) => {
    const seen = new Set<string>();
    let index = first;
    while (index < end) {
      const h = axis.headerAt(level, index);
      seen.add(codeOf(dim, h.member.id));
      index = h.start + h.span;
    }
    return [...seen];
  });
}

export function gridSpec(view: ViewSpec, rowCodes: readonly string[][], colCodes: readonly string[][]): GridSpec {
  const part = (dims: readonly LoadedDimension[], codes: readonly string[][]) =>
    dims.map((d, i) => ({ dimension: d.name, memberSet: "", members: [...codes[i]] }));
  return create(GridSpecSchema, {
    app: view.app,
    rows: { parts: part(view.rowDims, rowCodes) },
    cols: { parts: part(view.colDims, colCodes) },
    slicers: [...view.slicers].map(([dimension, member]) => ({ dimension, member })),
  });
}

export interface BlockQuery {
  readonly request: QueryGridRequest;
  decode(response: QueryGridResponse): CellBlock;
}

export function blockQuery(view: ViewSpec, rows: AxisLayout, cols: AxisLayout, req: BlockRequest): BlockQuery {
  const compare = view.layers.length > 0;
  const rowCodes = distinctCodes(rows, view.rowDims, req.r0, req.r1);
  const colCodes = distinctCodes(cols, view.colDims, req.c0, req.c1);
  const layers = new Set<Layer>([Layer.PLAN]);
  if (compare) for (let c = req.c0; c < req.c1; c++) layers.add(cols.memberAt(view.colDims.length, c).id as Layer);
  const request = create(QueryGridRequestSchema, {
    grid: gridSpec(view, rowCodes, colCodes),
    layers: [...layers],
    includeMetadata: true,
    sandbox: view.sandbox,
  });
  const decode = (res: QueryGridResponse): CellBlock => {
    const rowIndex = new Map(res.rowHeaders.map((h, i) => [h.members.join("\u0000"), i]));
    const colIndex = new Map(res.colHeaders.map((h, i) => [h.members.join("\u0000"), i]));
    const byLayer = new Map<Layer, (typeof res.layers)[number]>(res.layers.map((l) => [l.layer === Layer.UNSPECIFIED ? Layer.PLAN : l.layer, l]));
    const nRows = req.r1 - req.r0;
    const nCols = req.c1 - req.c0;
    const values = new Float64Array(nRows * nCols).fill(NaN);
    const flags = new Uint8Array(nRows * nCols);
    const texts = new Map<number, string>();
    for (let r = 0; r < nRows; r++) {
      const rt = rows.tupleAt(req.r0 + r);
      const ri = rowIndex.get(rt.map((id, level) => codeOf(view.rowDims[level], id)).join("\u0000"));
      for (let c = 0; c < nCols; c++) {
        const ct = cols.tupleAt(req.c0 + c);
        const ci = colIndex.get(view.colDims.map((d, level) => codeOf(d, ct[level])).join("\u0000"));
        const at = r * nCols + c;
        if (ri === undefined || ci === undefined) {
          flags[at] = CellFlag.Error;
          texts.set(at, "?");
          continue;
        }
        const i = ri * res.cols + ci;
        const layer = compare ? (ct[view.colDims.length] as Layer) : Layer.PLAN;
        const cells = byLayer.get(layer);
        const wire = res.metadata?.flags[i] ?? 0;
        let f = 0;
        if (wire & WireFlag.CONSOLIDATED) f |= CellFlag.Consolidated;
        if (wire & WireFlag.HELD) f |= CellFlag.Held;
        if (wire & WireFlag.COMMENTED) f |= CellFlag.Comment;
        if (wire & WireFlag.READ_ONLY) f |= CellFlag.ReadOnly;
        if (wire & WireFlag.WRITABLE && (layer === Layer.PLAN || layer === Layer.TARGET)) f |= CellFlag.Writable;
        if (!cells) {
          flags[at] = f;
          continue;
        }
        const kind = cells.kinds[i] ?? CellKind.EMPTY;
        if (kind === CellKind.NUMBER) values[at] = cells.numbers[i];
        else if (kind === CellKind.TEXT) {
          f |= CellFlag.Text;
          texts.set(at, cells.texts[i] ?? "");
        } else if (kind === CellKind.HIDDEN) {
          f |= CellFlag.Error;
          f &= ~CellFlag.Writable;
          texts.set(at, "###");
        } else if (kind === CellKind.ERROR) {
          f |= CellFlag.Error;
          texts.set(at, res.metadata?.errors[i] ?? "#ERROR");
        }
        flags[at] = f;
      }
    }
    return { rows: nRows, cols: nCols, values, flags, texts };
  };
  return { request, decode };
}

/** The member code of every app dimension at grid cell (row, col), and the cell's layer. */
export function cellCoordinate(view: ViewSpec, rows: AxisLayout, cols: AxisLayout, row: number, col: number): { coordinate: Coordinate; codes: string[]; layer: Layer } {
  const byDim = new Map<string, string>(view.slicers);
  const rt = rows.tupleAt(row);
  view.rowDims.forEach((d, level) => byDim.set(d.name, codeOf(d, rt[level])));
  const ct = cols.tupleAt(col);
  view.colDims.forEach((d, level) => byDim.set(d.name, codeOf(d, ct[level])));
  const codes = view.appDimensions.map((name) => {
    const code = byDim.get(name);
    if (code === undefined) throw new Error(`no member for dimension ${name}`);
    return code;
  });
  const layer = view.layers.length > 0 ? (ct[view.colDims.length] as Layer) : Layer.PLAN;
  return { coordinate: create(CoordinateSchema, { members: codes }), codes, layer };
}

/**
 * The sign that turns a variance of cell (row, col) into "favourable when positive": the
 * product of the signs of its members on both axes and of the slicers (MemberInfo.sign). An
 * underspend on a cost account (actual - plan < 0, sign -1) is favourable.
 */
export function varianceSign(view: ViewSpec, rows: AxisLayout, cols: AxisLayout, row: number, col: number): 1 | -1 {
  let sign = view.slicerSign ?? 1;
  for (let level = 0; level < view.rowDims.length; ++level) {
    if (view.rowDims[level].memberInfo.get(rows.memberAt(level, row).id)?.sign === -1) sign = sign === 1 ? -1 : 1;
  }
  for (let level = 0; level < view.colDims.length; ++level) {
    if (view.colDims[level].memberInfo.get(cols.memberAt(level, col).id)?.sign === -1) sign = sign === 1 ? -1 : 1;
  }
  return sign;
}

export function coordinateKey(codes: readonly string[]): string {
  return codes.join("|");
}
