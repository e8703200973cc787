// Viewport paging: the grid asks only for the blocks of cells it shows.
//
// The view is cut into blocks of kBlockRows x kBlockCols cells. `ensure` starts a fetch for each
// block the visible range overlaps that is neither loaded nor in flight; `get` answers from the
// loaded blocks only (undefined while a block loads). Invalidated blocks keep their old values on
// screen until the new ones arrive (no flicker), and a response for an older generation (the
// layout changed while it was in flight) is dropped. Blocks far from the view are evicted,
// least recently used first.

import type { VisibleRange } from "./geometry";

export const kBlockRows = 64;
export const kBlockCols = 32;

/** Cell flags, one byte per cell. */
export const CellFlag = {
  Consolidated: 1,
  Held: 2,
  Comment: 4,
  Adjustment: 8,
  ReadOnly: 16,
  Text: 32,
  Writable: 64,
  /** An error value or a cell the caller may not read (its text says which). */
  Error: 128,
} as const;

/** The cells of one block, row-major, `rows * cols` long. NaN is an empty cell. */
export interface CellBlock {
  readonly rows: number;
  readonly cols: number;
  readonly values: Float64Array;
  readonly flags: Uint8Array;
  /** Text cells by index in the block. */
  readonly texts?: ReadonlyMap<number, string>;
}

/** A rectangle of cells to fetch, as half-open ranges. */
export interface BlockRequest {
  readonly r0: number;
  readonly r1: number;
  readonly c0: number;
  readonly c1: number;
}

export type BlockFetcher = (req: BlockRequest) => Promise<CellBlock>;

export interface CellView {
  readonly value: number;
  readonly flags: number;
  readonly text?: string;
}

interface Entry {
  data?: CellBlock;
  inFlight: boolean;
  stale: boolean;
  lastUse: number;
  error?: string;
}

export interface PagingOptions {
  readonly rowCount: number;
  readonly colCount: number;
  /** Blocks kept at most (the visible ones are never evicted). */
  readonly capacity?: number;
  /**
   * Called when a block's cells arrive, with the cells whose value, text or flags differ from
   * what the block held before, or null when every cell of `req` may have (its first load, or
   * one of another shape): the grid damages only those (GridView.damageLoaded).
   */
  readonly onLoaded?: (req: BlockRequest, changed: readonly { row: number; col: number }[] | null) => void;
  readonly onError?: (req: BlockRequest, message: string) => void;
}

export class PagedCells {
  private blocks = new Map<number, Entry>();
  private generation = 0;
  private clock = 0;
  private fetches = 0;

  constructor(
    private readonly fetcher: BlockFetcher,
    private readonly options: PagingOptions,
  ) {}

  /** Number of fetches started so far (for tests and the status bar). */
  get fetchCount(): number {
    return this.fetches;
  }

  get blockCount(): number {
    return this.blocks.size;
  }

  static blockKey(blockRow: number, blockCol: number): number {
    return blockRow * 65536 + blockCol;
  }

  /** The requests that cover a visible range, block-aligned and clipped to the view. */
  blocksFor(range: VisibleRange): BlockRequest[] {
    const out: BlockRequest[] = [];
    if (range.endRow <= range.firstRow || range.endCol <= range.firstCol) return out;
    const br0 = Math.floor(range.firstRow / kBlockRows);
    const br1 = Math.floor((range.endRow - 1) / kBlockRows);
    const bc0 = Math.floor(range.firstCol / kBlockCols);
    const bc1 = Math.floor((range.endCol - 1) / kBlockCols);
    for (let br = br0; br <= br1; br++)
      for (let bc = bc0; bc <= bc1; bc++) out.push(this.requestFor(br, bc));
    return out;
  }

  private requestFor(br: number, bc: number): BlockRequest {
    const r0 = br * kBlockRows;
    const c0 = bc * kBlockCols;
    return {
      r0,
      c0,
      r1: Math.min(this.options.rowCount, r0 + kBlockRows),
      c1: Math.min(this.options.colCount, c0 + kBlockCols),
    };
  }

  /**
   * Starts the fetches the visible range needs, then those of `ahead` (where the view is
   * heading: see lookahead), so a scroll finds its cells loaded; returns how many it started.
   */
  ensure(range: VisibleRange, ahead?: VisibleRange): number {
    const now = ++this.clock;
    const wanted = new Set<number>();
    let started = 0;
    const reqs = this.blocksFor(range);
    if (ahead) reqs.push(...this.blocksFor(ahead));
    for (const req of reqs) {
      const key = PagedCells.blockKey(req.r0 / kBlockRows, req.c0 / kBlockCols);
      wanted.add(key);
      let entry = this.blocks.get(key);
      if (!entry) {
        entry = { inFlight: false, stale: true, lastUse: now };
        this.blocks.set(key, entry);
      }
      entry.lastUse = now;
      if (entry.stale && !entry.inFlight) {
        this.start(key, entry, req);
        started++;
      }
    }
    this.evict(wanted);
    return started;
  }

