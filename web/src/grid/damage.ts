// The damage set: body cells whose pixels are out of date, or "everything". A renderer repaints
// only the damaged cells unless the whole frame is damaged (scroll, resize, new layout).

import type { CellRange } from "./selection";

// Cell keys pack (row, col) into one safe integer: rows below 2^32, columns below 2^20.
const kColBits = 2 ** 20;

export function cellKey(row: number, col: number): number {
  return row * kColBits + col;
}

export function keyRow(key: number): number {
  return Math.floor(key / kColBits);
}

export function keyCol(key: number): number {
  return key % kColBits;
}

export class DamageSet {
  private cells = new Set<number>();
  private everything = true;
  private moved = false;

  get isFull(): boolean {
    return this.everything;
  }

  get size(): number {
    return this.cells.size;
  }

  get isEmpty(): boolean {
    return !this.everything && !this.moved && this.cells.size === 0;
  }

  /**
   * The scroll position changed. No cell's contents did, so a renderer that keeps its last
   * frame's pixels may move them and paint only what the scroll exposed; the others repaint all.
   */
  get scrolled(): boolean {
    return this.moved;
  }

  addScroll(): void {
    this.moved = true;
  }

  addCell(row: number, col: number): void {
    if (!this.everything) this.cells.add(cellKey(row, col));
  }

  /** Adds every cell of an inclusive range, clipped to `clip` (the visible cells). */
  addRange(r: CellRange, clip?: CellRange): void {
    if (this.everything) return;
    const r0 = clip ? Math.max(r.r0, clip.r0) : r.r0;
    const r1 = clip ? Math.min(r.r1, clip.r1) : r.r1;
    const c0 = clip ? Math.max(r.c0, clip.c0) : r.c0;
    const c1 = clip ? Math.min(r.c1, clip.c1) : r.c1;
    for (let row = r0; row <= r1; row++) for (let col = c0; col <= c1; col++) this.cells.add(cellKey(row, col));
  }

  addAll(): void {
    this.everything = true;
    this.cells.clear();
  }

  has(row: number, col: number): boolean {
    return this.everything || this.cells.has(cellKey(row, col));
  }

  /** The damaged cells (not meaningful when `isFull`). */
  forEach(fn: (row: number, col: number) => void): void {
    for (const key of this.cells) fn(keyRow(key), keyCol(key));
  }

  clear(): void {
    this.everything = false;
    this.moved = false;
    this.cells.clear();
  }
}
