// Selection as a small reducer: an anchor cell and a focus cell; the selected range is the
// rectangle between them. Keyboard and mouse actions are values, so the rules are testable
// without a browser.

export interface CellPos {
  readonly row: number;
  readonly col: number;
}

export interface Selection {
  readonly anchor: CellPos;
  readonly focus: CellPos;
}

export interface CellRange {
  readonly r0: number;
  readonly c0: number;
  /** Inclusive. */
  readonly r1: number;
  /** Inclusive. */
  readonly c1: number;
}

export interface Bounds {
  readonly rowCount: number;
  readonly colCount: number;
  /** Rows moved by Page Up / Page Down. */
  readonly pageRows: number;
}

export type SelectionAction =
  | { readonly type: "click"; readonly cell: CellPos; readonly extend: boolean }
  | { readonly type: "move"; readonly dRow: number; readonly dCol: number; readonly extend: boolean }
  | { readonly type: "page"; readonly dir: 1 | -1; readonly extend: boolean }
  | { readonly type: "edge"; readonly to: "rowStart" | "rowEnd" | "top" | "bottom"; readonly extend: boolean }
  | { readonly type: "selectRows"; readonly r0: number; readonly r1: number }
  | { readonly type: "selectCols"; readonly c0: number; readonly c1: number }
  | { readonly type: "selectAll" };

export const kOrigin: Selection = { anchor: { row: 0, col: 0 }, focus: { row: 0, col: 0 } };

function clampCell(cell: CellPos, b: Bounds): CellPos {
  return {
    row: Math.min(Math.max(0, b.rowCount - 1), Math.max(0, cell.row)),
    col: Math.min(Math.max(0, b.colCount - 1), Math.max(0, cell.col)),
  };
}

function moveTo(sel: Selection, cell: CellPos, extend: boolean, b: Bounds): Selection {
  const focus = clampCell(cell, b);
  return extend ? { anchor: sel.anchor, focus } : { anchor: focus, focus };
}

export function reduceSelection(sel: Selection, action: SelectionAction, b: Bounds): Selection {
  const f = sel.focus;
  switch (action.type) {
    case "click":
      return moveTo(sel, action.cell, action.extend, b);
    case "move":
      return moveTo(sel, { row: f.row + action.dRow, col: f.col + action.dCol }, action.extend, b);
    case "page":
      return moveTo(sel, { row: f.row + action.dir * b.pageRows, col: f.col }, action.extend, b);
    case "edge": {
      const to = {
        rowStart: { row: f.row, col: 0 },
        rowEnd: { row: f.row, col: b.colCount - 1 },
        top: { row: 0, col: f.col },
        bottom: { row: b.rowCount - 1, col: f.col },
      }[action.to];
      return moveTo(sel, to, action.extend, b);
    }
    case "selectRows":
      return {
        anchor: clampCell({ row: action.r0, col: 0 }, b),
        focus: clampCell({ row: action.r1, col: b.colCount - 1 }, b),
      };
    case "selectCols":
      return {
        anchor: clampCell({ row: 0, col: action.c0 }, b),
        focus: clampCell({ row: b.rowCount - 1, col: action.c1 }, b),
      };
    case "selectAll":
      return { anchor: { row: 0, col: 0 }, focus: clampCell({ row: b.rowCount - 1, col: b.colCount - 1 }, b) };
  }
}

export function selectionRange(sel: Selection): CellRange {
  return {
    r0: Math.min(sel.anchor.row, sel.focus.row),
    r1: Math.max(sel.anchor.row, sel.focus.row),
    c0: Math.min(sel.anchor.col, sel.focus.col),
    c1: Math.max(sel.anchor.col, sel.focus.col),
  };
}

export function rangeContains(r: CellRange, row: number, col: number): boolean {
  return row >= r.r0 && row <= r.r1 && col >= r.c0 && col <= r.c1;
}

export function rangeCells(r: CellRange): number {
  return (r.r1 - r.r0 + 1) * (r.c1 - r.c0 + 1);
}