  private start(key: number, entry: Entry, req: BlockRequest): void {
    const generation = this.generation;
    entry.inFlight = true;
    entry.stale = false;
    this.fetches++;
    this.fetcher(req).then(
      (data) => {
        if (generation !== this.generation || this.blocks.get(key) !== entry) return;
        entry.inFlight = false;
        const changed = changedCells(req, entry.data, data);
        entry.data = data;
        entry.error = undefined;
        this.options.onLoaded?.(req, changed);
      },
      (err: unknown) => {
        if (generation !== this.generation || this.blocks.get(key) !== entry) return;
        entry.inFlight = false;
        entry.stale = true;
        entry.error = err instanceof Error ? err.message : String(err);
        this.options.onError?.(req, entry.error);
      },
    );
  }

  private evict(keep: ReadonlySet<number>): void {
    const capacity = this.options.capacity ?? 256;
    if (this.blocks.size <= capacity) return;
    const candidates = [...this.blocks.entries()]
      .filter(([key, e]) => !keep.has(key) && !e.inFlight)
      .sort((a, b) => a[1].lastUse - b[1].lastUse);
    for (const [key] of candidates) {
      if (this.blocks.size <= capacity) break;
      this.blocks.delete(key);
    }
  }

  /** The cell as loaded, or undefined while its block has not arrived. */
  get(row: number, col: number): CellView | undefined {
    const br = Math.floor(row / kBlockRows);
    const bc = Math.floor(col / kBlockCols);
    const data = this.blocks.get(PagedCells.blockKey(br, bc))?.data;
    if (!data) return undefined;
    const index = (row - br * kBlockRows) * data.cols + (col - bc * kBlockCols);
    return { value: data.values[index], flags: data.flags[index], text: data.texts?.get(index) };
  }

  /** Marks the blocks holding these cells stale: the next `ensure` refetches them. */
  invalidateCells(cells: Iterable<{ readonly row: number; readonly col: number }>): void {
    for (const { row, col } of cells) {
      const entry = this.blocks.get(PagedCells.blockKey(Math.floor(row / kBlockRows), Math.floor(col / kBlockCols)));
      if (entry) entry.stale = true;
    }
  }

  /** Marks every block stale, keeping the old values on screen until new ones arrive. */
  invalidateAll(): void {
    for (const entry of this.blocks.values()) entry.stale = true;
  }

  /** Drops everything: the layout changed, so old cells mean other coordinates. */
  reset(): void {
    this.generation++;
    this.blocks.clear();
  }
}

/**
 * The range a scroll moving by (dRow, dCol) cells a frame is heading for: the visible range
 * stretched by its own size in the direction of motion on each moving axis, clipped to the view.
 */
export function lookahead(range: VisibleRange, dRow: number, dCol: number, rowCount: number, colCount: number): VisibleRange {
  const h = range.endRow - range.firstRow;
  const w = range.endCol - range.firstCol;
  return {
    firstRow: dRow < 0 ? Math.max(0, range.firstRow - h) : range.firstRow,
    endRow: dRow > 0 ? Math.min(rowCount, range.endRow + h) : range.endRow,
    firstCol: dCol < 0 ? Math.max(0, range.firstCol - w) : range.firstCol,
    endCol: dCol > 0 ? Math.min(colCount, range.endCol + w) : range.endCol,
  };
}

/**
 * Cells of a block whose contents differ between two loads, or null when every cell may have
 * (no earlier load, or one of another shape). Scrolling loads a block a frame or so: listing its
 * 2,048 cells each time was most of what the grid allocated while scrolling.
 */
export function changedCells(req: BlockRequest, before: CellBlock | undefined, after: CellBlock): { row: number; col: number }[] | null {
  if (before === undefined || before.rows !== after.rows || before.cols !== after.cols) return null;
  const out: { row: number; col: number }[] = [];
  for (let r = 0; r < after.rows; r++)
    for (let c = 0; c < after.cols; c++) {
      const i = r * after.cols + c;
      const same =
        Object.is(before.values[i], after.values[i]) &&
        before.flags[i] === after.flags[i] &&
        before.texts?.get(i) === after.texts?.get(i);
      if (!same) out.push({ row: req.r0 + r, col: req.c0 + c });
    }
  return out;
}
