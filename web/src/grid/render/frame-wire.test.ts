import { describe, expect, it } from "vitest";
import { DamageSet } from "../damage";
import { frameCell, sameLayout, type FrameSnapshot } from "../frame";
import { ColumnWidths, colLeft, type GridGeometry } from "../geometry";
import { FrameDecoder, FrameEncoder, PendingDamage, decodeDamage } from "./frame-wire";

function frame(columns: ColumnWidths | undefined, scrollX: number): FrameSnapshot {
  const geometry: GridGeometry = {
    rowCount: 100, colCount: 50, rowHeight: 24, colWidth: 104, rowHeaderLevels: 1, colHeaderLevels: 1,
    rowHeaderWidth: 180, viewportWidth: 800, viewportHeight: 600, columns,
  };
  return {
    geometry, scroll: { x: scrollX, y: 0 }, range: { firstRow: 0, endRow: 1, firstCol: 0, endCol: 1 },
    // Cells are read lazily on the page: the encoder must resolve them (a function cannot be cloned).
    cells: [undefined], provider: () => ({ text: "1", fg: "#000", bg: "#fff", alignRight: true, marks: 0 }), rowHeaders: [], colHeaders: [],
    cornerLabels: ["Row"], selection: null, focus: null,
  };
}

// What the Worker receives is a structured clone: class instances arrive as plain objects.
const clone = <T>(v: T): T => structuredClone(v);

describe("frames sent to the render worker", () => {
  it("rebuild resized column widths once per change, so a scroll is still a scroll", () => {
    const enc = new FrameEncoder();
    const dec = new FrameDecoder();
    const cols = new ColumnWidths(50, 104, new Map([[3, 200], [7, 30]]));
    const a = dec.decode(clone(enc.encode(frame(cols, 0))));
    const b = dec.decode(clone(enc.encode(frame(cols, 37))));
    // Hand-computed: column 10 starts at 10 * 104 + (200 - 104) + (30 - 104) = 1062.
    expect(colLeft(a.geometry, 10)).toBe(1062);
    expect(b.geometry.columns).toBe(a.geometry.columns);
    expect(sameLayout(a, b)).toBe(true);
    expect(b.scroll.x).toBe(37);
    expect(frameCell(b, 0, 0)?.text).toBe("1");
    // New widths (a new ColumnWidths on the page) are a new layout in the Worker too.
    const c = dec.decode(clone(enc.encode(frame(new ColumnWidths(50, 104, new Map([[3, 150]])), 37))));
    expect(colLeft(c.geometry, 10)).toBe(10 * 104 + 46);
    expect(sameLayout(b, c)).toBe(false);
    // Back to default widths.
    const d = dec.decode(clone(enc.encode(frame(undefined, 37))));
    expect(d.geometry.columns).toBeUndefined();
    expect(colLeft(d.geometry, 10)).toBe(1040);
  });

  it("merge the damage of frames that waited, and a full damage wins", () => {
    const p = new PendingDamage();
    const d1 = new DamageSet();
    d1.clear();
    d1.addCell(1, 2);
    const d2 = new DamageSet();
    d2.clear();
    d2.addCell(3, 4);
    d2.addCell(1, 2);
    p.add(d1);
    p.add(d2);
    const got: string[] = [];
    decodeDamage(clone(p.take())).forEach((r, c) => got.push(`${r},${c}`));
    expect(got.sort()).toEqual(["1,2", "3,4"]);
    // Taken: nothing left.
    expect(decodeDamage(p.take()).isEmpty).toBe(true);
    p.add(d1);
    p.add(new DamageSet());
    p.add(d2);
    expect(decodeDamage(clone(p.take())).isFull).toBe(true);
  });
});
