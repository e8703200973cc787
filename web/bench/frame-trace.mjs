// What the slow frames contain (not a test): runs the frame benchmark page under Chromium
// tracing (devtools.timeline, v8.gc, the frame and raster categories) and attributes every
// animation-frame interval to threads and events, then compares the intervals over the
// 120 FPS budget (8.3 ms) with the rest. Prints one JSON line per run.
//   node bench/frame-trace.mjs [seconds=5] [renderer=auto|floor|...] [uncapped=1] [viewport=1280x800]
// (a smaller viewport shows what scales with the canvas's area: copies, commit, compositing).
// For each group of intervals (slow / fast) it reports, per interval on average:
//   main_busy: wall time of the renderer main thread's top-level tasks inside the interval;
//   raf_cpu: the CPU time of the animation frame callback (our work: scroll, snapshot, draw);
//   main_cpu: the CPU time of the same tasks (wall minus CPU = the thread was descheduled:
//     other processes had the core);
//   raf, gc, style_layout, paint, commit: main-thread time in those events (commit_cpu: its
//     CPU time; the rest of commit's wall time is waiting for the compositor thread);
//   produce: Canvas2DResourceProvider::ProduceCanvasResource, the copy of a changed canvas
//     handed to the compositor (inside commit);
//   compositor, raster, viz: busy wall time of those threads (the compositor thread, the
//     raster workers, the display compositor in the GPU process);
//   idle: interval minus main_busy (the main thread waited for the next frame).
// Needs `npm run build` first (dist/bench.html).
import { serveStatic } from "../scripts/static-server.mjs";
import { launch } from "../scripts/browser.mjs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const seconds = Number(process.argv[2] ?? 5);
const renderer = process.argv[3] ?? "auto";
const uncapped = (process.argv[4] ?? "1") === "1";
const [vw, vh] = (process.argv[5] ?? "1280x800").split("x").map(Number);
const kBudgetUs = 8300;

const categories = [
  "devtools.timeline", "v8.gc", "disabled-by-default-devtools.timeline", "disabled-by-default-devtools.timeline.frame",
  "toplevel", "cc", "viz", "gpu", "blink",
];

// FRAME_BENCH_DIST: another build of dist/ (alternate old and new builds in one window).
const { server, port } = await serveStatic(process.env.FRAME_BENCH_DIST ?? join(here, "..", "dist"));
const browser = await launch({ webgpu: renderer === "webgpu", uncapped });
let trace;
try {
  const page = await browser.newPage({ viewport: { width: vw, height: vh } });
  const query = renderer === "auto" || renderer === "floor" ? "" : renderer === "worker" ? "renderer=canvas2d&worker=1&" : `renderer=${renderer}&`;
  await browser.startTracing(page, { categories });
  // FRAME_BENCH_QUERY: more page parameters (e.g. detail=1).
  // floor: the benchmark's floor page (bench-floor.html), the same scroll with nothing but the technique.
  await page.goto(`http://127.0.0.1:${port}/${renderer === "floor" ? "bench-floor.html" : "bench.html"}?${query}${process.env.FRAME_BENCH_QUERY ?? ""}&seconds=${seconds}`);
  await page.waitForFunction(() => window.__frameBench, null, { timeout: (seconds + 60) * 1000, polling: 500 });
  var result = await page.evaluate(() => window.__frameBench);
  trace = JSON.parse((await browser.stopTracing()).toString());
} finally {
  await browser.close();
  server.close();
}

const events = Array.isArray(trace) ? trace : trace.traceEvents;
const threadName = new Map();
for (const e of events) if (e.ph === "M" && e.name === "thread_name") threadName.set(`${e.pid}:${e.tid}`, e.args.name);
const nameOf = (e) => threadName.get(`${e.pid}:${e.tid}`) ?? "";
// The renderer main thread is the one running the animation frames.
const rafs = events.filter((e) => e.name === "FireAnimationFrame" && e.ph === "X").sort((a, b) => a.ts - b.ts);
if (rafs.length < 10) throw new Error(`only ${rafs.length} animation frames in the trace`);
const main = `${rafs[0].pid}:${rafs[0].tid}`;
// Only the measured scroll: from the 5th frame to the last.
const frames = rafs.filter((e) => `${e.pid}:${e.tid}` === main).slice(5);

// Complete events per thread, sorted, for interval sums.
const byThread = new Map();
for (const e of events) {
  if (e.ph !== "X" || !e.dur) continue;
  const k = `${e.pid}:${e.tid}`;
  if (!byThread.has(k)) byThread.set(k, []);
  byThread.get(k).push(e);
}
for (const list of byThread.values()) list.sort((a, b) => a.ts - b.ts);

