// Frame-time benchmark (not a test): headless chromium scrolls a 10,000 x 1,000 view for 10 s
// with each renderer and prints one JSON line per run, then the ratios to the DOM peer.
//   node bench/frame-bench.mjs [seconds=10] [renderers=auto,webgpu,webgl2,canvas2d,dom]
// auto: the automatic choice with the default flags (no WebGPU adapter without
// --enable-unsafe-webgpu, software WebGL2 skipped); webgpu: with --enable-unsafe-webgpu;
// webgl2: forced even on SwiftShader; dom: the peer (the same snapshots drawn as divs).
// Needs `npm run build` first (dist/bench.html).
import { serveStatic } from "../scripts/static-server.mjs";
import { launch } from "../scripts/browser.mjs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const seconds = Number(process.argv[2] ?? 10);
const renderers = (process.argv[3] ?? "auto,webgpu,webgl2,canvas2d,dom").split(",");
const results = [];
const { server, port } = await serveStatic(join(here, "..", "dist"));
try {
  for (const renderer of renderers) {
    const webgpu = renderer === "webgpu";
    const browser = await launch({ webgpu });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const query = renderer === "auto" ? "" : `renderer=${renderer}&`;
      await page.goto(`http://127.0.0.1:${port}/bench.html?${query}seconds=${seconds}`);
      await page.waitForFunction(() => window.__frameBench, null, { timeout: (seconds + 60) * 1000, polling: 500 });
      const result = await page.evaluate(() => window.__frameBench);
      const line = { bench: "grid_frame_time", requested: renderer, chromium_flags: webgpu ? "--enable-unsafe-webgpu" : "--disable-gpu", ...result };
      results.push(line);
      console.log(JSON.stringify(line));
    } finally {
      await browser.close();
    }
  }
} finally {
  server.close();
}
const peer = results.find((r) => r.requested === "dom");
if (peer) {
  for (const r of results) {
    if (r === peer || r.error) continue;
    const ratio = (k) => Math.round((r[k] / peer[k]) * 1000) / 1000;
    console.log(JSON.stringify({ bench: "grid_frame_time_ratio_to_dom", requested: r.requested, renderer: r.renderer,
      work_p50: ratio("work_p50_ms"), work_p99: ratio("work_p99_ms"), frame_p50: ratio("frame_p50_ms"), frame_p99: ratio("frame_p99_ms") }));
  }
}
