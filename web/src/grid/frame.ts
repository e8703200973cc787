// The frame snapshot: everything a renderer needs to paint one frame. Renderers only read it;
// its cells are filled in as they are first read.
//
// A renderer is a function of (snapshot, damage set): it never reads the store, the paged cells
// or the DOM. `buildFrame` takes the visible range from the geometry; a cell's display is asked
// of the cell provider when a renderer first reads it (frameCell), within the task that built
// the frame (a renderer that draws later, the Worker's proxy, reads them all first:
// resolveCells), so the cost of a frame depends on what it paints, never on the size of the
// view. Loaded blocks change only between tasks, so a frame still shows one moment of the data.
// Reading lazily keeps a scroll from formatting every visible cell each frame without a cache
// of displays across frames: such a cache lives long enough to be promoted to V8's old
// generation, and its turnover then costs full garbage collections (docs/web.md, "Seventh
// round").

import type { GridGeometry, Rect, Scroll, VisibleRange } from "./geometry";
import { bodyViewport, colLeft, headerHeight, headerWidth, visibleRange } from "./geometry";
import type { AxisLayout } from "./header-tree";
import type { CellPos, CellRange } from "./selection";

/** Marks drawn on a cell, bits. */
export const Mark = {
  Comment: 1, // a comment thread is attached (triangle in the top-right corner)
  Held: 2, // the cell is held: spreads keep it (bar on the left edge)
  Failed: 4, // a write to the cell failed; the typed value is kept (red border)
  Pending: 8, // a write is on its way (dotted underline)
  Adjusted: 16, // an adjustment applies (triangle in the bottom-left corner)
  ReadOnly: 32, // may not be written (grey text)
} as const;

export interface CellDisplay {
  readonly text: string;
  readonly fg: string;
  readonly bg: string;
  readonly alignRight: boolean;
  readonly marks: number;
}

export interface HeaderLabel {
  /**
   * Screen rectangle. A header spanning several tuples is clipped to the header area, so its
   * label stays readable while the span scrolls; a single tuple's is not: it moves exactly as
   * its cells do (renderers clip to the header area).
   */
  readonly rect: Rect;
  readonly text: string;
  readonly depth: number;
  /** "none" for a leaf, else whether clicking it collapses ("open") or expands ("closed"). */
  readonly toggle: "none" | "open" | "closed";
}

export interface FrameSnapshot {
  readonly geometry: GridGeometry;
  readonly scroll: Scroll;
  readonly range: VisibleRange;
  /**
   * Visible cells, row-major over `range`, filled as they are read: use frameCell. A frame
   * sent to a Worker has them all (resolveCells) and no provider.
   */
  readonly cells: (CellDisplay | undefined)[];
  readonly provider: CellProvider | null;
  readonly rowHeaders: readonly HeaderLabel[];
  readonly colHeaders: readonly HeaderLabel[];
  /** Dimension names shown in the corner: the row dimensions, left to right. */
  readonly cornerLabels: readonly string[];
  readonly selection: CellRange | null;
  readonly focus: CellPos | null;
}

export type CellProvider = (row: number, col: number) => CellDisplay;
export type LabelOf = (level: number, memberId: number) => string;

export interface FrameInput {
  readonly geometry: GridGeometry;
  readonly scroll: Scroll;
  readonly rows: AxisLayout;
  readonly cols: AxisLayout;
  readonly rowLabel: LabelOf;
  readonly colLabel: LabelOf;
  readonly cornerLabels: readonly string[];
  readonly cell: CellProvider;
  readonly selection: CellRange | null;
  readonly focus: CellPos | null;
}

/** The display of a visible cell (undefined outside the visible range). */
export function frameCell(frame: FrameSnapshot, row: number, col: number): CellDisplay | undefined {
  const r = frame.range;
  if (row < r.firstRow || row >= r.endRow || col < r.firstCol || col >= r.endCol) return undefined;
  const i = (row - r.firstRow) * (r.endCol - r.firstCol) + (col - r.firstCol);
  let cell = frame.cells[i];
  if (cell === undefined && frame.provider !== null) frame.cells[i] = cell = frame.provider(row, col);
  return cell;
}

/** The frame with every visible cell read and no provider (plain data: it can be cloned). */
export function resolveCells(frame: FrameSnapshot): FrameSnapshot {
  if (frame.provider === null) return frame;
  const r = frame.range;
  for (let row = r.firstRow; row < r.endRow; row++) for (let col = r.firstCol; col < r.endCol; col++) frameCell(frame, row, col);
  return { ...frame, provider: null };
}

