// Frame snapshots and damage sets as messages to the render Worker (postMessage, structured
// clone). A snapshot is plain data except its column widths (a ColumnWidths object, whose
// methods a clone loses): they travel as their exceptions, and only when they changed, so the
// Worker keeps one ColumnWidths per layout and `sameLayout` (which compares it by identity)
// still tells a scroll from a re-layout.

import { DamageSet, cellKey, keyCol, keyRow } from "../damage";
import { resolveCells, type FrameSnapshot } from "../frame";
import { ColumnWidths } from "../geometry";

export interface WireDamage {
  readonly full: boolean;
  /** Damaged cells as cell keys (empty when full). */
  readonly cells: readonly number[];
}

export interface WireFrame {
  /** The snapshot without geometry.columns. */
  readonly frame: FrameSnapshot;
  /** Generation of the column widths: changes when they do. */
  readonly columnsId: number;
  /** The exceptions, sent with a new generation only (null: unchanged, or all default). */
  readonly columns: { count: number; defaultWidth: number; exceptions: [number, number][] } | null;
}

/** Main-thread side: remembers which ColumnWidths object the Worker already has. */
export class FrameEncoder {
  private columns: ColumnWidths | undefined = undefined;
  private columnsId = 0;

  encode(frame: FrameSnapshot): WireFrame {
    const cols = frame.geometry.columns;
    let sent: WireFrame["columns"] = null;
    if (cols !== this.columns) {
      this.columns = cols;
      this.columnsId++;
      if (cols) sent = { count: cols.count, defaultWidth: cols.defaultWidth, exceptions: cols.exceptions() };
    }
    const { columns: _, ...geometry } = frame.geometry;
    // resolveCells: a frame's cells are read lazily, and a function cannot be cloned.
    return { frame: { ...resolveCells(frame), geometry }, columnsId: this.columnsId, columns: sent };
  }
}

/** Worker side: rebuilds the snapshot, with one ColumnWidths object per generation. */
export class FrameDecoder {
  private columns: ColumnWidths | undefined = undefined;
  private columnsId = 0;

  decode(wire: WireFrame): FrameSnapshot {
    if (wire.columnsId !== this.columnsId) {
      this.columnsId = wire.columnsId;
      const c = wire.columns;
      this.columns = c ? new ColumnWidths(c.count, c.defaultWidth, new Map(c.exceptions)) : undefined;
    }
    const f = wire.frame;
    return { ...f, geometry: { ...f.geometry, columns: this.columns } };
  }
}

/** Accumulates damage while a frame is waiting to be sent (frames skipped merge into it). */
export class PendingDamage {
  private full = false;
  private readonly cells = new Set<number>();

  add(damage: DamageSet): void {
    if (this.full) return;
    if (damage.isFull) {
      this.full = true;
      this.cells.clear();
      return;
    }
    damage.forEach((row, col) => this.cells.add(cellKey(row, col)));
  }

  take(): WireDamage {
    const out = { full: this.full, cells: this.full ? [] : [...this.cells] };
    this.full = false;
    this.cells.clear();
    return out;
  }
}

export function decodeDamage(wire: WireDamage): DamageSet {
  const d = new DamageSet();
  if (wire.full) return d; // a new DamageSet is full
  d.clear();
  for (const key of wire.cells) d.addCell(keyRow(key), keyCol(key));
  return d;
}
