// The planning grid: a GridView over server cells paged by the visible region, with the typing
// overlay, failed-write bubbles and live updates. Writes go through data/writes.ts; every
// successful write, undo or live change marks the cached blocks stale, and a refetched block
// damages only the cells whose contents changed.

import { useEffect, useMemo, useRef, useState, type ReactElement } from "react";
import { Layer } from "../gen/quantatom/v1/common_pb";
import type { Api } from "../data/api";
import { blockQuery, cellCoordinate, coordinateKey, distinctCodes, gridSpec, kLayerNames, type ViewSpec, varianceSign } from "../data/grid-query";
import { errorMessage, writeBlock, writeTyped, type CellTarget } from "../data/writes";
import { formatTsv, parseTsv, pasteCells } from "../grid/clipboard";
import { Mark, formatNumber, type CellDisplay } from "../grid/frame";
import { colAt, colLeft, colWidthOf, scrollToReveal, type VisibleRange } from "../grid/geometry";
import { GridView, type GridModel } from "../grid/grid-view";
import type { AxisLayout } from "../grid/header-tree";
import { CellFlag, PagedCells } from "../grid/paging";
import type { RendererKind } from "../grid/render/renderer";
import { selectionRange, type CellPos } from "../grid/selection";
import { columnKey, useView, type Edit } from "../state/view-store";

export interface FocusInfo {
  readonly row: number;
  readonly col: number;
  readonly codes: readonly string[];
  readonly layer: Layer;
  readonly flags: number;
  readonly value: number | undefined;
  /** Row tuples of the selected rows (for the chart), at most 8. */
  readonly selectedRows: readonly number[];
}

export interface GridPanelProps {
  readonly api: Api;
  readonly view: ViewSpec;
  readonly rows: AxisLayout;
  readonly cols: AxisLayout;
  readonly renderer?: RendererKind;
  readonly user: string;
  readonly onFocus: (f: FocusInfo | null) => void;
  /** Bumped by the toolbar after undo, redo, holds, comments: refetch the visible cells. */
  readonly refreshToken: number;
}

const kLayerBg: Record<number, string> = {
  [Layer.PLAN]: "#ffffff",
  [Layer.ACTUAL]: "#eef5ff",
  [Layer.TARGET]: "#fff6dc",
  [Layer.VARIANCE_ACTUAL_VS_PLAN]: "#f5f5f5",
  [Layer.VARIANCE_PLAN_VS_TARGET]: "#f5f5f5",
  [Layer.VARIANCE_ACTUAL_VS_TARGET]: "#f5f5f5",
  [Layer.ADJUSTED]: "#effaf2",
};
const kVariance = new Set<number>([Layer.VARIANCE_ACTUAL_VS_PLAN, Layer.VARIANCE_PLAN_VS_TARGET, Layer.VARIANCE_ACTUAL_VS_TARGET]);
const kLoading: CellDisplay = { text: "\u2026", fg: "#9aa0a6", bg: "#ffffff", alignRight: true, marks: 0 };

interface Editing {
  readonly row: number;
  readonly col: number;
  readonly text: string;
}

