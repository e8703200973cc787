import { describe, expect, it } from "vitest";
import { ColumnWidths, cellRect, clampScroll, contentSize, emptyRects, hitTest, maxScroll, pageRows, scrollToReveal, visibleRange, type GridGeometry } from "./geometry";

// 10,000 x 1,000 cells of 100 x 20 px; two row-header levels of 120 px, one column-header level.
const g: GridGeometry = {
  rowCount: 10_000, colCount: 1_000, rowHeight: 20, colWidth: 100,
  rowHeaderLevels: 2, colHeaderLevels: 1, rowHeaderWidth: 120, viewportWidth: 1040, viewportHeight: 420,
};

describe("geometry", () => {
  it("the body beyond the last row and column is empty page", () => {
    // A view bigger than the content has none.
    expect(emptyRects(g, { x: 0, y: 0 })).toEqual([]);
    // 3 rows x 2 columns, one column widened to 130: content 230 x 60 at (240, 20) on a body
    // of 800 x 400 at (240, 20).
    const small: GridGeometry = { ...g, rowCount: 3, colCount: 2, columns: new ColumnWidths(2, 100, new Map([[1, 130]])) };
    expect(emptyRects(small, { x: 0, y: 0 })).toEqual([
      { x: 470, y: 20, w: 1040 - 470, h: 400 },
      { x: 240, y: 80, w: 230, h: 420 - 80 },
    ]);
    // No columns or rows at all: the whole body, once.
    expect(emptyRects({ ...g, rowCount: 0, colCount: 0 }, { x: 0, y: 0 })).toEqual([{ x: 240, y: 20, w: 800, h: 400 }]);
  });

  it("visible range covers partly visible cells and nothing else", () => {
    // body is 800 x 400; scrolled by (150, 30): cols 1..9 (x 150..950), rows 1..21 (y 30..430)
    expect(visibleRange(g, { x: 150, y: 30 })).toEqual({ firstRow: 1, endRow: 22, firstCol: 1, endCol: 10 });
    expect(visibleRange(g, { x: 0, y: 0 })).toEqual({ firstRow: 0, endRow: 20, firstCol: 0, endCol: 8 });
  });

  it("scrolling stops at the last row and column", () => {
    expect(maxScroll(g)).toEqual({ x: 100_000 - 800, y: 200_000 - 400 });
    expect(clampScroll(g, { x: -5, y: 1e9 })).toEqual({ x: 0, y: 199_600 });
    const end = visibleRange(g, maxScroll(g));
    expect(end.endRow).toBe(10_000);
    expect(end.endCol).toBe(1_000);
  });

  it("a small view never reports rows past the end", () => {
    const small = { ...g, rowCount: 3, colCount: 2 };
    expect(visibleRange(small, { x: 0, y: 0 })).toEqual({ firstRow: 0, endRow: 3, firstCol: 0, endCol: 2 });
  });

  it("cells sit under the frozen headers, shifted by the scroll", () => {
    expect(cellRect(g, { x: 150, y: 30 }, 1, 1)).toEqual({ x: 240 + 100 - 150, y: 20 + 20 - 30, w: 100, h: 20 });
  });

  it("hit test tells headers from cells", () => {
    const s = { x: 150, y: 30 };
    // y 50 is 30 px into the body, plus 30 scrolled: row 60 / 20 = 3
    expect(hitTest(g, s, 10, 10)).toEqual({ kind: "corner" });
    expect(hitTest(g, s, 130, 50)).toEqual({ kind: "rowHeader", row: 3, level: 1 });
    expect(hitTest(g, s, 300, 5)).toEqual({ kind: "colHeader", col: 2, level: 0 });
    expect(hitTest(g, s, 300, 50)).toEqual({ kind: "cell", row: 3, col: 2 });
    expect(hitTest(g, s, 2000, 50)).toEqual({ kind: "none" });
  });

  it("reveal scrolls the least to show a cell", () => {
    expect(scrollToReveal(g, { x: 0, y: 0 }, 25, 0)).toEqual({ x: 0, y: 26 * 20 - 400 });
    expect(scrollToReveal(g, { x: 500, y: 500 }, 0, 2)).toEqual({ x: 200, y: 0 });
    expect(scrollToReveal(g, { x: 0, y: 0 }, 3, 3)).toEqual({ x: 0, y: 0 });
    expect(pageRows(g)).toBe(20);
  });
});

describe("resized columns", () => {
  // 1,000 columns of 100 px except five; positions checked against a brute-force running sum.
  const widths = new Map([[0, 40], [3, 250], [4, 24], [500, 300], [999, 61]]);
  const columns = new ColumnWidths(1_000, 100, widths);
  const rg: GridGeometry = { ...g, columns };
  const lefts: number[] = [0];
  for (let c = 0; c < 1_000; c++) lefts.push(lefts[c] + (widths.get(c) ?? 100));

  it("left edges, widths and the total are the running sums", () => {
    for (let c = 0; c <= 1_000; c++) expect(columns.left(c)).toBe(lefts[c]);
    expect(columns.width(3)).toBe(250);
    expect(columns.width(5)).toBe(100);
    expect(contentSize(rg).w).toBe(lefts[1_000]);
  });

  it("the column under every x is the one whose span holds it", () => {
    for (let x = 0; x < lefts[1_000]; x += 7) {
      const col = columns.at(x);
      expect(lefts[col] <= x && x < lefts[col + 1]).toBe(true);
    }
    expect(columns.at(lefts[1_000] + 5)).toBe(1_000);
  });

  it("visible ranges, hit tests and cell rectangles use the widths", () => {
    // body 800 px wide from x = 240 + 150: cols 3 (390..640 holds 390), 4, 5.., up to x 1190
    const v = visibleRange(rg, { x: 390, y: 0 });
    expect(v.firstCol).toBe(3);
    let end = 3;
    while (lefts[end] < 390 + 800) end++;
    expect(v.endCol).toBe(end);
    expect(cellRect(rg, { x: 390, y: 0 }, 0, 4)).toEqual({ x: 240 + lefts[4] - 390, y: 20, w: 24, h: 20 });
    expect(hitTest(rg, { x: 390, y: 0 }, 240 + lefts[4] - 390 + 10, 30)).toEqual({ kind: "cell", row: 0, col: 4 });
    expect(scrollToReveal(rg, { x: 0, y: 0 }, 0, 500).x).toBe(lefts[501] - 800);
  });
});
