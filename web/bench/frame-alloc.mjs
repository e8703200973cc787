// What the frame benchmark's pages allocate while they scroll (not a test): V8's sampling heap
// profiler over the scroll of bench.html (the grid) and bench-floor.html (the floor), counting
// objects later collected too, divided by the frames drawn. A page that allocates more than the
// floor pays for it in scavenges, and what it keeps for a while is promoted and costs full
// garbage collections: the slowest frames of the grid were those (docs/web.md).
//   node bench/frame-alloc.mjs [seconds=8] [pages=grid,floor]
// Needs `npm run build` first; FRAME_BENCH_DIST: another build of dist/ (before and after).
// Prints one JSON line per page: kb_per_frame, and the functions allocating most (names are the
// minified build's, with their file).
import { serveStatic } from "../scripts/static-server.mjs";
import { launch } from "../scripts/browser.mjs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const seconds = Number(process.argv[2] ?? 8);
const pages = (process.argv[3] ?? "grid,floor").split(",");
const unknown = pages.filter((p) => p !== "grid" && p !== "floor");
if (!Number.isFinite(seconds) || seconds <= 0 || unknown.length > 0) {
  console.error(`usage: node bench/frame-alloc.mjs [seconds > 0] [pages: grid,floor]; got seconds=${process.argv[2]}, unknown pages: ${unknown.join(",") || "none"}`);
  process.exit(2);
}
const { server, port } = await serveStatic(process.env.FRAME_BENCH_DIST ?? join(here, "..", "dist"));
try {
  for (const name of pages) {
    const browser = await launch({ uncapped: true });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const cdp = await page.context().newCDPSession(page);
      await cdp.send("HeapProfiler.enable");
      // Sampling starts before the page loads: its set-up is counted too, but it is small beside
      // a scroll of thousands of frames.
      await cdp.send("HeapProfiler.startSampling", {
        samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true,
      });
      await page.goto(`http://127.0.0.1:${port}/${name === "floor" ? "bench-floor.html" : "bench.html"}?seconds=${seconds}`);
      await page.waitForFunction(() => window.__frameBench, null, { timeout: (seconds + 60) * 1000, polling: 500 });
      const { profile } = await cdp.send("HeapProfiler.stopSampling");
      const result = await page.evaluate(() => window.__frameBench);
      const bySite = new Map();
      let total = 0;
      const walk = (node) => {
        if (node.selfSize > 0) {
          const f = node.callFrame;
          const site = `${f.functionName || "(anonymous)"} ${f.url.split("/").pop() || "(native)"}`;
          bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
          total += node.selfSize;
        }
        for (const child of node.children) walk(child);
      };
      walk(profile.head);
      const top = [...bySite.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([site, bytes]) => ({ site, mb: Math.round(bytes / 1e4) / 100 }));
      console.log(JSON.stringify({
        bench: "grid_frame_alloc", page: name, frames: result.frames, allocated_mb: Math.round(total / 1e4) / 100,
        kb_per_frame: Math.round(total / result.frames / 10) / 100, frame_p99_ms: result.frame_p99_ms, top,
      }));
    } finally {
      await browser.close();
    }
  }
} finally {
  server.close();
}
