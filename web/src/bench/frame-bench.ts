// Frame-time benchmark page: scrolls the synthetic 10,000 x 1,000 view for a while, one scroll
// step per animation frame, and publishes p50 / p99 of three figures on window.__frameBench:
//   work: scroll + frame snapshot + draw (+ waiting for the GPU where the renderer can tell);
//   frame: from the start of the animation frame to the first task after the browser rendered
//     it (style, layout, paint on the main thread included), via a MessageChannel message;
//   interval: time between animation frames (headless Chromium delivers at most 60 a second).
// Query: ?renderer=webgpu|webgl2|canvas2d|dom (default: the automatic choice), &seconds=10,
// &worker=1: Canvas2D draws in a Worker (OffscreenCanvas). The main thread then only builds
// and posts snapshots, so its figures no longer hold the drawing: the Worker's are reported as
//   worker_draw: the Worker's draw of one frame;
//   presented: between the ends of consecutive Worker draws (the frame interval the user sees,
//     skipped frames included: a frame posted while one is being drawn waits and may be replaced).
// `dom` is the peer: the same snapshots drawn as recycled absolutely positioned divs.

import { GridView } from "../grid/grid-view";
import type { RendererKind } from "../grid/render/renderer";
import { cellKey } from "../grid/damage";
import { buildFrame, type CellDisplay } from "../grid/frame";
import { clampScroll } from "../grid/geometry";
import { kOrigin, selectionRange } from "../grid/selection";
import type { WorkerCanvas2dRenderer } from "../grid/render/worker-renderer";
import { DomGrid } from "./dom-grid";
import { frameFigures, percentile } from "./figures";
import { BouncingPath } from "./scroll-path";
import { syntheticModel } from "./synthetic";

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const requested = params.get("renderer") || undefined;
  const dom = requested === "dom";
  const renderer = (dom ? "canvas2d" : requested) as RendererKind | undefined;
  const seconds = Number(params.get("seconds") ?? 10);
  // finish=0 measures only the CPU side (the GPU work overlaps the next frames).
  const inWorker = params.get("worker") === "1";
  // In a Worker, waiting means the Worker drew the frame: the scroll then advances one step per
  // frame drawn, as on the main thread (else the page would post steps faster than they are
  // drawn, and each drawn frame would jump many steps at once).
  const waitForGpu = params.get("finish") !== "0";
  const host = document.getElementById("grid") as HTMLElement;
  let view: GridView | null = null;
  // The DOM peer reads every cell each frame, so it gets the display cache GridView keeps for
  // renderers that do (readsEveryCell): only drawing differs.
  const domCache = new Map<number, CellDisplay>();
  const { model, cells } = syntheticModel((req, changed) => {
    view?.damageLoaded(req, changed);
    if (changed) for (const c of changed) domCache.delete(cellKey(c.row, c.col));
    else for (let r = req.r0; r < req.r1; r++) for (let c = req.c0; c < req.c1; c++) domCache.delete(cellKey(r, c));
  });
  // &gpureadback=1: WebGPU draws into a texture tests read back (see GridViewOptions).
  const gpuReadback = params.get("gpureadback") === "1";
  view = new GridView(host, { renderer, offscreen: inWorker, gpuReadback, onVisible: (range, ahead) => cells.ensure(range, ahead) });
  (window as unknown as { __benchView: GridView }).__benchView = view;
  const kind = dom ? "dom" : await view.ready;
  if (dom) await view.ready;
  view.setModel(model);
  view.drawNow();
  const workerDraws: number[] = [];
  const presented: number[] = [];
  let lastPresented = 0;
  let measuring = false;
  const proxy = view.activeRenderer as WorkerCanvas2dRenderer | null;
  if (inWorker && proxy && "inWorker" in proxy) {
    await proxy.finish();
    proxy.onDrawn = (f) => {
      if (!measuring) return;
      workerDraws.push(f.end - f.start);
      if (lastPresented > 0) presented.push(f.end - lastPresented);
      lastPresented = f.end;
    };
  }
  // The peer needs only the geometry: the canvas grid is removed so it paints nothing.
  const domGeometry = view.geometry;
  if (dom) view.dispose();
  const domGrid = dom ? new DomGrid(host) : null;
  view.drawNow();
  await new Promise((r) => setTimeout(r, 200));

  const work: number[] = [];
  const frames: number[] = [];
  const channel = new MessageChannel();
  let frameStart = 0;
  channel.port1.onmessage = () => frames.push(performance.now() - frameStart);
  const intervals: number[] = [];
  const snapshots: number[] = [];
  const draws: number[] = [];
  const path = new BouncingPath(1000 * 104, 10_000 * 24);
  const start = performance.now();
  let last = start;
  measuring = true;
  let cellsPainted = 0;
  let waited = waitForGpu && !dom;
  // &detail=1: one record per frame, so the slowest can be told apart from the rest.
  const detail = params.get("detail") === "1";
  const records: { t: number; interval: number; work: number; snapshot: number; draw: number; painted: number; fetched: number; heap: number }[] = [];
  await new Promise<void>((done) => {
    const step = async (now: number) => {
      intervals.push(now - last);
      last = now;
      const t0 = performance.now();
      frameStart = t0;
      path.step();
      const { x, y } = path;
      if (domGrid) {
        // The peer draws the same snapshot the canvas renderers get.
        const s = clampScroll(domGeometry, { x, y });
        if (domCache.size > 50_000) domCache.clear();
        domGrid.draw(buildFrame({ geometry: domGeometry, scroll: s, rows: model.rows, cols: model.cols, rowLabel: model.rowLabel,
          colLabel: model.colLabel, cornerLabels: model.cornerLabels, cell: (r, c) => {
            const k = cellKey(r, c);
            let d = domCache.get(k);
            if (!d) domCache.set(k, (d = model.cell(r, c)));
            return d;
          }, selection: selectionRange(kOrigin), focus: null }));
        cells.ensure({ firstRow: Math.floor(s.y / 24), endRow: Math.min(10_000, Math.floor(s.y / 24) + 40), firstCol: Math.floor(s.x / 104), endCol: Math.min(1000, Math.floor(s.x / 104) + 14) });
      } else {
        view!.setScroll({ x, y });
        view!.drawNow();
        snapshots.push(view!.lastTimings.snapshot);
        draws.push(view!.lastTimings.draw);
        if (waitForGpu) waited = (await view!.finishGpu()) && waited;
      }
      work.push(performance.now() - t0);
      if (detail)
        records.push({ t: t0 - start, interval: intervals[intervals.length - 1], work: work[work.length - 1], snapshot: view!.lastTimings.snapshot,
          draw: view!.lastTimings.draw, painted: (view!.activeRenderer as { lastPainted?: number } | null)?.lastPainted ?? 0, fetched: cells.fetchCount,
          heap: (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0 });
      channel.port2.postMessage(0);
      cellsPainted = view!.framesPainted;
      if (performance.now() - start < seconds * 1000) requestAnimationFrame(step);
      else done();
    };
    requestAnimationFrame(step);
  });
  intervals.shift();
  await new Promise((r) => setTimeout(r, 50));
  measuring = false;
  const wd = [...workerDraws].sort((a, b) => a - b);
  const pr = [...presented].sort((a, b) => a - b);
  const sn = [...snapshots].sort((a, b) => a - b);
  const dr = [...draws].sort((a, b) => a - b);
  const g = domGeometry;
  (window as unknown as { __frameBench: unknown }).__frameBench = {
    renderer: kind,
    waited_for_gpu: waited,
    frames: work.length,
    seconds,
    view_rows: g.rowCount,
    view_cols: g.colCount,
    viewport: `${g.viewportWidth}x${g.viewportHeight}`,
    ...frameFigures(work, frames, intervals),
    snapshot_p50_ms: percentile(sn, 50),
    snapshot_p99_ms: percentile(sn, 99),
    draw_p50_ms: percentile(dr, 50),
    draw_p99_ms: percentile(dr, 99),
    frames_painted: cellsPainted,
    ...(inWorker ? {
      in_worker: true,
      frames_presented: wd.length,
      worker_draw_p50_ms: percentile(wd, 50),
      worker_draw_p99_ms: percentile(wd, 99),
      presented_p50_ms: percentile(pr, 50),
      presented_p99_ms: percentile(pr, 99),
      presented_over_8_3ms: pr.filter((t) => t > 8.3).length,
    } : {}),
    blocks_fetched: cells.fetchCount,
    ...(detail ? { records, frame_times: frames } : {}),
  };
}

main().catch((err) => {
  (window as unknown as { __frameBench: unknown }).__frameBench = { error: String(err) };
});
