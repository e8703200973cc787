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
// only horizontally. Rows share one height and body columns one width, so every lookup is O(1)
// whatever the size of the view (10,000 x 1,000 cells and more).

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
  return { w: g.colCount * g.colWidth, h: g.rowCount * g.rowHeight };
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
  const firstCol = Math.min(g.colCount, Math.max(0, Math.floor(s.x / g.colWidth)));
  const endCol = Math.min(g.colCount, Math.max(firstCol, Math.ceil((s.x + body.w) / g.colWidth)));
  return { firstRow, endRow, firstCol, endCol };
}

/** Screen rectangle of a body cell (it may lie partly or wholly under the headers). */
export function cellRect(g: GridGeometry, s: Scroll, row: number, col: number): Rect {
  return {
    x: headerWidth(g) + col * g.colWidth - s.x,
    y: headerHeight(g) + row * g.rowHeight - s.y,
    w: g.colWidth,
    h: g.rowHeight,
  };
}

export function hitTest(g: GridGeometry, s: Scroll, x: number, y: number): Hit {
  if (x < 0 || y < 0 || x >= g.viewportWidth || y >= g.viewportHeight) return { kind: "none" };
  const hw = headerWidth(g);
  const hh = headerHeight(g);
  if (x < hw && y < hh) return { kind: "corner" };
  if (y < hh) {
    const col = Math.floor((x - hw + s.x) / g.colWidth);
    if (col >= g.colCount) return { kind: "none" };
    return { kind: "colHeader", col, level: Math.floor(y / g.rowHeight) };
  }
  const row = Math.floor((y - hh + s.y) / g.rowHeight);
  if (row >= g.rowCount) return { kind: "none" };
  if (x < hw) return { kind: "rowHeader", row, level: Math.floor(x / g.rowHeaderWidth) };
  const col = Math.floor((x - hw + s.x) / g.colWidth);
  if (col >= g.colCount) return { kind: "none" };
  return { kind: "cell", row, col };
}

/** The smallest scroll change that brings the cell wholly into the body area. */
export function scrollToReveal(g: GridGeometry, s: Scroll, row: number, col: number): Scroll {
  const body = bodyViewport(g);
  let { x, y } = s;
  const top = row * g.rowHeight;
  const left = col * g.colWidth;
  if (top < y) y = top;
  else if (top + g.rowHeight > y + body.h) y = top + g.rowHeight - body.h;
  if (left < x) x = left;
  else if (left + g.colWidth > x + body.w) x = left + g.colWidth - body.w;
  return clampScroll(g, { x, y });
}

/** Whole rows that fit in the body: the step of Page Up / Page Down. */
export function pageRows(g: GridGeometry): number {
  return Math.max(1, Math.floor(bodyViewport(g).h / g.rowHeight));
}
