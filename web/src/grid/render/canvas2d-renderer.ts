// Canvas2D renderer: fillRect and fillText. With a partial damage set it repaints only the
// damaged cells, clipped to the body so nothing spills over the frozen headers. A scroll moves
// the pixels already drawn, paints only the body strips it exposes (see scrollBody), and
// repaints the headers.

import type { DamageSet } from "../damage";
import { Mark, frameCell, sameLayout, type CellDisplay, type FrameSnapshot, type HeaderLabel } from "../frame";
import { bodyViewport, cellRect, colAt, colLeft, colWidthOf, emptyRects, headerHeight, headerWidth, type Rect } from "../geometry";
import { rangeContains } from "../selection";
import type { GridRenderer } from "./renderer";
import { kTheme } from "./theme";

const kNumeric = /^[-0-9.,]*$/;

type Surface = HTMLCanvasElement | OffscreenCanvas;
type Context2d = CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D;

export class Canvas2dRenderer implements GridRenderer {
  readonly kind = "canvas2d" as const;
  readonly readsEveryCell = false;
  /** The context drawn into: the current page's or back buffer's, else the canvas's. */
  private ctx: Context2d;
  /** The canvas's own context, where the canvas shows the pixels (not with pages). */
  private readonly screen: Context2d | null = null;
  /**
   * Two surfaces drawn in turn: a scroll copies the last frame from one into the other, shifted,
   * and paints only what the scroll exposed (copying a canvas onto itself makes Chromium
   * snapshot it, which costs more than a frame). On a page they are two canvases stacked above
   * the given one, and only the one drawn last is displayed ("page flipping": the frame is
   * copied once). In a Worker they are two OffscreenCanvas back buffers and the
   * finished one is copied to the canvas (twice the copying; see docs/web.md). Null where
   * neither is possible: every scroll then repaints everything.
   */
  private readonly surfaces: [Surface, Surface] | null = null;
  private readonly contexts: Context2d[] = [];
  /**
   * On a page: the two canvases stacked above the given one (which then gets no context and
   * shows nothing: it keeps pointer events and focus). The one not shown is visibility:hidden,
   * as on the benchmark's floor page: display:none made every flip a style and layout change,
   * and in alternating runs the frame time was lower with visibility (p50 in 6 of 7 pairs, p99 in
   * 5 of 7; docs/web.md, "The floor"), although a hidden canvas keeps its compositor resource.
   */
  private readonly pages: [HTMLCanvasElement, HTMLCanvasElement] | null = null;
  private current = 0;
  private dpr = 1;
  /** The frame whose pixels are on the canvas (null after a resize cleared them). */
  private last: FrameSnapshot | null = null;
  /** Cells painted by the last draw (for tests and the benchmark). */
  lastPainted = 0;

  /** `canvas` is the page's canvas, or in a Worker the OffscreenCanvas it was transferred to. */
  constructor(private readonly canvas: Surface) {
    if (typeof HTMLCanvasElement !== "undefined" && canvas instanceof HTMLCanvasElement && canvas.parentElement !== null) {
      // Two pages stacked above the canvas; only pixels: pointer events, focus and the cursor
      // stay the canvas's. The page not shown is visibility:hidden (see `pages`).
      const pages: HTMLCanvasElement[] = [];
      for (let i = 0; i < 2; i++) {
        const page = document.createElement("canvas");
        page.style.cssText = canvas.style.cssText;
        page.style.pointerEvents = "none";
        page.style.visibility = i === 0 ? "visible" : "hidden";
        page.setAttribute("aria-hidden", "true");
        (i === 0 ? canvas : pages[0]).after(page);
        const pctx = page.getContext("2d", { alpha: false });
        if (!pctx) throw new Error("no 2d context for a page");
        pages.push(page);
        this.contexts.push(pctx);
      }
      this.pages = pages as [HTMLCanvasElement, HTMLCanvasElement];
      this.surfaces = this.pages;
      this.ctx = this.contexts[0];
      return;
    }
    // The canvas itself shows the pixels: it gets no context with pages, so it has no layer of
    // its own for the compositor to draw under them.
    const ctx = canvas.getContext("2d", { alpha: false }) as Context2d | null;
    if (!ctx) throw new Error("no 2d context");
    this.screen = ctx;
    this.ctx = ctx;
    if (typeof OffscreenCanvas !== "undefined") {
      const buffers: [OffscreenCanvas, OffscreenCanvas] = [new OffscreenCanvas(1, 1), new OffscreenCanvas(1, 1)];
      for (const b of buffers) {
        const bctx = b.getContext("2d", { alpha: false });
        if (!bctx) throw new Error("no 2d context for a back buffer");
        this.contexts.push(bctx);
      }
      this.surfaces = buffers;
      this.ctx = this.contexts[0];
    }
  }

