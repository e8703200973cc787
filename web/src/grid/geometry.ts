// Grid geometry as pure functions: where rows, columns and the frozen headers are on screen.
//
// Layout of the canvas (CSS pixels):
//
//   +--------------+------------------------------+
//   | corner       | column headers (frozen rows) |  <- headerHeight = colHeaderLevels * rowHeight
//   +--------------+------------------------------+
//   | row headers  | body cells, scrolled         |
//   | (frozen      |                              |
//   |  columns)    |                              |
//   +--------------+------------------------------+
//     headerWidth = rowHeaderLevels * rowHeaderWidth
//
// The body scrolls under the frozen headers: row headers scroll only vertically, column headers
// only horizontally. Rows share one height, so row lookups are O(1) whatever the size of the
// view (10,000 x 1,000 cells and more). Body columns share one width too, except the few a user
// resized (ColumnWidths): a lookup then costs a binary search over those few.

export interface GridGeometry {
  readonly rowCount: number;
  readonly colCount: number;
  readonly rowHeight: number;
  readonly colWidth: number;
  /** Levels of nested row headers (one per dimension on rows, at least 1). */
  readonly rowHeaderLevels: number;
  /** Levels of nested column headers (one per dimension on columns, at least 1). */
  readonly colHeaderLevels: number;
  /** Width of one level of row headers. */
  readonly rowHeaderWidth: number;
  /** Columns whose width differs from colWidth; absent: every column is colWidth wide. */
  readonly columns?: ColumnWidths;
  readonly viewportWidth: number;
  readonly viewportHeight: number;
}

export interface Scroll {
  readonly x: number;
  readonly y: number;
}

/** The cells at least partly visible, as half-open ranges, and where the first one starts. */
export interface VisibleRange {
  readonly firstRow: number;
  readonly endRow: number;
  readonly firstCol: number;
  readonly endCol: number;
}

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

export type Hit =
  | { readonly kind: "cell"; readonly row: number; readonly col: number }
  | { readonly kind: "rowHeader"; readonly row: number; readonly level: number }
  | { readonly kind: "colHeader"; readonly col: number; readonly level: number }
  | { readonly kind: "corner" }
  | { readonly kind: "none" };

/**
 * Column widths as a default plus a few exceptions (the columns a user resized), so a view of a
 * million columns needs no array of widths. left() is the default times the index plus the
 * exceptions' differences before it (a binary search); at() inverts left() by binary search.
 */
export class ColumnWidths {
  private readonly cols: number[];
  private readonly widths: number[];
  /** deltaBefore[i]: sum of (width - default) over the first i exceptions. */
  private readonly deltaBefore: number[];

  constructor(
    readonly count: number,
    readonly defaultWidth: number,
    exceptions: ReadonlyMap<number, number>,
  ) {
    this.cols = [...exceptions.keys()].filter((c) => c >= 0 && c < count).sort((a, b) => a - b);
    this.widths = this.cols.map((c) => exceptions.get(c) as number);
    this.deltaBefore = [0];
    for (let i = 0; i < this.cols.length; i++) this.deltaBefore.push(this.deltaBefore[i] + this.widths[i] - defaultWidth);
  }

  /** Number of exceptions at columns below `col`. */
  private rank(col: number): number {
    let lo = 0;
    let hi = this.cols.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cols[mid] < col) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  width(col: number): number {
    const i = this.rank(col);
    return i < this.cols.length && this.cols[i] === col ? this.widths[i] : this.defaultWidth;
  }

  /** Left edge of a column in content coordinates (col may be count: the total width). */
  left(col: number): number {
    return col * this.defaultWidth + this.deltaBefore[this.rank(col)];
  }

  get total(): number {
    return this.left(this.count);
  }

  /** The (column, width) pairs that differ from the default, by column. */
  exceptions(): [number, number][] {
    return this.cols.map((c, i) => [c, this.widths[i]]);
  }

