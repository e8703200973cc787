// Frame-time benchmark (not a test): headless chromium scrolls a 10,000 x 1,000 view for 10 s
// with each renderer and prints one JSON line per run.
//   node bench/frame-bench.mjs [seconds=10] [renderers=auto,webgpu,webgl2,canvas2d]
// Needs `npm run build` first (dist/bench.html).
import { serveStatic } from "../scripts/static-server.mjs";
import { launch } from "../scripts/browser.mjs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const seconds = Number(process.argv[2] ?? 10);
const renderers = (process.argv[3] ?? "auto,webgpu,webgl2,canvas2d").split(",");
const { server, port } = await serveStatic(join(here, "..", "dist"));
try {
  for (const renderer of renderers) {
    const webgpu = renderer === "webgpu" || renderer === "auto";
    const browser = await launch({ webgpu });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const query = renderer === "auto" ? "" : `renderer=${renderer}&`;
      await page.goto(`http://127.0.0.1:${port}/bench.html?${query}seconds=${seconds}`);
      await page.waitForFunction(() => window.__frameBench, null, { timeout: (seconds + 60) * 1000, polling: 500 });
      const result = await page.evaluate(() => window.__frameBench);
      console.log(JSON.stringify({ bench: "grid_frame_time", requested: renderer, chromium_flags: webgpu ? "--enable-unsafe-webgpu" : "--disable-gpu", ...result }));
    } finally {
      await browser.close();
    }
  }
} finally {
  server.close();
}