  /** The canvas whose pixels are on screen now (tests read the frame from it). */
  get shown(): Surface {
    return this.pages ? this.pages[this.current] : this.canvas;
  }

  resize(width: number, height: number, dpr: number): void {
    this.dpr = dpr;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    if (this.pages)
      for (const p of this.pages) {
        p.style.width = `${width}px`;
        p.style.height = `${height}px`;
      }
    if (this.surfaces)
      for (const b of this.surfaces) {
        b.width = this.canvas.width;
        b.height = this.canvas.height;
      }
    // Both surfaces get their pixels now: the first scroll would otherwise pay for allocating
    // the one not drawn yet (the first scrolled frame took 40 ms in the benchmark).
    for (const c of this.contexts) {
      c.fillStyle = kTheme.emptyBg;
      c.fillRect(0, 0, this.canvas.width, this.canvas.height);
    }
    this.last = null;
  }

  draw(frame: FrameSnapshot, damage: DamageSet): void {
    const g = frame.geometry;
    const hw = headerWidth(g);
    const hh = headerHeight(g);
    const body = bodyViewport(g);
    const last = this.last;
    const dx = last ? frame.scroll.x - last.scroll.x : 0;
    const dy = last ? frame.scroll.y - last.scroll.y : 0;
    const moved = dx !== 0 || dy !== 0;
    const full = damage.isFull || last === null || !sameLayout(last, frame) || (moved && !this.canBlit(dx, dy, body));
    if (moved && !full) this.flip(dx, dy);
    const ctx = this.ctx;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.save();
    ctx.beginPath();
    ctx.rect(hw, hh, body.w, body.h);
    ctx.clip();
    ctx.font = kTheme.font;
    ctx.textBaseline = "middle";
    let painted = 0;
    const r = frame.range;
    if (full) {
      ctx.fillStyle = kTheme.gridLine;
      ctx.fillRect(hw, hh, body.w, body.h);
      painted += this.paintCells(frame, r.firstRow, r.endRow, r.firstCol, r.endCol);
    } else if (moved) {
      painted += this.scrollBody(frame, dx, dy, hw, hh, body);
    }
    if (!full) {
      damage.forEach((row, col) => {
        if (frameCell(frame, row, col)) {
          this.paintCell(frame, row, col);
          painted++;
        }
      });
    }
    // Beyond the last row and column: empty page, whichever way the rest was painted.
    ctx.fillStyle = kTheme.emptyBg;
    for (const e of emptyRects(g, frame.scroll)) ctx.fillRect(e.x, e.y, e.w, e.h);
    ctx.restore();
    this.lastPainted = painted;
    // After a scroll the headers are repainted whole (about 50 labels): flip() moved them with
    // the body, and body pixels moved into them.
    if (full || moved) this.paintHeaders(frame);
    this.last = frame;
    if (this.pages) {
      const [shown, hidden] = this.current === 0 ? this.pages : [this.pages[1], this.pages[0]];
      if (shown.style.visibility !== "visible") shown.style.visibility = "visible";
      if (hidden.style.visibility !== "hidden") hidden.style.visibility = "hidden";
    } else if (this.surfaces && this.screen) {
      this.screen.setTransform(1, 0, 0, 1, 0, 0);
      this.screen.imageSmoothingEnabled = false;
      this.screen.drawImage(this.surfaces[this.current], 0, 0);
    }
  }

  /**
   * Whether the pixels on the canvas can be moved by (dx, dy) CSS pixels: some of the body stays
   * visible and the shift is a whole number of device pixels (else the copy would be resampled).
   */
  private canBlit(dx: number, dy: number, body: { w: number; h: number }): boolean {
    return this.surfaces !== null && Math.abs(dx) < body.w && Math.abs(dy) < body.h && Number.isInteger(dx * this.dpr) && Number.isInteger(dy * this.dpr);
  }

