import { describe, expect, it } from "vitest";
import { DamageSet } from "./damage";
import { buildFrame, formatNumber, frameCell, resolveCells, sameShape, type CellDisplay, type FrameInput } from "./frame";
import type { GridGeometry } from "./geometry";
import { AxisLayout, type VisibleMember } from "./header-tree";
import { Canvas2dRenderer } from "./render/canvas2d-renderer";

const flat = (n: number): VisibleMember[] => Array.from({ length: n }, (_, id) => ({ id, depth: 0, hasChildren: false, expanded: false }));
// 2 outer x 50 inner rows, 40 columns; body 400 x 200 px of 100 x 20 px cells.
const g: GridGeometry = {
  rowCount: 100, colCount: 40, rowHeight: 20, colWidth: 100, rowHeaderLevels: 2, colHeaderLevels: 1,
  rowHeaderWidth: 100, viewportWidth: 600, viewportHeight: 220,
};
const input = (scroll = { x: 0, y: 0 }, cell = (r: number, c: number): CellDisplay => ({ text: `${r}:${c}`, fg: "#000", bg: "#fff", alignRight: true, marks: 0 })): FrameInput => ({
  geometry: g, scroll, rows: new AxisLayout([flat(2), flat(50)]), cols: new AxisLayout([flat(40)]),
  rowLabel: (level, id) => `L${level}M${id}`, colLabel: (_, id) => `C${id}`, cornerLabels: ["outer", "inner"],
  cell, selection: null, focus: null,
});

describe("frame snapshot", () => {
  it("asks only for the visible cells, each once, when first read", () => {
    const asked: string[] = [];
    const f = buildFrame(input({ x: 50, y: 990 }, (r, c) => {
      asked.push(`${r}:${c}`);
      return { text: "", fg: "", bg: "", alignRight: false, marks: 0 };
    }));
    // rows 49..59 (y 990..1190), cols 0..4 (x 50..450)
    expect(f.range).toEqual({ firstRow: 49, endRow: 60, firstCol: 0, endCol: 5 });
    expect(asked).toEqual([]);
    expect(frameCell(f, 49, 0)).toBeDefined();
    expect(frameCell(f, 49, 0)).toBe(frameCell(f, 49, 0));
    expect(asked).toEqual(["49:0"]);
    expect(frameCell(f, 60, 0)).toBeUndefined();
    const plain = resolveCells(f);
    expect(asked.length).toBe(11 * 5);
    expect(plain.provider).toBeNull();
    expect(structuredClone(plain).cells.length).toBe(11 * 5);
  });

  it("pins a spanning row header to the top of the body and clips it at the bottom", () => {
    const f = buildFrame(input({ x: 0, y: 990 }));
    // outer member 0 covers rows 0..49: visible from the body top (y 20) to row 50's top
    const outer = f.rowHeaders.filter((h) => h.rect.x === 0);
    expect(outer.map((h) => [h.text, h.rect.y, h.rect.h])).toEqual([["L0M0", 20, 20 + 50 * 20 - 990 - 20], ["L0M1", 30, 190]]);
    expect(f.colHeaders.map((h) => h.text)).toEqual(["C0", "C1", "C2", "C3"]); // body 400 px wide
  });

  it("knows when only contents changed", () => {
    expect(sameShape(buildFrame(input()), buildFrame(input()))).toBe(true);
    expect(sameShape(buildFrame(input()), buildFrame(input({ x: 0, y: 20 })))).toBe(false);
    expect(sameShape(null, buildFrame(input()))).toBe(false);
  });

  it("formats numbers for cells", () => {
    expect(formatNumber(1234567.8)).toBe("1,234,568");
    expect(formatNumber(-1000)).toBe("-1,000");
    expect(formatNumber(999.456)).toBe("999.46");
    expect(formatNumber(-0.001)).toBe("0");
    expect(formatNumber(0.5)).toBe("0.5");
  });
});

// A 2D context that records what is drawn.
function recordingCanvas() {
  const texts: string[] = [];
  const ctx: Record<string, unknown> = {
    fillText: (t: string) => texts.push(t),
    measureText: (t: string) => ({ width: t.length * 6 }),
  };
  for (const m of ["setTransform", "save", "restore", "beginPath", "rect", "clip", "fillRect", "moveTo", "lineTo", "fill", "strokeRect"]) ctx[m] = () => {};
  const canvas = { width: 0, height: 0, getContext: () => ctx } as unknown as HTMLCanvasElement;
  return { canvas, texts };
}

describe("canvas 2D renderer and the damage set", () => {
  it("paints every visible cell on full damage and only damaged cells otherwise", () => {
    const { canvas, texts } = recordingCanvas();
    const r = new Canvas2dRenderer(canvas);
    r.resize(600, 220, 1);
    const damage = new DamageSet();
    const frame = buildFrame(input());
    r.draw(frame, damage);
    expect(r.lastPainted).toBe(10 * 4); // rows 0..9, cols 0..3 (body 400 x 200)
    expect(texts).toContain("9:3");
    damage.clear();
    texts.length = 0;
    damage.addCell(2, 1);
    damage.addCell(7, 3);
    damage.addCell(70, 30); // not visible: ignored
    r.draw(frame, damage);
    expect(r.lastPainted).toBe(2);
    expect(texts.sort()).toEqual(["2:1", "7:3"]);
  });
});
