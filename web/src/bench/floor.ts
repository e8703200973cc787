// The floor of the frame benchmark (bench-floor.html): the least any grid can cost per frame
// with our drawing technique, in this browser, on this machine. It is the reference the grid's
// figures are divided by (frame-bench.mjs prints the ratios), because no grid drawn this way can
// be faster than it: whatever we cost above it is ours to cut, whatever it costs is the
// browser's (style, paint, raster, the software compositor) and the machine's.
//
// What it does per animation frame, exactly the grid's technique with nothing else: two stacked
// 1280x800 canvases ({alpha: false}); the scroll follows the grid benchmark's path (one step of
// dx = 37, dy = 113 px per frame over a 1,000 x 10,000 grid of 104 x 24 cells, bouncing at the
// ends, clamped to the content like the grid); the hidden canvas gets the shown one's pixels
// shifted by the step (one drawImage), the exposed right or left strip and bottom or top strip
// are filled white and get one number "12345.00" per cell (fillText, 12px sans-serif; no grid
// lines, headers, clipping, alignment or data), then the two canvases swap visibility.
// Published on window.__frameBench with the grid page's names and meanings (frame-bench.ts):
// work (the animation-frame callback), frame (from the callback's start to the first task after
// the browser rendered the frame), interval (between animation frames).

import { frameFigures } from "./figures";
import { BouncingPath } from "./scroll-path";

const kWidth = 1280;
const kHeight = 800;
const kCellW = 104;
const kCellH = 24;

const seconds = Number(new URLSearchParams(location.search).get("seconds") ?? 10);
const canvases: HTMLCanvasElement[] = [];
for (let i = 0; i < 2; i++) {
  const c = document.createElement("canvas");
  c.width = kWidth;
  c.height = kHeight;
  c.style.cssText = `position:absolute;left:0;top:0;visibility:${i === 0 ? "visible" : "hidden"}`;
  document.body.append(c);
  canvases.push(c);
}
const contexts = canvases.map((c) => {
  const ctx = c.getContext("2d", { alpha: false }) as CanvasRenderingContext2D;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, kWidth, kHeight);
  return ctx;
});
let shown = 0;

// Paints the cells overlapping a strip of the screen at scroll (sx, sy): white, then a number
// per cell (its text runs past the strip, as a cell's would; the copy keeps what is visible).
function strip(ctx: CanvasRenderingContext2D, x: number, y: number, w: number, h: number, sx: number, sy: number): void {
  ctx.fillStyle = "#fff";
  ctx.fillRect(x, y, w, h);
  ctx.fillStyle = "#222";
  ctx.font = "12px sans-serif";
  const row0 = Math.floor((y + sy) / kCellH);
  const col0 = Math.floor((x + sx) / kCellW);
  for (let row = row0; row * kCellH - sy < y + h; row++)
    for (let col = col0; col * kCellW - sx < x + w; col++)
      ctx.fillText(`${(col * 7 + row * 13) % 100000}.00`, col * kCellW - sx + 4, row * kCellH - sy + 16);
}

const work: number[] = [];
const frames: number[] = [];
const intervals: number[] = [];
const channel = new MessageChannel();
let frameStart = 0;
channel.port1.onmessage = () => frames.push(performance.now() - frameStart);
// The grid benchmark's path, clamped to the content as the grid clamps its scroll.
const maxX = 1000 * kCellW;
const maxY = 10_000 * kCellH;
const path = new BouncingPath(maxX, maxY);
let sx = 0;
let sy = 0;
const start = performance.now();
let last = 0;

function step(now: number): void {
  if (last) intervals.push(now - last);
  last = now;
  const t0 = performance.now();
  frameStart = t0;
  path.step();
  const nx = Math.max(0, Math.min(maxX - kWidth, path.x));
  const ny = Math.max(0, Math.min(maxY - kHeight, path.y));
  const mx = nx - sx;
  const my = ny - sy;
  sx = nx;
  sy = ny;
  if (mx !== 0 || my !== 0) {
    const back = contexts[1 - shown];
    back.drawImage(canvases[shown], -mx, -my);
    if (mx !== 0) strip(back, mx > 0 ? kWidth - mx : 0, 0, Math.abs(mx), kHeight, sx, sy);
    if (my !== 0) strip(back, 0, my > 0 ? kHeight - my : 0, kWidth, Math.abs(my), sx, sy);
    canvases[1 - shown].style.visibility = "visible";
    canvases[shown].style.visibility = "hidden";
    shown = 1 - shown;
  }
  work.push(performance.now() - t0);
  channel.port2.postMessage(0);
  if (performance.now() - start < seconds * 1000) requestAnimationFrame(step);
  else setTimeout(publish, 50);
}

function publish(): void {
  (window as unknown as { __frameBench: unknown }).__frameBench = {
    renderer: "floor",
    frames: work.length,
    seconds,
    viewport: `${kWidth}x${kHeight}`,
    ...frameFigures(work, frames, intervals),
  };
}

requestAnimationFrame(step);