export function buildFrame(input: FrameInput): FrameSnapshot {
  const g = input.geometry;
  const range = visibleRange(g, input.scroll);
  const cells = new Array<CellDisplay | undefined>(Math.max(0, (range.endRow - range.firstRow) * (range.endCol - range.firstCol)));

  const hw = headerWidth(g);
  const hh = headerHeight(g);
  const body = bodyViewport(g);
  const toggleOf = (m: { hasChildren: boolean; expanded: boolean }) =>
    !m.hasChildren ? "none" : m.expanded ? "open" : "closed";

  // Row headers: one column per level; an outer member spans its inner tuples. The label of a
  // span that starts above the view is pinned to the top of the body so it stays readable.
  const rowHeaders: HeaderLabel[] = [];
  for (let level = 0; level < input.rows.levels; level++) {
    for (const h of input.rows.headersInRange(level, range.firstRow, range.endRow)) {
      const natural = hh + h.start * g.rowHeight - input.scroll.y;
      const pinned = h.span > 1;
      const top = pinned ? Math.max(hh, natural) : natural;
      const bottom = pinned ? Math.min(hh + body.h, natural + h.span * g.rowHeight) : natural + g.rowHeight;
      rowHeaders.push({
        rect: { x: level * g.rowHeaderWidth, y: top, w: g.rowHeaderWidth, h: bottom - top },
        text: input.rowLabel(level, h.member.id),
        depth: h.member.depth,
        toggle: toggleOf(h.member),
      });
    }
  }
  const colHeaders: HeaderLabel[] = [];
  for (let level = 0; level < input.cols.levels; level++) {
    for (const h of input.cols.headersInRange(level, range.firstCol, range.endCol)) {
      const natural = hw + colLeft(g, h.start) - input.scroll.x;
      const end = hw + colLeft(g, h.start + h.span) - input.scroll.x;
      const pinned = h.span > 1;
      const left = pinned ? Math.max(hw, natural) : natural;
      const right = pinned ? Math.min(hw + body.w, end) : end;
      colHeaders.push({
        rect: { x: left, y: level * g.rowHeight, w: right - left, h: g.rowHeight },
        text: input.colLabel(level, h.member.id),
        depth: h.member.depth,
        toggle: toggleOf(h.member),
      });
    }
  }
  return {
    geometry: g,
    scroll: input.scroll,
    range,
    cells,
    provider: input.cell,
    rowHeaders,
    colHeaders,
    cornerLabels: input.cornerLabels,
    selection: input.selection,
    focus: input.focus,
  };
}

/** True when two frames differ only in scroll, cell contents and selection (same shape). */
export function sameLayout(a: FrameSnapshot, b: FrameSnapshot): boolean {
  const ga = a.geometry;
  const gb = b.geometry;
  return (
    ga.viewportWidth === gb.viewportWidth &&
    ga.viewportHeight === gb.viewportHeight &&
    ga.rowCount === gb.rowCount &&
    ga.colCount === gb.colCount &&
    ga.rowHeight === gb.rowHeight &&
    ga.colWidth === gb.colWidth &&
    ga.columns === gb.columns &&
    ga.rowHeaderWidth === gb.rowHeaderWidth &&
    ga.rowHeaderLevels === gb.rowHeaderLevels &&
    ga.colHeaderLevels === gb.colHeaderLevels
  );
}

/** True when two frames differ only in cell contents and selection (same scroll and shape). */
export function sameShape(a: FrameSnapshot | null, b: FrameSnapshot): boolean {
  if (!a) return false;
  const ga = a.geometry;
  const gb = b.geometry;
  return (
    a.scroll.x === b.scroll.x &&
    a.scroll.y === b.scroll.y &&
    ga.viewportWidth === gb.viewportWidth &&
    ga.viewportHeight === gb.viewportHeight &&
    ga.rowCount === gb.rowCount &&
    ga.colCount === gb.colCount &&
    ga.rowHeaderLevels === gb.rowHeaderLevels &&
    ga.colHeaderLevels === gb.colHeaderLevels &&
    ga.columns === gb.columns
  );
}

/**
 * Formats a number for a cell: thousands separators, no decimals from 1,000 up, at most two
 * below. Hand-written because Intl formatting of ~1,000 cells costs milliseconds per frame.
 */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const negative = value < 0;
  const abs = Math.abs(value);
  let text: string;
  if (abs >= 1000) {
    const whole = Math.round(abs).toString();
    let out = "";
    for (let i = 0; i < whole.length; i++) {
      if (i > 0 && (whole.length - i) % 3 === 0) out += ",";
      out += whole[i];
    }
    text = out;
  } else {
    text = (Math.round(abs * 100) / 100).toString();
  }
  return negative && text !== "0" ? "-" + text : text;
}
