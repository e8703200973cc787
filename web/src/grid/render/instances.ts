// Instance data shared by the GPU renderers. Everything on screen is a textured rectangle: a
// solid rectangle samples the atlas's white texel, a glyph samples its place in the atlas.
// One instance is 12 floats: rect (x, y, w, h in CSS px), uv (u0, v0, u1, v1), colour (rgba).
//
// The buffer has a fixed slot range per visible cell (kSlotsPerCell instances), followed by the
// headers. A partial damage set rewrites only the damaged cells' slots; unused slots are
// zero-sized rectangles, which the rasteriser drops.

import { Mark, frameCell, type FrameSnapshot, type HeaderLabel } from "../frame";
import { cellRect, emptyRects, headerHeight, headerWidth } from "../geometry";
import { rangeContains } from "../selection";
import { kTheme } from "./renderer";

export const kFloatsPerInstance = 12;
const kGlyphSlots = 18;
/** Background, glyphs, 3 marks, pending underline, 4 border edges. */
export const kSlotsPerCell = 1 + kGlyphSlots + 3 + 1 + 4;

interface Glyph {
  readonly u0: number;
  readonly v0: number;
  readonly u1: number;
  readonly v1: number;
  /** Advance and height in CSS px. */
  readonly w: number;
  readonly h: number;
}

/** Printable ASCII plus the expander arrows and an ellipsis, drawn white on transparent. */
export class GlyphAtlas {
  readonly canvas: HTMLCanvasElement | OffscreenCanvas;
  private readonly glyphs = new Map<number, Glyph>();
  private readonly boldGlyphs = new Map<number, Glyph>();
  readonly white: readonly [number, number];
  readonly lineHeight = 16;

  constructor(dpr: number) {
    const chars: number[] = [];
    for (let c = 32; c < 127; c++) chars.push(c);
    chars.push(0x25b8, 0x25be, 0x2026);
    const cellW = 16;
    const perRow = 32;
    const rows = Math.ceil((chars.length * 2) / perRow) + 1;
    const width = Math.ceil(perRow * cellW * dpr);
    const height = Math.ceil(rows * this.lineHeight * dpr);
    const canvas = typeof OffscreenCanvas !== "undefined" ? new OffscreenCanvas(width, height) : document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext("2d") as CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D;
    ctx.scale(dpr, dpr);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, 4, 4);
    this.white = [2 / (perRow * cellW), 2 / (rows * this.lineHeight)];
    ctx.textBaseline = "middle";
    let slot = 1;
    for (const [font, map] of [[kTheme.font, this.glyphs], [kTheme.fontHeader, this.boldGlyphs]] as const) {
      ctx.font = font;
      for (const c of chars) {
        const ch = String.fromCharCode(c);
        const x = (slot % perRow) * cellW;
        const y = Math.floor(slot / perRow) * this.lineHeight;
        ctx.fillText(ch, x + 1, y + this.lineHeight / 2);
        const w = ctx.measureText(ch).width;
        map.set(c, {
          u0: (x + 1) / (perRow * cellW),
          v0: y / (rows * this.lineHeight),
          u1: (x + 1 + w) / (perRow * cellW),
          v1: (y + this.lineHeight) / (rows * this.lineHeight),
          w,
          h: this.lineHeight,
        });
        slot++;
      }
    }
    this.canvas = canvas;
  }

  glyph(code: number, bold: boolean): Glyph {
    const map = bold ? this.boldGlyphs : this.glyphs;
    return map.get(code) ?? (map.get(63) as Glyph);
  }

  textWidth(text: string, bold: boolean): number {
    let w = 0;
    for (let i = 0; i < text.length; i++) w += this.glyph(text.charCodeAt(i), bold).w;
    return w;
  }
}

const colorCache = new Map<string, readonly [number, number, number, number]>();

