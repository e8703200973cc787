import { describe, expect, it } from "vitest";
import { cellRect, clampScroll, hitTest, maxScroll, pageRows, scrollToReveal, visibleRange, type GridGeometry } from "./geometry";

// 10,000 x 1,000 cells of 100 x 20 px; two row-header levels of 120 px, one column-header level.
const g: GridGeometry = {
  rowCount: 10_000, colCount: 1_000, rowHeight: 20, colWidth: 100,
  rowHeaderLevels: 2, colHeaderLevels: 1, rowHeaderWidth: 120, viewportWidth: 1040, viewportHeight: 420,
};

describe("geometry", () => {
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