export function GridPanel(props: GridPanelProps): ReactElement {
  const { api, view, rows, cols } = props;
  const hostRef = useRef<HTMLDivElement>(null);
  const gridRef = useRef<GridView | null>(null);
  const cellsRef = useRef<PagedCells | null>(null);
  const modelRef = useRef<GridModel | null>(null);
  const propsRef = useRef(props);
  propsRef.current = props;
  const edits = useView((s) => s.edits);
  const colWidthsByKey = useView((s) => s.colWidths);
  const rowHeaderWidth = useView((s) => s.rowHeaderWidth);
  const editsRef = useRef(edits);
  editsRef.current = edits;
  const [editing, setEditing] = useState<Editing | null>(null);
  const editingRef = useRef(editing);
  editingRef.current = editing;
  const [, setTick] = useState(0); // re-render overlays on scroll
  const [visible, setVisible] = useState<VisibleRange | null>(null);
  const [renderer, setRenderer] = useState<string>("");
  const [loadError, setLoadError] = useState("");

  const targetAt = (row: number, col: number): CellTarget & { codes: string[] } => {
    const p = propsRef.current;
    const c = cellCoordinate(p.view, p.rows, p.cols, row, col);
    const flags = cellsRef.current?.get(row, col)?.flags ?? 0;
    return { coordinate: c.coordinate, layer: c.layer, consolidated: (flags & CellFlag.Consolidated) !== 0, codes: c.codes };
  };

  const refreshCells = () => {
    const cells = cellsRef.current;
    const grid = gridRef.current;
    if (!cells || !grid) return;
    cells.invalidateAll();
    const range = visibleRangeOf(grid);
    if (range) cells.ensure(range);
  };

  const commit = async (row: number, col: number, text: string) => {
    const p = propsRef.current;
    const store = useView.getState();
    const target = targetAt(row, col);
    const key = coordinateKey(target.codes);
    const edit: Edit = { codes: target.codes, text, status: "pending", layer: target.layer };
    store.putEdit(key, edit);
    try {
      await writeTyped(p.api, p.view.app, p.view.sandbox, target, text, store.spreadMethod);
      useView.getState().dropEdit(key);
      refreshCells();
    } catch (err) {
      useView.getState().putEdit(key, { ...edit, status: "failed", message: errorMessage(err) });
    }
  };

  const retry = (key: string, e: Edit) => {
    const p = propsRef.current;
    const row = p.rows.indexOf(e.codes.length ? idsOf(p.view, p.view.rowDims, e.codes) : []);
    const col = colIndexOf(p.view, p.cols, e.codes, e.layer);
    if (row < 0 || col < 0) return;
    useView.getState().dropEdit(key);
    void commit(row, col, e.text);
  };

  // The GridView lives as long as the component.
  useEffect(() => {
    let visibleTimer = 0;
    const grid = new GridView(hostRef.current as HTMLDivElement, {
      renderer: propsRef.current.renderer,
      // Wide enough for "Fiscal year 2025" and "-200,000,000.00" in the grid font.
      colWidth: kColWidth,
      onVisible: (range, ahead) => {
        cellsRef.current?.ensure(range, ahead);
        // The live subscription follows the visible region once the scroll settles: a React
        // render per new row or column would cost scrolling frames.
        clearTimeout(visibleTimer);
        visibleTimer = window.setTimeout(() => setVisible(range), 150);
      },
      onSelection: (sel) => {
        setTick((t) => t + 1);
        const p = propsRef.current;
        const f = sel.focus;
        if (f.row >= p.rows.count || f.col >= p.cols.count) return p.onFocus(null);
        const c = cellCoordinate(p.view, p.rows, p.cols, f.row, f.col);
        const v = cellsRef.current?.get(f.row, f.col);
        const r = selectionRange(sel);
        const selectedRows: number[] = [];
        for (let row = r.r0; row <= r.r1 && selectedRows.length < 8; row++) selectedRows.push(row);
        p.onFocus({ row: f.row, col: f.col, codes: c.codes, layer: c.layer, flags: v?.flags ?? 0, value: v?.value, selectedRows });
      },
      onToggle: (axis, level, memberId) => {
        const p = propsRef.current;
        const dims = axis === "rows" ? p.view.rowDims : p.view.colDims;
        const dim = dims[level];
        if (!dim) return; // the layer level of compare mode
        const code = dim.memberInfo.get(memberId)?.code;
        if (code) useView.getState().toggleExpanded(dim.name, code);
      },
      onStartEdit: (initial) => {
        const f = grid.currentSelection.focus;
        const v = cellsRef.current?.get(f.row, f.col);
        const current = v === undefined ? "" : v.text ?? (Number.isNaN(v.value) ? "" : String(v.value));
        setEditing({ row: f.row, col: f.col, text: initial ?? current });
      },
      onClear: (range) => {
        for (let row = range.r0; row <= range.r1; row++)
          for (let col = range.c0; col <= range.c1; col++) void commit(row, col, "");
      },
      onCopy: (range) =>
        formatTsv(range, (row, col) => {
          const v = cellsRef.current?.get(row, col);
          return v === undefined ? "" : v.text ?? (Number.isNaN(v.value) ? "" : String(v.value));
        }),
      onPaste: (text, sel) => {
        const p = propsRef.current;
        const pasted = pasteCells(parseTsv(text), sel.focus, selectionRange(sel), p.rows.count, p.cols.count);
        const cells = pasted.map((c) => ({ cell: targetAt(c.row, c.col), text: c.text }));
        const store = useView.getState();
        for (const c of cells) store.putEdit(coordinateKey(c.cell.codes), { codes: c.cell.codes, text: c.text, status: "pending", layer: c.cell.layer });
        writeBlock(p.api, p.view.app, p.view.sandbox, cells).then(
          () => {
            for (const c of cells) useView.getState().dropEdit(coordinateKey(c.cell.codes));
            refreshCells();
          },
          (err) => {
            for (const c of cells)
              useView.getState().putEdit(coordinateKey(c.cell.codes), { codes: c.cell.codes, text: c.text, status: "failed", message: errorMessage(err), layer: c.cell.layer });
          },
        );
      },
      rowHeaderWidth: useView.getState().rowHeaderWidth,
      onRowHeaderResize: (width) => useView.getState().setRowHeaderWidth(width),
      onColumnResize: (col, width) => {
        const p = propsRef.current;
        useView.getState().setColWidth(colKeyOf(p.view, p.cols, col), width);
      },
      onUndo: () => void propsRef.current.api.write.undo({ app: propsRef.current.view.app }).then(refreshCells),
      onRedo: () => void propsRef.current.api.write.redo({ app: propsRef.current.view.app }).then(refreshCells),
    });
    gridRef.current = grid;
    grid.ready.then(setRenderer);
    // Overlays (the editor, failed-write bubbles) follow their cells; without any, a scroll
    // needs no React render.
    grid.host.addEventListener("scroll", () => {
      if (editingRef.current || Object.values(editsRef.current).some((e) => e.status === "failed")) setTick((t) => t + 1);
    });
    installTestHooks(grid, cellsRef, propsRef);
    return () => {
      clearTimeout(visibleTimer);
      grid.dispose();
    };
  }, []);

  // A new layout or view: new paged cells (old ones mean other coordinates).
  useEffect(() => {
    const grid = gridRef.current;
    if (!grid) return;
    setLoadError("");
    const cells = new PagedCells(
      (req) => {
        const q = blockQuery(view, rows, cols, req);
        return api.grid.queryGrid(q.request).then((res) => q.decode(res));
      },
      {
        rowCount: rows.count,
        colCount: cols.count,
        onLoaded: (req, changed) => grid.damageLoaded(req, changed),
        onError: (_, message) => setLoadError(message),
      },
    );
    cellsRef.current = cells;
    const model: GridModel = {
      rows,
      cols,
      rowLabel: (level, id) => labelOf(view.rowDims[level], id),
      colLabel: (level, id) => (level < view.colDims.length ? labelOf(view.colDims[level], id) : kLayerNames[id] ?? String(id)),
      cornerLabels: view.rowDims.map((d) => d.name),
      cell: (row, col) => displayCell(cells, editsRef.current, view, rows, cols, row, col),
      colWidths: colWidthsOf(view, cols, useView.getState().colWidths),
    };
    modelRef.current = model;
    grid.setModel(model);
  }, [api, view, rows, cols]);

  useEffect(() => gridRef.current?.setRowHeaderWidth(rowHeaderWidth), [rowHeaderWidth]);

  // A resized column: the same model with the new widths (the cells stay loaded).
  useEffect(() => {
    const grid = gridRef.current;
    const model = modelRef.current;
    if (!grid || !model) return;
    const colWidths = colWidthsOf(view, cols, colWidthsByKey);
    if (sameWidths(colWidths, model.colWidths)) return;
    modelRef.current = { ...model, colWidths };
    grid.setModel(modelRef.current);
  }, [colWidthsByKey]);

  // Typed values show at once (pending, failed); repaint when they change.
  useEffect(() => gridRef.current?.invalidate(), [edits]);
  useEffect(() => refreshCells(), [props.refreshToken]);

  // Live updates: subscribe to the visible region; any change set refetches the visible blocks.
  const specKey = useMemo(() => {
    if (!visible || rows.count === 0 || cols.count === 0) return null;
    const rowCodes = distinctCodes(rows, view.rowDims, visible.firstRow, visible.endRow);
    const colCodes = distinctCodes(cols, view.colDims, visible.firstCol, visible.endCol);
    return JSON.stringify([rowCodes, colCodes]);
  }, [visible, rows, cols, view]);
  useEffect(() => {
    if (!specKey) return;
    const [rowCodes, colCodes] = JSON.parse(specKey) as [string[][], string[][]];
    wantedSpec = specKey;
    const abort = new AbortController();
    let retryTimer = 0;
    const run = async () => {
      try {
        for await (const change of api.grid.subscribe({ grid: gridSpec(view, rowCodes, colCodes) }, { signal: abort.signal })) {
          if (change.snapshot) {
            // Changes committed between our last fetch and this subscription would otherwise
            // never arrive: refetch once the stream is live.
            liveSnapshots++;
            liveSpec = specKey;
            refreshCells();
            continue;
          }
          refreshCells();
          if (change.user !== props.user) useView.getState().setLive(`${change.user}: ${change.action} (${change.cells.length} cells)`);
        }
      } catch (err) {
        if (abort.signal.aborted) return;
        useView.getState().setLive(`live updates interrupted: ${errorMessage(err)}; reconnecting`);
      }
      if (!abort.signal.aborted) retryTimer = window.setTimeout(run, 2000);
    };
    // Debounced: while the user scrolls, the visible region (and so the spec) keeps changing.
    retryTimer = window.setTimeout(run, 300);
    return () => {
      abort.abort();
      clearTimeout(retryTimer);
    };
  }, [specKey, api, view, props.user]);

  const grid = gridRef.current;
  const overlays: ReactElement[] = [];
  if (grid && editing) {
    const r = grid.cellRectOnScreen(editing.row, editing.col);
    overlays.push(
      <input
        key="editor"
        data-testid="cell-editor"
        autoFocus
        className="cell-editor"
        style={{ left: r.x, top: r.y, width: r.w - 1, height: r.h - 1 }}
        value={editing.text}
        onChange={(e) => setEditing({ ...editing, text: e.target.value })}
        onBlur={() => setEditing(null)}
        onKeyDown={(e) => {
          if (e.key === "Escape") {
            setEditing(null);
            grid.focus();
          } else if (e.key === "Enter" || e.key === "Tab") {
            e.preventDefault();
            const ed = editingRef.current as Editing;
            setEditing(null);
            void commit(ed.row, ed.col, ed.text);
            grid.focus();
            grid.select(e.key === "Enter" ? { type: "move", dRow: e.shiftKey ? -1 : 1, dCol: 0, extend: false } : { type: "move", dRow: 0, dCol: e.shiftKey ? -1 : 1, extend: false });
          }
        }}
      />,
    );
  }
  if (grid) {
    for (const [key, e] of Object.entries(edits)) {
      if (e.status !== "failed") continue;
      const row = rows.indexOf(idsOf(view, view.rowDims, e.codes));
      const col = colIndexOf(view, cols, e.codes, e.layer);
      if (row < 0 || col < 0) continue;
      const r = grid.cellRectOnScreen(row, col);
      overlays.push(
        <div key={key} className="write-error" data-testid="write-error" style={{ left: r.x + r.w + 2, top: r.y }}>
          <span className="write-error-text">{e.message}</span>
          <button onClick={() => retry(key, e)}>Retry</button>
          <button onClick={() => useView.getState().dropEdit(key)}>Discard</button>
        </div>,
      );
    }
  }
  return (
    <div className="grid-panel">
      <div className="grid-area" ref={hostRef}>
        {overlays}
      </div>
      <div className="status-bar" data-testid="status-bar">
        <span data-testid="renderer">renderer: {renderer || "…"}</span>
        <span>
          {rows.count.toLocaleString()} x {cols.count.toLocaleString()} cells
        </span>
        {loadError && <span className="status-error">load failed: {loadError}</span>}
        <LiveStatus />
      </div>
    </div>
  );
}