/** "#rgb", "#rrggbb" or "rgba(r,g,b,a)" to floats. */
export function parseColor(css: string): readonly [number, number, number, number] {
  let c = colorCache.get(css);
  if (c) return c;
  let r = 0, g = 0, b = 0, a = 1;
  if (css.startsWith("#")) {
    const hex = css.length === 4 ? [...css.slice(1)].map((d) => d + d).join("") : css.slice(1);
    r = parseInt(hex.slice(0, 2), 16) / 255;
    g = parseInt(hex.slice(2, 4), 16) / 255;
    b = parseInt(hex.slice(4, 6), 16) / 255;
  } else {
    const m = css.match(/[\d.]+/g) ?? [];
    [r, g, b] = m.slice(0, 3).map((v) => Number(v) / 255);
    a = m[3] !== undefined ? Number(m[3]) : 1;
  }
  c = [r, g, b, a];
  colorCache.set(css, c);
  return c;
}

export class InstanceWriter {
  data: Float32Array = new Float32Array(0);
  /** Instances written so far (the write position). */
  count = 0;

  constructor(public atlas: GlyphAtlas) {}

  reserve(instances: number): void {
    if (this.data.length < instances * kFloatsPerInstance) {
      const next = new Float32Array(Math.ceil(instances * 1.5) * kFloatsPerInstance);
      next.set(this.data);
      this.data = next;
    }
  }

  rect(x: number, y: number, w: number, h: number, color: string): void {
    const [r, g, b, a] = parseColor(color);
    const [u, v] = this.atlas.white;
    this.put(x, y, w, h, u, v, u, v, r, g, b, a);
  }

