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

/**
 * The benchmark's view with Canvas2D, set up, with two helpers in the page: the pixels of the
 * page shown (`__shownPixels`) and how many pixels two RGBA buffers differ in (`__diffRgb`).
 */
async function openBench() {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on("pageerror", (e) => console.log("pageerror:", e.message));
  await page.addInitScript(() => {
    // The renderer draws into two stacked canvases (pages) in turn; the one drawn last is shown.
    window.__shownPixels = () => {
      const c = window.__benchView.renderer.shown;
      return c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    };
    window.__diffRgb = (a, b) => {
      let diff = 0;
      for (let i = 0; i < a.length; i += 4) if (a[i] !== b[i] || a[i + 1] !== b[i + 1] || a[i + 2] !== b[i + 2]) diff++;
      return diff;
    };
  });
  await page.goto(`http://127.0.0.1:${port}/bench.html?renderer=canvas2d&seconds=0.2`);
  await page.waitForFunction(() => window.__frameBench, null, { timeout: 60_000 });
  return page;
}

test("scrolling by copying pixels paints what a full repaint paints", async () => {
  const page = await openBench();
  const results = await page.evaluate(async () => {
    const v = window.__benchView;
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
      const copied = window.__shownPixels();
      v.invalidate();
      v.drawNow();
      const diff = window.__diffRgb(copied, window.__shownPixels());
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
  // What the page shows (a screenshot: which of the two canvases is visible) after a copied
  // scroll step equals a full repaint of the same frame; two steps, so each of the two
  // canvases is the one shown once.
  const shownPages = new Set();
  for (let i = 0; i < 2; i++) {
    shownPages.add(await page.evaluate((i) => {
      const v = window.__benchView;
      const s = v.currentScroll;
      v.setScroll({ x: s.x + 37, y: s.y + 113 - 150 * i });
      v.drawNow();
      // The two pages are the canvases stacked after the grid's own.
      return v.renderer.shown === v.canvas.nextElementSibling ? "first page" : "second page";
    }, i));
    const box = await page.locator("canvas[data-testid=grid-canvas]").boundingBox();
    const shot = await page.screenshot({ clip: box });
    const r = await page.evaluate(async (b64) => {
      const v = window.__benchView;
      v.invalidate();
      v.drawNow();
      const c = v.renderer.shown;
      const full = window.__shownPixels();
      const bmp = await createImageBitmap(await (await fetch(`data:image/png;base64,${b64}`)).blob());
      const o = new OffscreenCanvas(bmp.width, bmp.height);
      const octx = o.getContext("2d");
      octx.drawImage(bmp, 0, 0);
      const seen = octx.getImageData(0, 0, bmp.width, bmp.height).data;
      return { diff: window.__diffRgb(full, seen), size: [bmp.width, bmp.height, c.width, c.height] };
    }, shot.toString("base64"));
    assert.deepEqual(r.size.slice(0, 2), r.size.slice(2), "screenshot and canvas sizes");
    assert.equal(r.diff, 0, `step ${i}: the page after a copied scroll step differs from a full repaint in ${r.diff} pixels`);
  }
  assert.equal(shownPages.size, 2, "both pages were shown");
  await page.close();
});

test("a cell changed while a pending scroll hides it is repainted when the next frame shows it", async () => {
  const page = await openBench();
  const r = await page.evaluate(async () => {
    const v = window.__benchView;
    // Frame A painted with the cell (row, col) on screen, its blocks loaded.
    const a = { x: 5200, y: 48_000 };
    v.setScroll(a);
    v.drawNow();
    await new Promise((res) => setTimeout(res, 50));
    v.drawNow();
    const row = a.y / 24 + 10;
    const col = Math.floor(a.x / 104) + 5;
    // Scrolled far away (not painted), the cell changes: it is not on screen now.
    v.setScroll({ x: 60_000, y: 150_000 });
    const model = v.model;
    v.model = { ...model, cell: (r, c) => (r === row && c === col ? { ...model.cell(r, c), text: "changed" } : model.cell(r, c)) };
    v.damageCells([{ row, col }]);
    // Back near A before any paint: the next frame copies A's pixels, where the cell is stale.
    v.setScroll({ x: a.x + 37, y: a.y + 113 });
    v.drawNow();
    const copied = window.__shownPixels();
    v.invalidate();
    v.drawNow();
    return { diff: window.__diffRgb(copied, window.__shownPixels()) };
  });
  assert.equal(r.diff, 0, `${r.diff} pixels differ from a full repaint: the changed cell kept the copied pixels`);
  await page.close();
});
