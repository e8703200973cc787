import { describe, expect, it } from "vitest";
import { formatTsv, parseCellInput, parseTsv, pasteCells } from "./clipboard";

describe("clipboard", () => {
  it("copies a range as TSV and reads it back", () => {
    const tsv = formatTsv({ r0: 1, r1: 2, c0: 0, c1: 2 }, (r, c) => `${r}.${c}`);
    expect(tsv).toBe("1.0\t1.1\t1.2\n2.0\t2.1\t2.2");
    expect(parseTsv(tsv + "\r\n")).toEqual([["1.0", "1.1", "1.2"], ["2.0", "2.1", "2.2"]]);
    expect(parseTsv("")).toEqual([]);
  });

  it("pastes a block at the focus, clipped to the grid", () => {
    const cells = pasteCells([["1", "2"], ["3", "4"]], { row: 9, col: 0 }, { r0: 9, r1: 9, c0: 0, c1: 0 }, 10, 5);
    expect(cells).toEqual([{ row: 9, col: 0, text: "1" }, { row: 9, col: 1, text: "2" }]);
  });

  it("one copied value fills the whole selection", () => {
    const cells = pasteCells([["7"]], { row: 0, col: 0 }, { r0: 0, r1: 1, c0: 0, c1: 1 }, 10, 10);
    expect(cells.map((c) => [c.row, c.col, c.text])).toEqual([[0, 0, "7"], [0, 1, "7"], [1, 0, "7"], [1, 1, "7"]]);
  });

  it("reads typed numbers strictly", () => {
    expect(parseCellInput(" 1,200.5 ")).toEqual({ kind: "number", value: 1200.5 });
    expect(parseCellInput("-3e2")).toEqual({ kind: "number", value: -300 });
    expect(parseCellInput("")).toEqual({ kind: "clear" });
    expect(parseCellInput("12abc")).toEqual({ kind: "error", message: '"12abc" is not a number' });
    expect(parseCellInput("Infinity").kind).toBe("error");
  });
});
