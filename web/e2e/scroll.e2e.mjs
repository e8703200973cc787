// Scrolling by copying pixels (the Canvas2D renderer moves what is already drawn and paints only
// the exposed strips) must give the very pixels a full repaint gives. The reference is a full
// repaint of the same frame in the same browser; the view is the synthetic 10,000 x 1,000 one of
// the frame benchmark (bench.html, two nested row dimensions), served from dist/.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { launch } from "../scripts/browser.mjs";
import { serveStatic } from "../scripts/static-server.mjs";

let browser;
let server;
let port;

before(async () => {
  ({ server, port } = await serveStatic(join(import.meta.dirname, "..", "dist")));
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.close();
});

test("scrolling by copying pixels paints what a full repaint paints", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on("pageerror", (e) => console.log("pageerror:", e.message));
  await page.goto(`http://127.0.0.1:${port}/bench.html?renderer=canvas2d&seconds=0.2`);
  await page.waitForFunction(() => window.__frameBench, null, { timeout: 60_000 });
  const results = await page.evaluate(async () => {
    const v = window.__benchView;
    const ctx = v.canvas.getContext("2d");
    const W = v.canvas.width;
    const H = v.canvas.height;
    const out = [];
    let x = 3000;
    let y = 30_000;
    // Down-right, left only, up only, small diagonal up, a big jump down-left (bigger than
    // half the body), and a step across a region boundary (the pinned outer label moves).
    const steps = [[37, 113], [-50, 0], [0, -77], [13, -5], [-400, 300], [0, 2400 - 30_300 % 2400 + 7]];
    for (const [dx, dy] of steps) {
      x += dx;
      y += dy;
      v.setScroll({ x, y });
      v.drawNow();
      // Blocks arrive: their cells are damaged and painted over the copied pixels.
      await new Promise((r) => setTimeout(r, 20));
      v.drawNow();
      // Selection damage on a scrolled frame.
      const r0 = Math.floor(y / 24) + 3;
      const c0 = Math.floor(x / 104) + 2;
      v.select({ type: "click", cell: { row: r0, col: c0 }, extend: false });
      v.select({ type: "click", cell: { row: r0 + 2, col: c0 + 1 }, extend: true });
      v.drawNow();
      const painted = v.renderer.lastPainted;
      const copied = ctx.getImageData(0, 0, W, H).data;
      v.invalidate();
      v.drawNow();
      const full = ctx.getImageData(0, 0, W, H).data;
      let diff = 0;
      for (let i = 0; i < copied.length; i += 4)
        if (copied[i] !== full[i] || copied[i + 1] !== full[i + 1] || copied[i + 2] !== full[i + 2]) diff++;
      out.push({ dx, dy, diff, painted, fullPainted: v.renderer.lastPainted });
    }
    // One plain scroll step after a full repaint: only the exposed strips are painted.
    v.setScroll({ x: x + 37, y: y + 113 });
    v.drawNow();
    out.push({ step: true, painted: v.renderer.lastPainted });
    return out;
  });
  for (const r of results.slice(0, -1)) assert.equal(r.diff, 0, `scroll by (${r.dx}, ${r.dy}): ${r.diff} pixels differ from a full repaint`);
  const step = results.at(-1);
  // 113 px down exposes 5-6 rows of 13 columns, 37 px right 1-2 columns of 33 rows; a full
  // repaint paints about 33 x 13 = 430 cells.
  assert.ok(step.painted < 160, `one scroll step painted ${step.painted} cells`);
  await page.close();
});