  empty(): void {
    this.put(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  }

  /** Writes up to `maxGlyphs` glyphs (truncated to `maxW`), returns how many it wrote. */
  text(text: string, x: number, yMid: number, maxW: number, color: string, alignRight: boolean, bold: boolean, maxGlyphs: number): number {
    const [r, g, b, a] = parseColor(color);
    // Glyphs that fit; when the text is cut, the last slot takes an ellipsis.
    const ellipsis = this.atlas.glyph(0x2026, bold);
    let n = Math.min(text.length, maxGlyphs);
    let cut = n < text.length;
    let width = 0;
    for (let i = 0; i < n; i++) {
      const w = this.atlas.glyph(text.charCodeAt(i), bold).w;
      if (width + w > maxW) {
        n = i;
        cut = true;
        break;
      }
      width += w;
    }
    if (cut) {
      while (n > 0 && (width + ellipsis.w > maxW || n + 1 > maxGlyphs)) width -= this.atlas.glyph(text.charCodeAt(--n), bold).w;
      width += ellipsis.w;
    }
    let cx = Math.round(alignRight ? x - width : x);
    const y = Math.round(yMid - this.atlas.lineHeight / 2);
    for (let i = 0; i < n; i++) {
      const gl = this.atlas.glyph(text.charCodeAt(i), bold);
      this.put(cx, y, gl.w, gl.h, gl.u0, gl.v0, gl.u1, gl.v1, r, g, b, a);
      cx += gl.w;
    }
    if (cut) {
      this.put(cx, y, ellipsis.w, ellipsis.h, ellipsis.u0, ellipsis.v0, ellipsis.u1, ellipsis.v1, r, g, b, a);
      n++;
    }
    return n;
  }

  private put(x: number, y: number, w: number, h: number, u0: number, v0: number, u1: number, v1: number, r: number, g: number, b: number, a: number): void {
    const d = this.data;
    const o = this.count * kFloatsPerInstance;
    d[o] = x; d[o + 1] = y; d[o + 2] = w; d[o + 3] = h;
    d[o + 4] = u0; d[o + 5] = v0; d[o + 6] = u1; d[o + 7] = v1;
    d[o + 8] = r; d[o + 9] = g; d[o + 10] = b; d[o + 11] = a;
    this.count++;
  }

  /** Writes the slots of one visible cell at its fixed position. */
  cell(frame: FrameSnapshot, row: number, col: number): void {
    const r = frame.range;
    const slot = ((row - r.firstRow) * (r.endCol - r.firstCol) + (col - r.firstCol)) * kSlotsPerCell;
    this.count = slot;
    const cell = frameCell(frame, row, col);
    const end = slot + kSlotsPerCell;
    if (!cell) {
      while (this.count < end) this.empty();
      return;
    }
    const rc = cellRect(frame.geometry, frame.scroll, row, col);
    const selected = frame.selection !== null && rangeContains(frame.selection, row, col);
    this.rect(rc.x, rc.y, rc.w - 1, rc.h - 1, selected ? kTheme.selectionBg : cell.bg);
    const glyphEnd = this.count + kGlyphSlots;
    if (cell.text) {
      const x = cell.alignRight ? rc.x + rc.w - kTheme.padding - 1 : rc.x + kTheme.padding;
      this.text(cell.text, x, rc.y + rc.h / 2, rc.w - 2 * kTheme.padding, cell.fg, cell.alignRight, false, kGlyphSlots);
    }
    while (this.count < glyphEnd) this.empty();
    const m = cell.marks;
    if (m & Mark.Comment) this.rect(rc.x + rc.w - 7, rc.y, 6, 6, kTheme.comment);
    else this.empty();
    if (m & Mark.Adjusted) this.rect(rc.x, rc.y + rc.h - 7, 6, 6, kTheme.adjusted);
    else this.empty();
    if (m & Mark.Held) this.rect(rc.x, rc.y, 3, rc.h - 1, kTheme.held);
    else this.empty();
    if (m & Mark.Pending) this.rect(rc.x + 4, rc.y + rc.h - 3, rc.w - 8, 1, kTheme.pending);
    else this.empty();
    const f = frame.focus;
    const border = f && f.row === row && f.col === col ? kTheme.focus : m & Mark.Failed ? kTheme.failed : null;
    if (border) {
      this.rect(rc.x, rc.y, rc.w - 1, 2, border);
      this.rect(rc.x, rc.y + rc.h - 3, rc.w - 1, 2, border);
      this.rect(rc.x, rc.y, 2, rc.h - 1, border);
      this.rect(rc.x + rc.w - 3, rc.y, 2, rc.h - 1, border);
    }
    while (this.count < end) this.empty();
  }

  /** Writes every cell and then the headers; returns the instance count. */
  full(frame: FrameSnapshot): number {
    const r = frame.range;
    const cells = (r.endRow - r.firstRow) * (r.endCol - r.firstCol);
    this.reserve(cells * kSlotsPerCell + 4096);
    for (let row = r.firstRow; row < r.endRow; row++) for (let col = r.firstCol; col < r.endCol; col++) this.cell(frame, row, col);
    this.count = cells * kSlotsPerCell;
    this.headers(frame);
    return this.count;
  }

  private headers(frame: FrameSnapshot): void {
    const g = frame.geometry;
    const hw = headerWidth(g);
    const hh = headerHeight(g);
    const labels = frame.rowHeaders.length + frame.colHeaders.length + frame.cornerLabels.length;
    this.reserve(this.count + 8 + labels * 40);
    // Beyond the last row and column: empty page (the canvas is cleared to the grid-line colour).
    for (const e of emptyRects(g, frame.scroll)) this.rect(e.x, e.y, e.w, e.h, kTheme.emptyBg);
    this.rect(0, hh, hw, g.viewportHeight - hh, kTheme.headerBg);
    this.rect(hw, 0, g.viewportWidth - hw, hh, kTheme.headerBg);
    const header = (h: HeaderLabel) => {
      const { x, y, w } = h.rect;
      if (w <= 0 || h.rect.h <= 0) return;
      this.rect(x + w - 1, y, 1, h.rect.h, kTheme.gridLine);
      this.rect(x, y + h.rect.h - 1, w, 1, kTheme.gridLine);
      const indent = kTheme.padding + h.depth * 12;
      const arrow = h.toggle === "open" ? "\u25BE " : h.toggle === "closed" ? "\u25B8 " : "";
      this.text(arrow + h.text, x + indent, y + Math.min(h.rect.h, g.rowHeight) / 2, Math.max(0, w - indent - kTheme.padding), kTheme.headerFg, false, false, 36);
    };
    frame.rowHeaders.forEach(header);
    frame.colHeaders.forEach(header);
    // The corner last: it covers the labels of a column scrolled under the row headers and of
    // a row scrolled under the column headers (rectangles are drawn in order, unclipped).
    this.rect(0, 0, hw, hh, kTheme.cornerBg);
    frame.cornerLabels.forEach((label, level) =>
      this.text(label, level * g.rowHeaderWidth + kTheme.padding, hh - g.rowHeight / 2, g.rowHeaderWidth - 2 * kTheme.padding, kTheme.headerFg, false, true, 32),
    );
  }
}
