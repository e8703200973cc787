// The WebGPU renderer's pixels against Canvas2D's, on the same fixed small view of the synthetic
// 10,000 x 1,000 view (bench.html, served from dist/). Headless Chromium here shows a WebGPU
// canvas as blank (to screenshots and drawImage) and presenting to it breaks mapAsync, so the
// WebGPU renderer draws into a texture (`gpureadback=1`) that is read back; everything else (the
// pipeline, the instance data, the glyph atlas, partial damage) is the renderer's own.
// The reference is the Canvas2D renderer (itself checked against full repaints and screenshots
// in scroll.e2e.mjs). Text is rasterised differently (a glyph atlas sampled by the GPU against
// fillText), so the comparison is exact where there is no text and, per cell, on the text's ink:
// where it is (its bounding box) and how much of it there is.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { launch } from "../scripts/browser.mjs";
import { serveStatic } from "../scripts/static-server.mjs";

const kViewport = { width: 640, height: 400 };
const kHeaderWidth = 360; // two row levels of 180 px
const kHeaderHeight = 24;
const kColWidth = 104;
const kRowHeight = 24;

let server;
let port;
let browser;

before(async () => {
  ({ server, port } = await serveStatic(join(import.meta.dirname, "..", "dist")));
  browser = await launch({ webgpu: true });
});

after(async () => {
  await browser?.close();
  server?.close();
});

/**
 * Opens the view with `renderer`, and for each step scrolls, waits for its blocks, selects a
 * range (partial damage), and returns the frame's RGBA pixels (base64) per step.
 */
async function framesOf(renderer, steps) {
  const page = await browser.newPage({ viewport: kViewport });
  page.on("pageerror", (e) => console.log("pageerror:", e.message));
  const extra = renderer === "webgpu" ? "&gpureadback=1&finish=0" : "";
  await page.goto(`http://127.0.0.1:${port}/bench.html?renderer=${renderer}&seconds=0${extra}`);
  await page.waitForFunction(() => window.__frameBench, null, { timeout: 60_000 });
  assert.equal(await page.evaluate(() => window.__benchView.rendererKind), renderer);
  const out = [];
  for (const s of steps) {
    out.push(await page.evaluate(async ({ x, y, sel }) => {
      const v = window.__benchView;
      v.setScroll({ x, y });
      v.drawNow();
      await new Promise((r) => setTimeout(r, 50)); // blocks arrive: damaged cells repaint
      v.drawNow();
      v.select({ type: "click", cell: sel[0], extend: false });
      v.select({ type: "click", cell: sel[1], extend: true });
      v.drawNow();
      const r = v.renderer;
      let data;
      let width;
      let height;
      if (r.kind === "webgpu") ({ data, width, height } = await r.readPixels());
      else {
        const c = r.shown;
        ({ width, height } = c);
        data = c.getContext("2d").getImageData(0, 0, width, height).data;
      }
      let s = "";
      for (let i = 0; i < data.length; i += 0x8000) s += String.fromCharCode(...data.subarray(i, i + 0x8000));
      return { width, height, b64: btoa(s) };
    }, s));
  }
  await page.close();
  return out.map((f) => ({ width: f.width, height: f.height, data: Buffer.from(f.b64, "base64") }));
}

const luminance = (d, i) => 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];

/** Dark pixels (text ink) inside a rectangle: count and bounding box. */
function ink(f, x0, y0, x1, y1) {
  let count = 0;
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (let y = y0; y < y1; y++)
    for (let x = x0; x < x1; x++) {
      if (luminance(f.data, (y * f.width + x) * 4) >= 140) continue;
      count++;
      minX = Math.min(minX, x);
      maxX = Math.max(maxX, x);
      minY = Math.min(minY, y);
      maxY = Math.max(maxY, y);
    }
  return { count, minX, maxX, minY, maxY };
}

test("WebGPU draws the pixels Canvas2D draws: backgrounds, grid lines, selection, text", async () => {
  // Top left, and a scrolled view that is not aligned to cells, each with a selection.
  const steps = [
    { x: 0, y: 0, sel: [{ row: 2, col: 1 }, { row: 4, col: 2 }] },
    { x: 3037, y: 30_113, sel: [{ row: 1257, col: 30 }, { row: 1259, col: 31 }] },
  ];
  const gpu = await framesOf("webgpu", steps);
  const ref = await framesOf("canvas2d", steps);
  for (let k = 0; k < steps.length; k++) {
    const a = gpu[k];
    const b = ref[k];
    assert.deepEqual([a.width, a.height], [b.width, b.height], "frame sizes");
    // Pixels far from any text (no dark pixel within 3 px in the reference) must match.
    const W = b.width;
    const H = b.height;
    const dark = new Uint8Array(W * H);
    for (let i = 0; i < W * H; i++) dark[i] = luminance(b.data, i * 4) < 200 || luminance(a.data, i * 4) < 200 ? 1 : 0;
    let compared = 0;
    let differ = 0;
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        let nearText = false;
        for (let yy = Math.max(0, y - 3); yy <= Math.min(H - 1, y + 3) && !nearText; yy++)
          for (let xx = Math.max(0, x - 3); xx <= Math.min(W - 1, x + 3); xx++)
            if (dark[yy * W + xx]) {
              nearText = true;
              break;
            }
        if (nearText) continue;
        compared++;
        const i = (y * W + x) * 4;
        if (Math.max(Math.abs(a.data[i] - b.data[i]), Math.abs(a.data[i + 1] - b.data[i + 1]), Math.abs(a.data[i + 2] - b.data[i + 2])) > 2) differ++;
      }
    console.log(`step ${k}: ${compared} pixels away from text compared, ${differ} differ`);
    assert.ok(compared > W * H * 0.6, `step ${k}: only ${compared} pixels away from text`);
    assert.equal(differ, 0, `step ${k}: ${differ} of ${compared} pixels away from text differ`);
    // Text ink per body cell: same place (bounding box within 2 px) and amount (within 30%).
    const { x, y } = steps[k];
    let cells = 0;
    for (let cy = kHeaderHeight + (kRowHeight - (y % kRowHeight)) % kRowHeight; cy + kRowHeight <= H; cy += kRowHeight)
      for (let cx = kHeaderWidth + (kColWidth - (x % kColWidth)) % kColWidth; cx + kColWidth <= W; cx += kColWidth) {
        const ia = ink(a, cx + 1, cy + 1, cx + kColWidth - 2, cy + kRowHeight - 2);
        const ib = ink(b, cx + 1, cy + 1, cx + kColWidth - 2, cy + kRowHeight - 2);
        const where = `step ${k}, cell at (${cx}, ${cy})`;
        assert.ok(ib.count > 10, `${where}: the reference shows no text`);
        assert.ok(Math.abs(ia.count - ib.count) <= 0.3 * ib.count, `${where}: ink ${ia.count} vs ${ib.count} pixels`);
        for (const e of ["minX", "maxX", "minY", "maxY"]) assert.ok(Math.abs(ia[e] - ib[e]) <= 2, `${where}: ${e} ${ia[e]} vs ${ib[e]}`);
        cells++;
      }
    assert.ok(cells >= 15, `step ${k}: ${cells} whole cells compared`);
  }
});
