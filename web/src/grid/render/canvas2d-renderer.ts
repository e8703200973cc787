// Canvas2D renderer: fillRect and fillText. With a partial damage set it repaints only the
// damaged cells, clipped to the body so nothing spills over the frozen headers.

import type { DamageSet } from "../damage";
import { Mark, frameCell, type CellDisplay, type FrameSnapshot, type HeaderLabel } from "../frame";
import { bodyViewport, cellRect, headerHeight, headerWidth } from "../geometry";
import { rangeContains } from "../selection";
import { kTheme, type GridRenderer } from "./renderer";

export class Canvas2dRenderer implements GridRenderer {
  readonly kind = "canvas2d" as const;
  private readonly ctx: CanvasRenderingContext2D;
  private dpr = 1;
  /** Cells painted by the last draw (for tests and the benchmark). */
  lastPainted = 0;

  constructor(private readonly canvas: HTMLCanvasElement) {
    const ctx = canvas.getContext("2d", { alpha: false });
    if (!ctx) throw new Error("no 2d context");
    this.ctx = ctx;
  }

  resize(width: number, height: number, dpr: number): void {
    this.dpr = dpr;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
  }

  draw(frame: FrameSnapshot, damage: DamageSet): void {
    const ctx = this.ctx;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    const g = frame.geometry;
    const hw = headerWidth(g);
    const hh = headerHeight(g);
    const body = bodyViewport(g);
    ctx.save();
    ctx.beginPath();
    ctx.rect(hw, hh, body.w, body.h);
    ctx.clip();
    ctx.font = kTheme.font;
    ctx.textBaseline = "middle";
    let painted = 0;
    if (damage.isFull) {
      ctx.fillStyle = kTheme.gridLine;
      ctx.fillRect(hw, hh, body.w, body.h);
      const r = frame.range;
      for (let row = r.firstRow; row < r.endRow; row++)
        for (let col = r.firstCol; col < r.endCol; col++) {
          this.paintCell(frame, row, col);
          painted++;
        }
    } else {
      damage.forEach((row, col) => {
        if (frameCell(frame, row, col)) {
          this.paintCell(frame, row, col);
          painted++;
        }
      });
    }
    ctx.restore();
    this.lastPainted = painted;
    if (damage.isFull) this.paintHeaders(frame);
  }

  private paintCell(frame: FrameSnapshot, row: number, col: number): void {
    const cell = frameCell(frame, row, col) as CellDisplay;
    const ctx = this.ctx;
    const rect = cellRect(frame.geometry, frame.scroll, row, col);
    const selected = frame.selection !== null && rangeContains(frame.selection, row, col);
    ctx.fillStyle = kTheme.gridLine;
    ctx.fillRect(rect.x, rect.y, rect.w, rect.h);
    ctx.fillStyle = selected ? kTheme.selectionBg : cell.bg;
    ctx.fillRect(rect.x, rect.y, rect.w - 1, rect.h - 1);
    if (cell.text) {
      ctx.fillStyle = cell.fg;
      ctx.textAlign = cell.alignRight ? "right" : "left";
      const x = cell.alignRight ? rect.x + rect.w - kTheme.padding - 1 : rect.x + kTheme.padding;
      ctx.fillText(this.fit(cell.text, rect.w - 2 * kTheme.padding), x, rect.y + rect.h / 2);
    }
    const m = cell.marks;
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
    const f = frame.focus;
    if (f && f.row === row && f.col === col) {
      ctx.strokeStyle = kTheme.focus;
      ctx.lineWidth = 2;
      ctx.strokeRect(rect.x + 1, rect.y + 1, rect.w - 3, rect.h - 3);
    }
  }

  private paintHeaders(frame: FrameSnapshot): void {
    const ctx = this.ctx;
    const g = frame.geometry;
    const hw = headerWidth(g);
    const hh = headerHeight(g);
    ctx.fillStyle = kTheme.headerBg;
    ctx.fillRect(0, hh, hw, g.viewportHeight - hh);
    ctx.fillRect(hw, 0, g.viewportWidth - hw, hh);
    ctx.fillStyle = kTheme.cornerBg;
    ctx.fillRect(0, 0, hw, hh);
    ctx.font = kTheme.fontHeader;
    ctx.fillStyle = kTheme.headerFg;
    ctx.textAlign = "left";
    frame.cornerLabels.forEach((label, level) =>
      ctx.fillText(this.fit(label, g.rowHeaderWidth - 2 * kTheme.padding), level * g.rowHeaderWidth + kTheme.padding, hh - g.rowHeight / 2),
    );
    ctx.font = kTheme.font;
    for (const h of frame.rowHeaders) this.paintHeader(h, 0, hh, hw, g.viewportHeight, g.rowHeight);
    for (const h of frame.colHeaders) this.paintHeader(h, hw, 0, g.viewportWidth, hh, g.rowHeight);
  }

  private paintHeader(h: HeaderLabel, clipX: number, clipY: number, clipR: number, clipB: number, lineHeight: number): void {
    const ctx = this.ctx;
    const { x, y, w } = h.rect;
    const hgt = h.rect.h;
    if (w <= 0 || hgt <= 0) return;
    ctx.save();
    ctx.beginPath();
    ctx.rect(clipX, clipY, clipR - clipX, clipB - clipY);
    ctx.clip();
    ctx.fillStyle = kTheme.gridLine;
    ctx.fillRect(x + w - 1, y, 1, hgt);
    ctx.fillRect(x, y + hgt - 1, w, 1);
    ctx.fillStyle = kTheme.headerFg;
    const indent = kTheme.padding + h.depth * 12;
    const arrow = h.toggle === "open" ? "\u25BE " : h.toggle === "closed" ? "\u25B8 " : "";
    ctx.fillText(this.fit(arrow + h.text, w - indent - kTheme.padding), x + indent, y + Math.min(hgt, lineHeight) / 2);
    ctx.restore();
  }

  private readonly fitted = new Map<string, string>();

  /** The text, cut with an ellipsis to fit `maxW` in the current font (cached per font and width). */
  private fit(text: string, maxW: number): string {
    const key = `${this.ctx.font}|${maxW}|${text}`;
    let out = this.fitted.get(key);
    if (out !== undefined) return out;
    out = text;
    if (this.ctx.measureText(text).width > maxW) {
      let lo = 0;
      let hi = text.length;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (this.ctx.measureText(text.slice(0, mid) + "\u2026").width <= maxW) lo = mid;
        else hi = mid - 1;
      }
      out = lo === 0 ? "" : text.slice(0, lo) + "\u2026";
    }
    if (this.fitted.size > 20_000) this.fitted.clear();
    this.fitted.set(key, out);
    return out;
  }

  finish(): Promise<boolean> {
    // Canvas2D in Chromium rasterises when the frame is composited; drawing calls are recorded.
    return Promise.resolve(false);
  }

  dispose(): void {}
}
