import { describe, expect, it } from "vitest";
import { kOrigin, rangeCells, reduceSelection, selectionRange, type Bounds, type Selection } from "./selection";

const b: Bounds = { rowCount: 100, colCount: 10, pageRows: 20 };

describe("selection", () => {
  it("arrow keys move the focus and collapse the range; shift extends from the anchor", () => {
    let s: Selection = reduceSelection(kOrigin, { type: "move", dRow: 2, dCol: 1, extend: false }, b);
    expect(s).toEqual({ anchor: { row: 2, col: 1 }, focus: { row: 2, col: 1 } });
    s = reduceSelection(s, { type: "move", dRow: 3, dCol: 2, extend: true }, b);
    expect(selectionRange(s)).toEqual({ r0: 2, r1: 5, c0: 1, c1: 3 });
    expect(rangeCells(selectionRange(s))).toBe(12);
    s = reduceSelection(s, { type: "move", dRow: -6, dCol: -5, extend: true }, b);
    expect(selectionRange(s)).toEqual({ r0: 0, r1: 2, c0: 0, c1: 1 });
  });

  it("moves stop at the edges", () => {
    const s = reduceSelection(kOrigin, { type: "move", dRow: -1, dCol: 99, extend: false }, b);
    expect(s.focus).toEqual({ row: 0, col: 9 });
  });

  it("page and edge keys", () => {
    let s = reduceSelection(kOrigin, { type: "page", dir: 1, extend: false }, b);
    expect(s.focus.row).toBe(20);
    s = reduceSelection(s, { type: "edge", to: "bottom", extend: true }, b);
    expect(selectionRange(s)).toEqual({ r0: 20, r1: 99, c0: 0, c1: 0 });
    s = reduceSelection(s, { type: "edge", to: "rowEnd", extend: false }, b);
    expect(s).toEqual({ anchor: { row: 99, col: 9 }, focus: { row: 99, col: 9 } });
  });

  it("shift-click extends, click restarts", () => {
    let s = reduceSelection(kOrigin, { type: "click", cell: { row: 4, col: 4 }, extend: false }, b);
    s = reduceSelection(s, { type: "click", cell: { row: 1, col: 7 }, extend: true }, b);
    expect(selectionRange(s)).toEqual({ r0: 1, r1: 4, c0: 4, c1: 7 });
  });

  it("whole rows, columns and everything", () => {
    expect(selectionRange(reduceSelection(kOrigin, { type: "selectRows", r0: 3, r1: 5 }, b))).toEqual({ r0: 3, r1: 5, c0: 0, c1: 9 });
    expect(selectionRange(reduceSelection(kOrigin, { type: "selectCols", c0: 2, c1: 2 }, b))).toEqual({ r0: 0, r1: 99, c0: 2, c1: 2 });
    expect(rangeCells(selectionRange(reduceSelection(kOrigin, { type: "selectAll" }, b)))).toBe(1000);
  });
});