/** Sum over events (of one thread) of their overlap with [t0, t1), counting only outermost ones. */
function busy(list, t0, t1, pick = () => true, field = "dur") {
  let sum = 0;
  let coveredTo = -Infinity;
  for (const e of list) {
    if (e.ts >= t1) break;
    const end = e.ts + e.dur;
    if (end <= t0 || !pick(e)) continue;
    if (e.ts < coveredTo) continue; // nested in one already counted
    coveredTo = end;
    const overlap = Math.min(end, t1) - Math.max(e.ts, t0);
    sum += field === "dur" ? overlap : (e.tdur ?? e.dur) * (overlap / e.dur);
  }
  return sum;
}

const mainList = byThread.get(main) ?? [];
const threadsNamed = (re) => [...byThread.keys()].filter((k) => re.test(threadName.get(k) ?? ""));
const compositor = threadsNamed(/^Compositor$/);
const raster = threadsNamed(/CompositorTileWorker|RasterWorker/);
const viz = threadsNamed(/VizCompositorThread|CrGpuMain/);
const named = (re) => (e) => re.test(e.name);
const isGc = named(/GC|Scavenge|MarkCompact|V8\.GC/);
const isStyleLayout = named(/^(UpdateLayoutTree|Layout|RecalculateStyles|UpdateLayerTree)$/);
const isPaint = named(/^(Paint|PrePaint|PaintImage|Layerize)$/);
const isCommit = named(/^(Commit|ProxyMain::BeginMainFrame::commit|CommitLayers)$/);
const isTopLevel = (e) => e.cat.includes("toplevel") || e.name === "RunTask" || e.name === "ThreadControllerImpl::RunTask";

const rows = [];
for (let i = 1; i < frames.length; i++) {
  const t0 = frames[i - 1].ts;
  const t1 = frames[i].ts;
  const sumOver = (keys) => keys.reduce((s, k) => s + busy(byThread.get(k), t0, t1), 0);
  const mainBusy = busy(mainList, t0, t1, isTopLevel);
  rows.push({
    interval: t1 - t0,
    main_busy: mainBusy,
    main_cpu: busy(mainList, t0, t1, isTopLevel, "tdur"),
    raf: busy(mainList, t0, t1, named(/^FireAnimationFrame$/)),
    raf_cpu: busy(mainList, t0, t1, named(/^FireAnimationFrame$/), "tdur"),
    gc: busy(mainList, t0, t1, isGc),
    style_layout: busy(mainList, t0, t1, isStyleLayout),
    paint: busy(mainList, t0, t1, isPaint),
    commit: busy(mainList, t0, t1, isCommit),
    commit_cpu: busy(mainList, t0, t1, isCommit, "tdur"),
    produce: busy(mainList, t0, t1, named(/^Canvas2DResourceProvider::ProduceCanvasResource$/)),
    compositor: sumOver(compositor),
    raster: sumOver(raster),
    viz: sumOver(viz),
    idle: t1 - t0 - mainBusy,
  });
}
const ms = (us) => Math.round(us / 10) / 100;
function summary(group) {
  const out = { intervals: group.length };
  if (group.length === 0) return out;
  for (const k of Object.keys(group[0])) out[`${k}_ms`] = ms(group.reduce((s, r) => s + r[k], 0) / group.length);
  return out;
}
// CPU time per interval does not depend on what else the machine runs (wall time does).
const pct = (k, p) => { const v = rows.map((r) => r[k]).sort((a, b) => a - b); return ms(v[Math.min(v.length - 1, Math.floor(p / 100 * v.length))]); };
const cpu = {};
for (const k of ["interval", "main_busy", "main_cpu", "raf", "raf_cpu", "commit_cpu", "produce", "compositor", "viz"]) { cpu[`${k}_p50_ms`] = pct(k, 50); cpu[`${k}_p99_ms`] = pct(k, 99); }
const slow = rows.filter((r) => r.interval > kBudgetUs);
const worst = [...rows].sort((a, b) => b.interval - a.interval).slice(0, Math.max(1, Math.ceil(rows.length / 100)));
console.log(JSON.stringify({
  bench: "grid_frame_trace", renderer: result.renderer, uncapped, seconds, viewport: `${vw}x${vh}`, work_p99_ms: result.work_p99_ms,
  interval_p50_ms: result.interval_p50_ms, interval_p99_ms: result.interval_p99_ms,
  per_interval: cpu,
  // A canvas copied into fresh memory pays a page fault per 4 KiB (about 1,000 for 1280 x 800).
  produce_over_3ms: rows.filter((r) => r.produce > 3000).length, intervals: rows.length,
  threads: { compositor: compositor.length, raster: raster.length, viz: viz.length },
  slow: summary(slow), worst_1pct: summary(worst), fast: summary(rows.filter((r) => r.interval <= kBudgetUs)),
}));
