import { describe, expect, it } from "vitest";
import { PagedCells, kBlockCols, kBlockRows, lookahead, type BlockRequest, type CellBlock } from "./paging";

// A fake server: cell (r, c) = r * 1000 + c; each fetch waits until the test resolves it.
function fakeServer() {
  const pending: { req: BlockRequest; resolve: (b: CellBlock) => void; reject: (e: Error) => void }[] = [];
  let version = 0;
  const fetcher = (req: BlockRequest) =>
    new Promise<CellBlock>((resolve, reject) => pending.push({ req, resolve, reject }));
  const answer = (i = 0) => {
    const { req, resolve } = pending.splice(i, 1)[0];
    const rows = req.r1 - req.r0;
    const cols = req.c1 - req.c0;
    const values = new Float64Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) values[r * cols + c] = (req.r0 + r) * 1000 + req.c0 + c + version;
    resolve({ rows, cols, values, flags: new Uint8Array(rows * cols) });
  };
  return { pending, fetcher, answer, bump: () => version++ };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("viewport paging", () => {
  it("fetches only the blocks the view overlaps, clipped to the grid", () => {
    const s = fakeServer();
    const cells = new PagedCells(s.fetcher, { rowCount: 10_000, colCount: 1_000 });
    // rows 60..100 and cols 30..40 overlap block rows 0-1 and block cols 0-1
    expect(cells.ensure({ firstRow: 60, endRow: 101, firstCol: 30, endCol: 41 })).toBe(4);
    expect(s.pending.map((p) => p.req)).toEqual([
      { r0: 0, r1: kBlockRows, c0: 0, c1: kBlockCols },
      { r0: 0, r1: kBlockRows, c0: kBlockCols, c1: 2 * kBlockCols },
      { r0: kBlockRows, r1: 2 * kBlockRows, c0: 0, c1: kBlockCols },
      { r0: kBlockRows, r1: 2 * kBlockRows, c0: kBlockCols, c1: 2 * kBlockCols },
    ]);
    const edge = new PagedCells(s.fetcher, { rowCount: 70, colCount: 40 });
    expect(edge.blocksFor({ firstRow: 65, endRow: 70, firstCol: 35, endCol: 40 })).toEqual([{ r0: 64, r1: 70, c0: 32, c1: 40 }]);
  });

  it("looks ahead in the direction of the scroll, after the visible blocks", () => {
    const v = { firstRow: 100, endRow: 140, firstCol: 50, endCol: 62 };
    // Scrolling down and left: 40 more rows below, 12 more columns to the left.
    expect(lookahead(v, 1, -1, 10_000, 1_000)).toEqual({ firstRow: 100, endRow: 180, firstCol: 38, endCol: 62 });
    // Still: the visible range; clipped at the edges of the view.
    expect(lookahead(v, 0, 0, 10_000, 1_000)).toEqual(v);
    expect(lookahead(v, -1, 1, 10_000, 60)).toEqual({ firstRow: 60, endRow: 140, firstCol: 50, endCol: 60 });
    const s = fakeServer();
    const cells = new PagedCells(s.fetcher, { rowCount: 10_000, colCount: 1_000 });
    // Visible: rows 70..109 in block row 1 (rows 64..127), cols 40..51 in block col 1; scrolling
    // down, the lookahead (rows 110..149) adds block row 2, fetched second.
    const w = { firstRow: 70, endRow: 110, firstCol: 40, endCol: 52 };
    expect(cells.ensure(w, lookahead(w, 1, 0, 10_000, 1_000))).toBe(2);
    expect(s.pending.map((p) => p.req.r0)).toEqual([64, 128]);
    expect(s.pending[0].req.c0).toBe(kBlockCols);
  });

  it("does not refetch loaded or in-flight blocks, and answers from loaded ones", async () => {
    const s = fakeServer();
    const loaded: BlockRequest[] = [];
    const cells = new PagedCells(s.fetcher, { rowCount: 10_000, colCount: 1_000, onLoaded: (r) => loaded.push(r) });
    const view = { firstRow: 0, endRow: 30, firstCol: 0, endCol: 10 };
    expect(cells.ensure(view)).toBe(1);
    expect(cells.ensure(view)).toBe(0);
    expect(cells.get(3, 4)).toBeUndefined();
    s.answer();
    await tick();
    expect(loaded.length).toBe(1);
    expect(cells.get(3, 4)?.value).toBe(3004);
    expect(cells.get(63, 31)?.value).toBe(63031);
    expect(cells.ensure(view)).toBe(0);
    expect(cells.fetchCount).toBe(1);
  });

  it("an invalidated block keeps its old values until the refetch lands", async () => {
    const s = fakeServer();
    const cells = new PagedCells(s.fetcher, { rowCount: 10_000, colCount: 1_000 });
    const view = { firstRow: 0, endRow: 30, firstCol: 0, endCol: 10 };
    cells.ensure(view);
    s.answer();
    await tick();
    cells.invalidateCells([{ row: 2, col: 2 }]);
    s.bump();
    expect(cells.ensure(view)).toBe(1);
    expect(cells.get(2, 2)?.value).toBe(2002);
    s.answer();
    await tick();
    expect(cells.get(2, 2)?.value).toBe(2003);
  });

  it("a refetch reports only the cells whose contents changed", async () => {
    const changes: number[] = [];
    let bump = 0;
    const fetcher = (req: BlockRequest): Promise<CellBlock> => {
      const rows = req.r1 - req.r0;
      const cols = req.c1 - req.c0;
      const values = new Float64Array(rows * cols).fill(1);
      if (bump > 0) values[2 * cols + 3] = 7; // cell (2, 3) changed on the second load
      return Promise.resolve({ rows, cols, values, flags: new Uint8Array(rows * cols) });
    };
    const cells = new PagedCells(fetcher, { rowCount: 10, colCount: 10, onLoaded: (req, changed) => changes.push(changed?.length ?? (req.r1 - req.r0) * (req.c1 - req.c0)) });
    const view = { firstRow: 0, endRow: 10, firstCol: 0, endCol: 10 };
    cells.ensure(view);
    await tick();
    bump = 1;
    cells.invalidateAll();
    cells.ensure(view);
    await tick();
    expect(changes).toEqual([100, 1]);
  });

  it("an invalidation during a fetch refetches after it lands", async () => {
    const s = fakeServer();
    const cells = new PagedCells(s.fetcher, { rowCount: 100, colCount: 10 });
    const view = { firstRow: 0, endRow: 10, firstCol: 0, endCol: 10 };
    cells.ensure(view);
    cells.invalidateAll();
    s.answer();
    await tick();
    expect(cells.ensure(view)).toBe(1);
  });

  it("a response from before a reset is dropped", async () => {
    const s = fakeServer();
    const cells = new PagedCells(s.fetcher, { rowCount: 100, colCount: 10 });
    cells.ensure({ firstRow: 0, endRow: 10, firstCol: 0, endCol: 10 });
    cells.reset();
    s.answer();
    await tick();
    expect(cells.get(0, 0)).toBeUndefined();
    expect(cells.blockCount).toBe(0);
  });

  it("a failed fetch is retried by the next ensure", async () => {
    const s = fakeServer();
    const errors: string[] = [];
    const cells = new PagedCells(s.fetcher, { rowCount: 100, colCount: 10, onError: (_, m) => errors.push(m) });
    const view = { firstRow: 0, endRow: 10, firstCol: 0, endCol: 10 };
    cells.ensure(view);
    s.pending.shift()!.reject(new Error("unavailable"));
    await tick();
    expect(errors).toEqual(["unavailable"]);
    expect(cells.ensure(view)).toBe(1);
  });

  it("evicts the least recently used blocks beyond capacity, never visible ones", async () => {
    const s = fakeServer();
    const cells = new PagedCells(s.fetcher, { rowCount: 10_000, colCount: 32, capacity: 3 });
    for (let b = 0; b < 5; b++) {
      cells.ensure({ firstRow: b * kBlockRows, endRow: b * kBlockRows + 10, firstCol: 0, endCol: 10 });
      s.answer();
      await tick();
    }
    expect(cells.blockCount).toBe(3);
    expect(cells.get(4 * kBlockRows, 0)).toBeDefined();
    expect(cells.get(0, 0)).toBeUndefined();
  });
});
