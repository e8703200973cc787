// Column resize on the GPU renderers. A real mouse drag on a column header's right border in the
// synthetic 10,000 x 1,000 view (bench.html, served from dist/) must move every border right of
// it. The expected borders are computed here from the widths (brute-force running sums):
//   WebGL2 (SwiftShader here): found in a screenshot, as the grid-line pixels of a body row;
//   WebGPU: a WebGPU canvas shows as blank to screenshots in this headless Chromium, so the test
//     reads the rectangles the renderer uploaded (its instance data): each body cell's
//     background rectangle. (Its pixels are compared with Canvas2D's in gpu-pixels.e2e.mjs.)
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { launch } from "../scripts/browser.mjs";
import { serveStatic } from "../scripts/static-server.mjs";

const kViewport = { width: 900, height: 400 };
const kRowHeaderWidth = 180; // two row levels (region, product)
const kHeaderWidth = 2 * kRowHeaderWidth;
const kHeaderHeight = 24; // one column level
const kColWidth = 104;
const kRowHeight = 24;
const kGridLine = [0xd9, 0xdd, 0xe3];

let server;
let port;

before(async () => {
  ({ server, port } = await serveStatic(join(import.meta.dirname, "..", "dist")));
});

after(() => server?.close());

/** Opens the view with a renderer at scroll (0, 0) and drags column `col`'s right border by `by` px. */
async function openAndDrag(browser, renderer, col, by) {
  const page = await browser.newPage({ viewport: kViewport });
  page.on("pageerror", (e) => console.log("pageerror:", e.message));
  await page.goto(`http://127.0.0.1:${port}/bench.html?renderer=${renderer}&seconds=0`);
  await page.waitForFunction(() => window.__frameBench, null, { timeout: 60_000 });
  assert.equal(await page.evaluate(() => window.__benchView.rendererKind), renderer);
  await page.evaluate(() => {
    window.__benchView.setScroll({ x: 0, y: 0 });
    window.__benchView.drawNow();
  });
  const border = kHeaderWidth + (col + 1) * kColWidth - 1;
  await page.mouse.move(border, kHeaderHeight / 2);
  await page.mouse.down();
  await page.mouse.move(border + by / 2, kHeaderHeight / 2, { steps: 2 });
  await page.mouse.move(border + by, kHeaderHeight / 2, { steps: 2 });
  await page.mouse.up();
  await page.evaluate(() => window.__benchView.drawNow());
  return page;
}

/** The right borders (x of the grid-line pixel) of the body columns left of `limit`. */
function expectedBorders(widths, limit) {
  const out = [];
  let x = kHeaderWidth;
  for (const w of widths) {
    x += w;
    if (x - 1 >= limit) break;
    out.push(x - 1);
  }
  return out;
}

const widthsAfter = (col, by) => Array.from({ length: 20 }, (_, c) => (c === col ? kColWidth + by : kColWidth));

test("column resize on WebGL2: the screenshot's grid lines move with the dragged border", async () => {
  const browser = await launch();
  try {
    const page = await openAndDrag(browser, "webgl2", 1, 60);
    const png = await page.screenshot();
    // Decode the screenshot in the page; read one pixel row of a body row, above its text.
    const y = kHeaderHeight + 5 * kRowHeight + 2;
    const row = await page.evaluate(async ([b64, y]) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const bmp = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
      const c = new OffscreenCanvas(bmp.width, bmp.height);
      const ctx = c.getContext("2d");
      ctx.drawImage(bmp, 0, 0);
      return Array.from(ctx.getImageData(0, y, bmp.width, 1).data);
    }, [png.toString("base64"), y]);
    const lines = [];
    for (let x = kHeaderWidth; x < kViewport.width; x++) {
      const p = row.slice(x * 4, x * 4 + 3);
      if (p.every((v, i) => Math.abs(v - kGridLine[i]) <= 2)) lines.push(x);
    }
    assert.deepEqual(lines, expectedBorders(widthsAfter(1, 60), kViewport.width), "grid lines at the resized borders");
    await page.close();
  } finally {
    await browser.close();
  }
});

test("column resize on WebGPU: the uploaded cell rectangles follow the dragged border", async () => {
  const browser = await launch({ webgpu: true });
  try {
    const page = await openAndDrag(browser, "webgpu", 2, -50);
    // The rectangles the renderer uploaded: 12 floats each (x, y, w, h, uv, colour). A body
    // cell's background is the rectangle of the cell's height less its grid line (23 px) at
    // the cell's top; those of body row 5 are picked out and sorted by x.
    const y = kHeaderHeight + 5 * kRowHeight;
    const cells = await page.evaluate((y) => {
      const v = window.__benchView;
      const r = v.activeRenderer;
      const d = r.writer.data;
      const out = [];
      for (let i = 0; i < r.instanceCount; i++) {
        const o = i * 12;
        if (d[o + 1] === y && d[o + 3] === 23 && d[o] >= 360) out.push({ x: d[o], w: d[o + 2] });
      }
      return { out: out.sort((a, b) => a.x - b.x), scrollX: v.currentScroll.x };
    }, y);
    assert.equal(cells.scrollX, 0);
    const widths = widthsAfter(2, -50);
    let left = kHeaderWidth;
    assert.ok(cells.out.length >= 6, `${cells.out.length} cells in row 5`);
    for (const [col, { x, w }] of cells.out.entries()) {
      assert.equal(x, left, `column ${col} starts at ${left}`);
      assert.equal(w, widths[col] - 1, `column ${col} is ${widths[col]} px wide (its background 1 px less: the grid line)`);
      left += widths[col];
    }
    await page.close();
  } finally {
    await browser.close();
  }
});