/** Subscription snapshots received (the tests wait for the stream before writing). */
let liveSnapshots = 0;
/** The region the grid shows, and the region of the stream whose snapshot arrived last. */
let wantedSpec = "";
let liveSpec = "";

function LiveStatus(): ReactElement {
  const live = useView((s) => s.live);
  return <span data-testid="live-status">{live}</span>;
}

const kColWidth = 120;

/**
 * A header shows the member's name when it has one ("Jan 2025", "Current income tax", not
 * "FY2025-M01 Jan 2025"): headers are narrow, planners read names, and the member picker
 * shows and searches codes too.
 */
function labelOf(dim: { memberInfo: ReadonlyMap<number, { code: string; name: string }> } | undefined, id: number): string {
  const info = dim?.memberInfo.get(id);
  if (!info) return String(id);
  return info.name || info.code;
}

function visibleRangeOf(grid: GridView): VisibleRange | null {
  const g = grid.geometry;
  if (g.rowCount === 0) return null;
  const s = grid.currentScroll;
  const rows = Math.ceil(g.viewportHeight / g.rowHeight) + 1;
  const firstRow = Math.floor(s.y / g.rowHeight);
  const firstCol = colAt(g, s.x);
  return { firstRow, endRow: Math.min(g.rowCount, firstRow + rows), firstCol, endCol: Math.min(g.colCount, colAt(g, s.x + g.viewportWidth) + 1) };
}

