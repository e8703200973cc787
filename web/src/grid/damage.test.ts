import { describe, expect, it } from "vitest";
import { DamageSet, cellKey, keyCol, keyRow } from "./damage";

describe("damage set", () => {
  it("starts full so the first frame paints everything", () => {
    expect(new DamageSet().isFull).toBe(true);
  });

  it("collects distinct cells and clips ranges to the visible cells", () => {
    const d = new DamageSet();
    d.clear();
    d.addCell(5, 7);
    d.addCell(5, 7);
    d.addRange({ r0: 0, r1: 100, c0: 0, c1: 100 }, { r0: 10, r1: 11, c0: 20, c1: 22 });
    expect(d.size).toBe(1 + 6);
    const seen: string[] = [];
    d.forEach((r, c) => seen.push(`${r},${c}`));
    expect(seen.sort()).toEqual(["10,20", "10,21", "10,22", "11,20", "11,21", "11,22", "5,7"]);
    expect(d.has(11, 22)).toBe(true);
    expect(d.has(12, 22)).toBe(false);
  });

  it("full damage swallows cell damage until cleared", () => {
    const d = new DamageSet();
    d.clear();
    d.addCell(1, 1);
    d.addAll();
    expect(d.isFull).toBe(true);
    expect(d.size).toBe(0);
    d.clear();
    expect(d.isEmpty).toBe(true);
  });

  it("keys round-trip for 10,000,000-row views", () => {
    const k = cellKey(9_999_999, 999);
    expect([keyRow(k), keyCol(k)]).toEqual([9_999_999, 999]);
  });
});