  /**
   * Copies the last frame into the other buffer moved by the scroll (dx, dy), whole: one copy.
   * The body's pixels land where they belong. What lands elsewhere is painted over: the strips
   * the scroll exposed (scrollBody) cover what moved in from the headers, and the headers are
   * repainted whole. Copying the four regions apart (the corner in place, the row headers
   * vertically, the column headers horizontally) saved that repaint, but in nine alternating
   * pairs the single copy had the lower frame p50 in 7 and p99 in 6 (docs/web.md).
   */
  private flip(dx: number, dy: number): void {
    const from = (this.surfaces as [Surface, Surface])[this.current];
    this.current = 1 - this.current;
    const ctx = this.contexts[this.current];
    this.ctx = ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(from, -dx * this.dpr, -dy * this.dpr);
  }

  /**
   * Scrolls by copying: flip() moved the body pixels still visible by the scroll offset; only
   * the newly exposed strips are painted here, each clipped to its strip. Scrolling one step costs a few rows and columns of cells instead of
   * the whole body; fillText is what software rasterisation pays most for.
   */
  private scrollBody(frame: FrameSnapshot, dx: number, dy: number, hw: number, hh: number, body: { w: number; h: number }): number {
    const g = frame.geometry;
    const s = frame.scroll;
    const r = frame.range;
    let painted = 0;
    if (dy !== 0) {
      // Rows newly exposed at the bottom (scrolled down) or at the top (scrolled up).
      const y0 = dy > 0 ? hh + body.h - dy : hh;
      const y1 = dy > 0 ? hh + body.h : hh - dy;
      const row0 = Math.max(r.firstRow, Math.floor((y0 - hh + s.y) / g.rowHeight));
      const row1 = Math.min(r.endRow, Math.ceil((y1 - hh + s.y) / g.rowHeight));
      painted += this.paintStrip(frame, hw, y0, body.w, y1 - y0, row0, row1, r.firstCol, r.endCol);
    }
    if (dx !== 0) {
      const x0 = dx > 0 ? hw + body.w - dx : hw;
      const x1 = dx > 0 ? hw + body.w : hw - dx;
      const col0 = Math.max(r.firstCol, colAt(g, x0 - hw + s.x));
      const col1 = Math.min(r.endCol, colAt(g, x1 - hw + s.x) + 1);
      painted += this.paintStrip(frame, x0, hh, x1 - x0, body.h, r.firstRow, r.endRow, col0, col1);
    }
    return painted;
  }

  private paintStrip(frame: FrameSnapshot, x: number, y: number, w: number, h: number, row0: number, row1: number, col0: number, col1: number): number {
    const ctx = this.ctx;
    ctx.save();
    ctx.beginPath();
    ctx.rect(x, y, w, h);
    ctx.clip();
    ctx.fillStyle = kTheme.gridLine;
    ctx.fillRect(x, y, w, h);
    const painted = this.paintCells(frame, row0, row1, col0, col1);
    ctx.restore();
    return painted;
  }

