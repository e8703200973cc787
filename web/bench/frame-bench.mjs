// Frame-time benchmark (not a test): headless chromium scrolls a 10,000 x 1,000 view for 10 s
// with each renderer and prints one JSON line per run, then the ratios to the DOM peer.
//   node bench/frame-bench.mjs [seconds=10] [renderers=auto,auto+uncapped,floor+uncapped,webgpu,webgl2,canvas2d,dom,dom+uncapped]
// auto: the automatic choice with the default flags (no WebGPU adapter without
// --enable-unsafe-webgpu, software WebGL2 skipped); webgpu: with --enable-unsafe-webgpu;
// webgl2: forced even on SwiftShader; worker: Canvas2D drawing in a Worker (OffscreenCanvas);
// dom: the peer (the same snapshots drawn as divs); floor: the floor (bench-floor.html,
// src/bench/floor.ts: the same scroll drawn with nothing but our technique, the least any grid
// drawn this way costs here).
// A "+uncapped" suffix (auto+uncapped, dom+uncapped) launches chromium without vsync and frame
// rate limit: rAF-to-rAF intervals then show how fast the whole pipeline can go, past 60 FPS.
// Each run is divided by the DOM peer's and by the floor's under the same flags, when they ran.
// Needs `npm run build` first (dist/bench.html). FRAME_BENCH_QUERY adds page parameters (not to
// the floor's page).
import { serveStatic } from "../scripts/static-server.mjs";
import { launch } from "../scripts/browser.mjs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const seconds = Number(process.argv[2] ?? 10);
const renderers = (process.argv[3] ?? "auto,auto+uncapped,floor+uncapped,webgpu,webgl2,canvas2d,dom,dom+uncapped").split(",");
const results = [];
// FRAME_BENCH_DIST: another build of dist/ (alternate old and new builds in one window).
const { server, port } = await serveStatic(process.env.FRAME_BENCH_DIST ?? join(here, "..", "dist"));
try {
  for (const requested of renderers) {
    const [renderer, mode] = requested.split("+");
    const webgpu = renderer === "webgpu";
    const uncapped = mode === "uncapped";
    const browser = await launch({ webgpu, uncapped });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const query = renderer === "auto" || renderer === "floor" ? "" : renderer === "worker" ? "renderer=canvas2d&worker=1&" : `renderer=${renderer}&`;
      const extra = renderer === "floor" || !process.env.FRAME_BENCH_QUERY ? "" : `${process.env.FRAME_BENCH_QUERY}&`;
      const html = renderer === "floor" ? "bench-floor.html" : "bench.html";
      await page.goto(`http://127.0.0.1:${port}/${html}?${query}${extra}seconds=${seconds}`);
      await page.waitForFunction(() => window.__frameBench, null, { timeout: (seconds + 60) * 1000, polling: 500 });
      const result = await page.evaluate(() => window.__frameBench);
      const flags = (webgpu ? "--enable-unsafe-webgpu" : "--disable-gpu") + (uncapped ? " --disable-gpu-vsync --disable-frame-rate-limit" : "");
      const line = { bench: "grid_frame_time", requested, chromium_flags: flags, ...result };
      results.push(line);
      console.log(JSON.stringify(line));
    } finally {
      await browser.close();
    }
  }
} finally {
  server.close();
}
// Each run is compared with the DOM peer and with the floor run under the same flags (capped or
// uncapped): ratios to the peer (how much cheaper than DOM) and to the floor (how far above the
// least this technique costs here).
const ratios = (bench, base) => {
  for (const r of results) {
    const uncapped = r.requested.endsWith("+uncapped");
    const ref = results.find((p) => p.requested === (uncapped ? `${base}+uncapped` : base));
    if (!ref || r === ref || r.error || r.renderer === "floor") continue;
    const ratio = (k) => Math.round((r[k] / ref[k]) * 1000) / 1000;
    console.log(JSON.stringify({ bench, requested: r.requested, renderer: r.renderer,
      work_p50: ratio("work_p50_ms"), work_p99: ratio("work_p99_ms"), frame_p50: ratio("frame_p50_ms"), frame_p99: ratio("frame_p99_ms"),
      interval_p50: ratio("interval_p50_ms"), interval_p99: ratio("interval_p99_ms") }));
  }
};
ratios("grid_frame_time_ratio_to_dom", "dom");
ratios("grid_frame_time_ratio_to_floor", "floor");