  /** The column under content x, clamped to [0, count]. */
  at(x: number): number {
    if (x < 0) return 0;
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.left(mid) <= x) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

/** Left edge of a body column in content coordinates. */
export function colLeft(g: GridGeometry, col: number): number {
  return g.columns ? g.columns.left(col) : col * g.colWidth;
}

export function colWidthOf(g: GridGeometry, col: number): number {
  return g.columns ? g.columns.width(col) : g.colWidth;
}

/** The column under content x (may be colCount past the end). */
export function colAt(g: GridGeometry, x: number): number {
  return g.columns ? g.columns.at(x) : Math.floor(x / g.colWidth);
}

export function headerWidth(g: GridGeometry): number {
  return g.rowHeaderLevels * g.rowHeaderWidth;
}

export function headerHeight(g: GridGeometry): number {
  return g.colHeaderLevels * g.rowHeight;
}

/** Size of the scrolled body area on screen (never negative). */
export function bodyViewport(g: GridGeometry): { readonly w: number; readonly h: number } {
  return {
    w: Math.max(0, g.viewportWidth - headerWidth(g)),
    h: Math.max(0, g.viewportHeight - headerHeight(g)),
  };
}

export function contentSize(g: GridGeometry): { readonly w: number; readonly h: number } {
  return { w: colLeft(g, g.colCount), h: g.rowCount * g.rowHeight };
}

/**
 * The parts of the body (screen rectangles) that hold no cells: right of the last column and
 * below the last row, when the view is smaller than the canvas. Renderers paint them as empty
 * page, not as grid lines.
 */
export function emptyRects(g: GridGeometry, scroll: Scroll): Rect[] {
  const hw = headerWidth(g);
  const hh = headerHeight(g);
  const body = bodyViewport(g);
  const content = contentSize(g);
  const right = Math.max(hw, hw + content.w - scroll.x);
  const bottom = Math.max(hh, hh + content.h - scroll.y);
  const out: Rect[] = [];
  if (right < hw + body.w) out.push({ x: right, y: hh, w: hw + body.w - right, h: body.h });
  if (bottom < hh + body.h) out.push({ x: hw, y: bottom, w: Math.min(right, hw + body.w) - hw, h: hh + body.h - bottom });
  return out.filter((r) => r.w > 0 && r.h > 0);
}

export function maxScroll(g: GridGeometry): Scroll {
  const body = bodyViewport(g);
  const content = contentSize(g);
  return { x: Math.max(0, content.w - body.w), y: Math.max(0, content.h - body.h) };
}

export function clampScroll(g: GridGeometry, s: Scroll): Scroll {
  const max = maxScroll(g);
  return {
    x: Math.min(max.x, Math.max(0, Math.round(s.x))),
    y: Math.min(max.y, Math.max(0, Math.round(s.y))),
  };
}

export function visibleRange(g: GridGeometry, s: Scroll): VisibleRange {
  const body = bodyViewport(g);
  const firstRow = Math.min(g.rowCount, Math.max(0, Math.floor(s.y / g.rowHeight)));
  const endRow = Math.min(g.rowCount, Math.max(firstRow, Math.ceil((s.y + body.h) / g.rowHeight)));
  const firstCol = Math.min(g.colCount, Math.max(0, colAt(g, s.x)));
  const right = s.x + body.w;
  const last = colAt(g, right);
  const endCol = Math.min(g.colCount, Math.max(firstCol, colLeft(g, last) < right ? last + 1 : last));
  return { firstRow, endRow, firstCol, endCol };
}

/** Screen rectangle of a body cell (it may lie partly or wholly under the headers). */
export function cellRect(g: GridGeometry, s: Scroll, row: number, col: number): Rect {
  return {
    x: headerWidth(g) + colLeft(g, col) - s.x,
    y: headerHeight(g) + row * g.rowHeight - s.y,
    w: colWidthOf(g, col),
    h: g.rowHeight,
  };
}

export function hitTest(g: GridGeometry, s: Scroll, x: number, y: number): Hit {
  if (x < 0 || y < 0 || x >= g.viewportWidth || y >= g.viewportHeight) return { kind: "none" };
  const hw = headerWidth(g);
  const hh = headerHeight(g);
  if (x < hw && y < hh) return { kind: "corner" };
  if (y < hh) {
    const col = colAt(g, x - hw + s.x);
    if (col >= g.colCount) return { kind: "none" };
    return { kind: "colHeader", col, level: Math.floor(y / g.rowHeight) };
  }
  const row = Math.floor((y - hh + s.y) / g.rowHeight);
  if (row >= g.rowCount) return { kind: "none" };
  if (x < hw) return { kind: "rowHeader", row, level: Math.floor(x / g.rowHeaderWidth) };
  const col = colAt(g, x - hw + s.x);
  if (col >= g.colCount) return { kind: "none" };
  return { kind: "cell", row, col };
}

/** The smallest scroll change that brings the cell wholly into the body area. */
export function scrollToReveal(g: GridGeometry, s: Scroll, row: number, col: number): Scroll {
  const body = bodyViewport(g);
  let { x, y } = s;
  const top = row * g.rowHeight;
  const left = colLeft(g, col);
  const width = colWidthOf(g, col);
  if (top < y) y = top;
  else if (top + g.rowHeight > y + body.h) y = top + g.rowHeight - body.h;
  if (left < x) x = left;
  else if (left + width > x + body.w) x = left + width - body.w;
  return clampScroll(g, { x, y });
}

/** Whole rows that fit in the body: the step of Page Up / Page Down. */
export function pageRows(g: GridGeometry): number {
  return Math.max(1, Math.floor(bodyViewport(g).h / g.rowHeight));
}