  /**
   * Paints the cells of a region the caller filled with the grid line colour: every cell's
   * background first (it leaves the cell's right and bottom pixel to the grid line), then every
   * text, then the marks. Cells never overlap (texts are fitted inside theirs), so this order
   * gives the pixels cell-by-cell painting would, while the context's fill style and alignment
   * change a few times per region instead of several times per cell.
   */
  private paintCells(frame: FrameSnapshot, row0: number, row1: number, col0: number, col1: number): number {
    if (row1 <= row0 || col1 <= col0) return 0;
    const ctx = this.ctx;
    const g = frame.geometry;
    const left = headerWidth(g) - frame.scroll.x;
    const top = headerHeight(g) - frame.scroll.y;
    const rh = g.rowHeight;
    const sel = frame.selection;
    const focus = frame.focus;
    let style = "";
    for (let row = row0; row < row1; row++)
      for (let col = col0; col < col1; col++) {
        const cell = frameCell(frame, row, col) as CellDisplay;
        const bg = sel !== null && rangeContains(sel, row, col) ? kTheme.selectionBg : cell.bg;
        if (bg !== style) ctx.fillStyle = style = bg;
        ctx.fillRect(left + colLeft(g, col), top + row * rh, colWidthOf(g, col) - 1, rh - 1);
      }
    let align = "";
    let marked = false;
    for (let row = row0; row < row1; row++)
      for (let col = col0; col < col1; col++) {
        const cell = frameCell(frame, row, col) as CellDisplay;
        marked ||= cell.marks !== 0;
        if (!cell.text) continue;
        if (cell.fg !== style) ctx.fillStyle = style = cell.fg;
        const a = cell.alignRight ? "right" : "left";
        if (a !== align) ctx.textAlign = align = a;
        const w = colWidthOf(g, col);
        const x = left + colLeft(g, col) + (cell.alignRight ? w - kTheme.padding - 1 : kTheme.padding);
        ctx.fillText(this.fitCell(cell.text, w - 2 * kTheme.padding), x, top + row * rh + rh / 2);
      }
    if (marked)
      for (let row = row0; row < row1; row++)
        for (let col = col0; col < col1; col++) {
          const m = (frameCell(frame, row, col) as CellDisplay).marks;
          if (m !== 0) this.paintMarks(m, cellRect(g, frame.scroll, row, col));
        }
    if (focus && focus.row >= row0 && focus.row < row1 && focus.col >= col0 && focus.col < col1) {
      const rect = cellRect(g, frame.scroll, focus.row, focus.col);
      ctx.strokeStyle = kTheme.focus;
      ctx.lineWidth = 2;
      ctx.strokeRect(rect.x + 1, rect.y + 1, rect.w - 3, rect.h - 3);
    }
    return (row1 - row0) * (col1 - col0);
  }

  /** Paints one cell over whatever was there (a damaged cell). */
  private paintCell(frame: FrameSnapshot, row: number, col: number): void {
    const rect = cellRect(frame.geometry, frame.scroll, row, col);
    this.ctx.fillStyle = kTheme.gridLine;
    this.ctx.fillRect(rect.x, rect.y, rect.w, rect.h);
    this.paintCells(frame, row, row + 1, col, col + 1);
  }

  /** The marks of a cell (Mark bits), over its background and text. */
  private paintMarks(m: number, rect: Rect): void {
    const ctx = this.ctx;
    if (m & Mark.Comment) {
      ctx.fillStyle = kTheme.comment;
      ctx.beginPath();
      ctx.moveTo(rect.x + rect.w - 8, rect.y);
      ctx.lineTo(rect.x + rect.w - 1, rect.y);
      ctx.lineTo(rect.x + rect.w - 1, rect.y + 7);
      ctx.fill();
    }
    if (m & Mark.Adjusted) {
      ctx.fillStyle = kTheme.adjusted;
      ctx.beginPath();
      ctx.moveTo(rect.x, rect.y + rect.h - 8);
      ctx.lineTo(rect.x, rect.y + rect.h - 1);
      ctx.lineTo(rect.x + 7, rect.y + rect.h - 1);
      ctx.fill();
    }
    if (m & Mark.Held) {
      ctx.fillStyle = kTheme.held;
      ctx.fillRect(rect.x, rect.y, 3, rect.h - 1);
    }
    if (m & Mark.Pending) {
      ctx.fillStyle = kTheme.pending;
      for (let x = rect.x + 4; x < rect.x + rect.w - 4; x += 4) ctx.fillRect(x, rect.y + rect.h - 3, 2, 1);
    }
    if (m & Mark.Failed) {
      ctx.strokeStyle = kTheme.failed;
      ctx.lineWidth = 2;
      ctx.strokeRect(rect.x + 1, rect.y + 1, rect.w - 3, rect.h - 3);
    }
  }

  /**
   * Paints the header labels overlapping a header area, clipped to it once for all: a label
   * of a row or column scrolled partly under the corner is cut at the corner's edge.
   */
  private paintLabels(headers: readonly HeaderLabel[], x: number, y: number, w: number, h: number, lineHeight: number): void {
    const ctx = this.ctx;
    ctx.save();
    ctx.beginPath();
    ctx.rect(x, y, w, h);
    ctx.clip();
    for (const label of headers) {
      const r = label.rect;
      if (r.x < x + w && r.x + r.w > x && r.y < y + h && r.y + r.h > y) this.paintLabel(label, lineHeight);
    }
    ctx.restore();
  }

