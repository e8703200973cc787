// Copy and paste as tab-separated text (what spreadsheets put on the clipboard).

import type { CellPos, CellRange } from "./selection";

/** Formats a range as TSV: one line per row, cells separated by tabs. */
export function formatTsv(r: CellRange, textAt: (row: number, col: number) => string): string {
  const lines: string[] = [];
  for (let row = r.r0; row <= r.r1; row++) {
    const cells: string[] = [];
    for (let col = r.c0; col <= r.c1; col++) cells.push(textAt(row, col).replace(/[\t\r\n]/g, " "));
    lines.push(cells.join("\t"));
  }
  return lines.join("\n");
}

/** Parses TSV into rows of cells. A trailing line break (as spreadsheets add) is ignored. */
export function parseTsv(text: string): string[][] {
  const normalized = text.replace(/\r\n?/g, "\n").replace(/\n$/, "");
  if (normalized === "") return [];
  return normalized.split("\n").map((line) => line.split("\t"));
}

export interface PastedCell {
  readonly row: number;
  readonly col: number;
  readonly text: string;
}

/**
 * The cells a paste at `at` writes, clipped to the grid. A single copied value fills the whole
 * selection when the selection is larger (as spreadsheets do). The result is written as one
 * change set, so one undo takes it back.
 */
export function pasteCells(
  matrix: readonly (readonly string[])[],
  at: CellPos,
  selection: CellRange,
  rowCount: number,
  colCount: number,
): PastedCell[] {
  const out: PastedCell[] = [];
  if (matrix.length === 1 && matrix[0].length === 1) {
    for (let row = selection.r0; row <= selection.r1; row++)
      for (let col = selection.c0; col <= selection.c1; col++) out.push({ row, col, text: matrix[0][0] });
    return out;
  }
  matrix.forEach((line, dr) =>
    line.forEach((text, dc) => {
      const row = at.row + dr;
      const col = at.col + dc;
      if (row < rowCount && col < colCount) out.push({ row, col, text });
    }),
  );
  return out;
}

/** Reads typed or pasted text as a number: "", a plain number, or with thousands separators. */
export function parseCellInput(text: string): { kind: "clear" } | { kind: "number"; value: number } | { kind: "error"; message: string } {
  const trimmed = text.trim();
  if (trimmed === "") return { kind: "clear" };
  const cleaned = trimmed.replace(/,/g, "");
  const value = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(cleaned) ? Number(cleaned) : NaN;
  if (!Number.isFinite(value)) return { kind: "error", message: `"${trimmed}" is not a number` };
  return { kind: "number", value };
}
