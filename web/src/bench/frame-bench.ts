// Frame-time benchmark page: scrolls the synthetic 10,000 x 1,000 view for a while, one scroll
// step per animation frame, and publishes p50 / p99 of two figures on window.__frameBench:
//   work: scroll + frame snapshot + draw + waiting for the GPU to finish (our cost per frame);
//   interval: time between animation frames (what the browser delivered).
// Query: ?renderer=webgpu|webgl2|canvas2d (default: the automatic choice), &seconds=10.

import { GridView } from "../grid/grid-view";
import type { RendererKind } from "../grid/render/renderer";
import { syntheticModel } from "./synthetic";

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const renderer = (params.get("renderer") || undefined) as RendererKind | undefined;
  const seconds = Number(params.get("seconds") ?? 10);
  // finish=0 measures only the CPU side (the GPU work overlaps the next frames).
  const waitForGpu = params.get("finish") !== "0";
  const host = document.getElementById("grid") as HTMLElement;
  let view: GridView | null = null;
  const { model, cells } = syntheticModel((_, changed) => view?.damageCells(changed));
  view = new GridView(host, { renderer, onVisible: (range) => cells.ensure(range) });
  const kind = await view.ready;
  view.setModel(model);
  view.drawNow();
  await new Promise((r) => setTimeout(r, 200));

  const work: number[] = [];
  const intervals: number[] = [];
  let x = 0;
  let y = 0;
  let dx = 37;
  let dy = 113;
  const maxX = 1000 * 104;
  const maxY = 10_000 * 24;
  const start = performance.now();
  let last = start;
  let cellsPainted = 0;
  let waited = waitForGpu;
  await new Promise<void>((done) => {
    const step = async (now: number) => {
      intervals.push(now - last);
      last = now;
      const t0 = performance.now();
      x += dx;
      y += dy;
      if (x < 0 || x > maxX) dx = -dx;
      if (y < 0 || y > maxY) dy = -dy;
      view!.setScroll({ x, y });
      view!.drawNow();
      if (waitForGpu) waited = (await view!.finishGpu()) && waited;
      work.push(performance.now() - t0);
      cellsPainted = view!.framesPainted;
      if (performance.now() - start < seconds * 1000) requestAnimationFrame(step);
      else done();
    };
    requestAnimationFrame(step);
  });
  intervals.shift();
  const w = [...work].sort((a, b) => a - b);
  const iv = [...intervals].sort((a, b) => a - b);
  const g = view.geometry;
  (window as unknown as { __frameBench: unknown }).__frameBench = {
    renderer: kind,
    waited_for_gpu: waited,
    frames: work.length,
    seconds,
    view_rows: g.rowCount,
    view_cols: g.colCount,
    viewport: `${g.viewportWidth}x${g.viewportHeight}`,
    work_p50_ms: percentile(w, 50),
    work_p99_ms: percentile(w, 99),
    work_max_ms: w[w.length - 1],
    interval_p50_ms: percentile(iv, 50),
    interval_p99_ms: percentile(iv, 99),
    frames_painted: cellsPainted,
    blocks_fetched: cells.fetchCount,
  };
}

main().catch((err) => {
  (window as unknown as { __frameBench: unknown }).__frameBench = { error: String(err) };
});