  private paintHeaders(frame: FrameSnapshot): void {
    const ctx = this.ctx;
    const g = frame.geometry;
    const hw = headerWidth(g);
    const hh = headerHeight(g);
    ctx.textBaseline = "middle";
    ctx.fillStyle = kTheme.headerBg;
    ctx.fillRect(0, hh, hw, g.viewportHeight - hh);
    ctx.fillRect(hw, 0, g.viewportWidth - hw, hh);
    ctx.fillStyle = kTheme.cornerBg;
    ctx.fillRect(0, 0, hw, hh);
    ctx.font = kTheme.fontHeader;
    ctx.fillStyle = kTheme.headerFg;
    ctx.textAlign = "left";
    frame.cornerLabels.forEach((label, level) =>
      ctx.fillText(this.fit(label, g.rowHeaderWidth - 2 * kTheme.padding, kTheme.fontHeader), level * g.rowHeaderWidth + kTheme.padding, hh - g.rowHeight / 2),
    );
    ctx.font = kTheme.font;
    this.paintLabels(frame.rowHeaders, 0, hh, hw, g.viewportHeight - hh, g.rowHeight);
    this.paintLabels(frame.colHeaders, hw, 0, g.viewportWidth - hw, hh, g.rowHeight);
  }

  /** One header label in the cell font, over its area's background (the caller clips). */
  private paintLabel(h: HeaderLabel, lineHeight: number): void {
    const ctx = this.ctx;
    const { x, y, w } = h.rect;
    const hgt = h.rect.h;
    if (w <= 0 || hgt <= 0) return;
    ctx.fillStyle = kTheme.gridLine;
    ctx.fillRect(x + w - 1, y, 1, hgt);
    ctx.fillRect(x, y + hgt - 1, w, 1);
    ctx.fillStyle = kTheme.headerFg;
    const indent = kTheme.padding + h.depth * 12;
    const arrow = h.toggle === "open" ? "\u25BE " : h.toggle === "closed" ? "\u25B8 " : "";
    // A pinned label sits at the top of its span until the span's end pushes it out.
    const ty = Math.min(y + lineHeight / 2, y + hgt - lineHeight / 2);
    ctx.fillText(this.fit(arrow + h.text, w - indent - kTheme.padding, kTheme.font), x + indent, ty);
  }

  /** fit() for body cells, which are mostly numbers: those that surely fit are not measured. */
  private fitCell(text: string, maxW: number): string {
    // A bound on the glyphs' widths proves most numbers fit: measureText is then skipped (it
    // costs as much as drawing the text), and nothing is kept (a cache of every number
    // scrolled past would be promoted and collected in full GCs).
    if (this.digitWidth < 0) {
      for (const ch of "0123456789,.-") this.digitWidth = Math.max(this.digitWidth, this.ctx.measureText(ch).width);
    }
    if (text.length * this.digitWidth <= maxW && kNumeric.test(text)) return text;
    return this.fit(text, maxW, kTheme.font);
  }

  /** The widest of the glyphs numbers are written with, in the cell font (-1: not measured). */
  private digitWidth = -1;

  /**
   * Fitted texts per font and width (a few: the cell font and width, each header level's). The
   * caller names the font it set: reading ctx.font back builds a string each time.
   */
  private readonly fitted = new Map<string, Map<number, Map<string, string>>>();

  /** The text, cut with an ellipsis to fit `maxW` in `font`, the context's current font. */
  private fit(text: string, maxW: number, font: string): string {
    const ctx = this.ctx;
    let byWidth = this.fitted.get(font);
    if (byWidth === undefined) this.fitted.set(font, (byWidth = new Map()));
    let cache = byWidth.get(maxW);
    if (cache === undefined) byWidth.set(maxW, (cache = new Map()));
    let out = cache.get(text);
    if (out !== undefined) return out;
    out = text;
    if (ctx.measureText(text).width > maxW) {
      let lo = 0;
      let hi = text.length;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (ctx.measureText(text.slice(0, mid) + "\u2026").width <= maxW) lo = mid;
        else hi = mid - 1;
      }
      out = lo === 0 ? "" : text.slice(0, lo) + "\u2026";
    }
    if (cache.size > 20_000) cache.clear();
    cache.set(text, out);
    return out;
  }

  finish(): Promise<boolean> {
    // Canvas2D in Chromium rasterises when the frame is composited; drawing calls are recorded.
    return Promise.resolve(false);
  }

  dispose(): void {
    for (const p of this.pages ?? []) p.remove();
  }
}
