// What drawing a cell's number costs on a Canvas2D canvas (not a test): fillText against the
// two ways of avoiding text shaping, a glyph atlas (each character copied with drawImage from a
// sprite sheet) and one pre-rendered bitmap per string. Headless chromium, the benchmark's
// flags, a 1280 x 800 canvas, the cell font; each figure is the median of 7 batches of 2,000
// strings, rasterised (a getImageData of one pixel flushes the recorded operations).
//   node bench/text-cost.mjs
// Prints one JSON line: microseconds per string.
import { launch } from "../scripts/browser.mjs";

const browser = await launch({ uncapped: true });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.setContent("<canvas id=c width=1280 height=800></canvas>");
  const result = await page.evaluate(async () => {
    const canvas = document.getElementById("c");
    const ctx = canvas.getContext("2d", { alpha: false });
    const font = "12px sans-serif"; // kTheme.font
    ctx.font = font;
    ctx.textBaseline = "middle";
    ctx.textAlign = "right";
    ctx.fillStyle = "#1f2933";
    const kStrings = 2000;
    let seed = 1;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    // Numbers as formatNumber writes them: thousands separators, one decimal.
    const number = () => {
      const whole = Math.floor(random() * 100000).toString();
      let out = "";
      for (let i = 0; i < whole.length; i++) out += (i > 0 && (whole.length - i) % 3 === 0 ? "," : "") + whole[i];
      return `${out}.${Math.floor(random() * 10)}`;
    };
    const batch = () => Array.from({ length: kStrings }, number);
    const at = (i) => [200 + (i % 10) * 104, 12 + ((Math.floor(i / 10) * 24) % 768)];

    // The atlas: every character numbers use, one slot each, drawn once with fillText.
    const chars = "0123456789,.-()%KMB";
    const width = {};
    let slot = 0;
    for (const ch of chars) {
      width[ch] = ctx.measureText(ch).width;
      slot = Math.max(slot, Math.ceil(width[ch]) + 2);
    }
    const sheet = new OffscreenCanvas(slot * chars.length, 24);
    const sctx = sheet.getContext("2d");
    sctx.fillStyle = "#ffffff";
    sctx.fillRect(0, 0, sheet.width, sheet.height);
    Object.assign(sctx, { font, textBaseline: "middle", fillStyle: "#1f2933" });
    [...chars].forEach((ch, i) => sctx.fillText(ch, i * slot + 1, 12));
    const atlas = await createImageBitmap(sheet);

    const time = (draw, prepare = () => undefined) => {
      const runs = [];
      for (let k = 0; k < 7; k++) {
        const strings = batch();
        const prepared = prepare(strings);
        const t0 = performance.now();
        draw(strings, prepared);
        ctx.getImageData(0, 0, 1, 1);
        runs.push(performance.now() - t0);
      }
      runs.sort((a, b) => a - b);
      return Math.round((runs[3] / kStrings) * 1000 * 100) / 100;
    };
    const repeated = batch();
    return {
      fill_text_new_strings_us: time((s) => s.forEach((t, i) => ctx.fillText(t, ...at(i)))),
      fill_text_repeated_strings_us: time(() => repeated.forEach((t, i) => ctx.fillText(t, ...at(i)))),
      fill_rect_us: time((s) => s.forEach((_, i) => { const [x, y] = at(i); ctx.fillRect(x - 60, y - 10, 60, 20); })),
      atlas_draw_image_per_glyph_us: time((s) => s.forEach((t, i) => {
        let [x, y] = at(i);
        for (let j = t.length - 1; j >= 0; j--) {
          const k = chars.indexOf(t[j]);
          const w = Math.ceil(width[t[j]]);
          x -= width[t[j]];
          ctx.drawImage(atlas, k * slot + 1, 0, w, 24, Math.round(x), y - 12, w, 24);
        }
      })),
      // Bitmaps made before the clock starts: the cost of drawing a string already cached.
      string_bitmap_draw_image_us: time((s, bitmaps) => bitmaps.forEach((b, i) => { const [x, y] = at(i); ctx.drawImage(b, x - b.width, y - 12); }),
        (s) => s.slice(0, 200).map((t) => {
          const c = new OffscreenCanvas(Math.ceil(ctx.measureText(t).width) + 2, 24);
          const cctx = c.getContext("2d");
          Object.assign(cctx, { font, textBaseline: "middle", fillStyle: "#1f2933" });
          cctx.fillText(t, 1, 12);
          return c.transferToImageBitmap();
        }).flatMap((b) => Array(10).fill(b))),
    };
  });
  console.log(JSON.stringify({ bench: "canvas2d_text_cost", strings_per_batch: 2000, ...result }));
} finally {
  await browser.close();
}