/** The view-state key of a column (see columnKey). */
function colKeyOf(view: ViewSpec, cols: AxisLayout, col: number): string {
  const codes = view.colDims.map((d, level) => d.memberInfo.get(cols.memberAt(level, col).id)?.code);
  return columnKey(codes, view.layers.length > 0 ? cols.memberAt(view.colDims.length, col).id : null);
}

/** The kept widths of the columns this layout shows, by column index. */
function colWidthsOf(view: ViewSpec, cols: AxisLayout, byKey: Record<string, number>): Map<number, number> {
  const out = new Map<number, number>();
  for (const [key, width] of Object.entries(byKey)) {
    const [codePart, layerPart] = key.split("\u0002");
    const codes = codePart.split("\u0001");
    if (codes.length !== view.colDims.length) continue;
    const ids = view.colDims.map((d, i) => d.byCode.get(codes[i]) ?? -1);
    if (ids.includes(-1)) continue;
    if (view.layers.length > 0) {
      if (layerPart === undefined) continue;
      ids.push(Number(layerPart));
    } else if (layerPart !== undefined) continue;
    const col = cols.indexOf(ids);
    if (col >= 0) out.set(col, width);
  }
  return out;
}

function sameWidths(a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number> | undefined): boolean {
  if (!b || a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

function idsOf(view: ViewSpec, dims: ViewSpec["rowDims"], codes: readonly string[]): number[] {
  return dims.map((d) => d.byCode.get(codes[view.appDimensions.indexOf(d.name)]) ?? -1);
}

function colIndexOf(view: ViewSpec, cols: AxisLayout, codes: readonly string[], layer: number): number {
  const ids = idsOf(view, view.colDims, codes);
  if (view.layers.length > 0) ids.push(layer);
  return cols.indexOf(ids);
}

function hasAny(record: Record<string, unknown>): boolean {
  for (const key in record) if (Object.prototype.hasOwnProperty.call(record, key)) return true;
  return false;
}

function displayCell(
  cells: PagedCells,
  edits: Record<string, Edit>,
  view: ViewSpec,
  rows: AxisLayout,
  cols: AxisLayout,
  row: number,
  col: number,
): CellDisplay {
  const v = cells.get(row, col);
  const layer = view.layers.length > 0 ? (cols.memberAt(view.colDims.length, col).id as Layer) : Layer.PLAN;
  let edit: Edit | undefined;
  if (hasAny(edits)) {
    edit = edits[coordinateKey(cellCoordinate(view, rows, cols, row, col).codes)];
    if (edit && edit.layer !== layer) edit = undefined;
  }
  if (!v && !edit) return kLoading;
  const flags = v?.flags ?? 0;
  let marks = 0;
  if (flags & CellFlag.Comment) marks |= Mark.Comment;
  if (flags & CellFlag.Held) marks |= Mark.Held;
  if (flags & CellFlag.ReadOnly || !(flags & CellFlag.Writable)) marks |= Mark.ReadOnly;
  let bg = kLayerBg[layer] ?? "#ffffff";
  if (layer === Layer.PLAN && flags & CellFlag.Consolidated) bg = "#f4f7fb";
  let fg = marks & Mark.ReadOnly ? "#5f6b7a" : "#1f2933";
  let text: string;
  let alignRight = true;
  if (edit) {
    text = edit.text;
    marks |= edit.status === "failed" ? Mark.Failed : Mark.Pending;
  } else if (v && v.text !== undefined) {
    text = v.text;
    alignRight = false;
    if (flags & CellFlag.Error) fg = "#c5221f";
  } else if (v && !Number.isNaN(v.value)) {
    text = formatNumber(v.value);
    if (kVariance.has(layer)) fg = v.value * varianceSign(view, rows, cols, row, col) < 0 ? "#c5221f" : "#137333";
  } else text = "";
  return { text, fg, bg, alignRight, marks };
}

declare global {
  interface Window {
    __qa?: unknown;
  }
}

/**
 * Hooks for the end-to-end tests: find a cell by member codes, read what it shows, and where it
 * is on screen (tests then click and type like a user).
 */
function installTestHooks(
  grid: GridView,
  cellsRef: { current: PagedCells | null },
  propsRef: { current: GridPanelProps },
): void {
  const find = (rowCodes: string[], colCodes: string[], layer?: number): CellPos | null => {
    const p = propsRef.current;
    const rowIds = p.view.rowDims.map((d, i) => d.byCode.get(rowCodes[i]) ?? -1);
    const colIds = p.view.colDims.map((d, i) => d.byCode.get(colCodes[i]) ?? -1);
    if (p.view.layers.length > 0) colIds.push(layer ?? Layer.PLAN);
    const row = p.rows.indexOf(rowIds);
    const col = p.cols.indexOf(colIds);
    return row < 0 || col < 0 ? null : { row, col };
  };
  window.__qa = {
    grid,
    find,
    reveal: (row: number, col: number) => {
      grid.select({ type: "click", cell: { row, col }, extend: false });
      grid.drawNow();
    },
    show: (row: number, col: number) => {
      grid.setScroll(scrollToReveal(grid.geometry, grid.currentScroll, row, col));
      grid.drawNow();
    },
    rect: (row: number, col: number) => {
      const r = grid.cellRectOnScreen(row, col);
      const box = grid.canvas.getBoundingClientRect();
      return { x: box.left + r.x, y: box.top + r.y, w: r.w, h: r.h };
    },
    value: (row: number, col: number) => {
      const v = cellsRef.current?.get(row, col);
      return v === undefined ? null : { value: Number.isNaN(v.value) ? null : v.value, flags: v.flags, text: v.text ?? null };
    },
    headerRect: (axis: "rows" | "cols", index: number, level: number) => {
      const g = grid.geometry;
      const sc = grid.currentScroll;
      const box = grid.canvas.getBoundingClientRect();
      const hh = g.colHeaderLevels * g.rowHeight;
      const hw = g.rowHeaderLevels * g.rowHeaderWidth;
      return axis === "rows"
        ? { x: box.left + level * g.rowHeaderWidth, y: box.top + hh + index * g.rowHeight - sc.y, w: g.rowHeaderWidth, h: g.rowHeight }
        : { x: box.left + hw + colLeft(g, index) - sc.x, y: box.top + level * g.rowHeight, w: colWidthOf(g, index), h: g.rowHeight };
    },
    framesPainted: () => grid.framesPainted,
    rowInfo: (row: number) => {
      const p = propsRef.current;
      const levels = p.view.rowDims.length;
      return {
        codes: p.view.rowDims.map((d, level) => d.memberInfo.get(p.rows.memberAt(level, row).id)?.code),
        depth: p.rows.memberAt(levels - 1, row).depth,
      };
    },
    edits: () => useView.getState().edits,
    /** The text colour the cell is drawn in (variance colours: favourable green, else red). */
    colour: (row: number, col: number) => {
      const p = propsRef.current;
      return cellsRef.current ? displayCell(cellsRef.current, useView.getState().edits, p.view, p.rows, p.cols, row, col).fg : null;
    },
    liveSnapshots: () => liveSnapshots,
    liveReady: () => wantedSpec !== "" && liveSpec === wantedSpec,
    rowCount: () => propsRef.current.rows.count,
    colCount: () => propsRef.current.cols.count,
    renderer: () => grid.rendererKind,
    rowHeader: (row: number) => propsRef.current.view.rowDims.map((d, level) => d.memberInfo.get(propsRef.current.rows.memberAt(level, row).id)?.code),
  };
}
