// The benchmark's peer: the same frame snapshot drawn as DOM elements, the way DOM-based data
// grids draw (a recycled pool of absolutely positioned divs for the visible cells and headers,
// text set per frame). It exists only to compare frame times with the canvas renderers.

import { frameCell, type CellDisplay, type FrameSnapshot } from "../grid/frame";
import { cellRect } from "../grid/geometry";

export class DomGrid {
  private readonly root: HTMLDivElement;
  private readonly pool: HTMLDivElement[] = [];

  constructor(host: HTMLElement) {
    this.root = document.createElement("div");
    Object.assign(this.root.style, { position: "absolute", inset: "0", overflow: "hidden", font: "12px sans-serif", background: "#d9dde3", zIndex: "2" });
    host.appendChild(this.root);
  }

  private div(i: number): HTMLDivElement {
    let d = this.pool[i];
    if (!d) {
      d = document.createElement("div");
      Object.assign(d.style, { position: "absolute", left: "0", top: "0", overflow: "hidden", whiteSpace: "nowrap", boxSizing: "border-box", padding: "0 6px", lineHeight: "23px" });
      this.root.appendChild(d);
      this.pool.push(d);
    }
    return d;
  }

  draw(frame: FrameSnapshot): void {
    let i = 0;
    const r = frame.range;
    for (let row = r.firstRow; row < r.endRow; row++)
      for (let col = r.firstCol; col < r.endCol; col++) {
        const cell = frameCell(frame, row, col) as CellDisplay;
        const rect = cellRect(frame.geometry, frame.scroll, row, col);
        const d = this.div(i++);
        d.style.transform = `translate(${rect.x}px, ${rect.y}px)`;
        d.style.width = `${rect.w - 1}px`;
        d.style.height = `${rect.h - 1}px`;
        d.style.background = cell.bg;
        d.style.color = cell.fg;
        d.style.textAlign = cell.alignRight ? "right" : "left";
        d.textContent = cell.text;
      }
    for (const h of [...frame.rowHeaders, ...frame.colHeaders]) {
      const d = this.div(i++);
      d.style.transform = `translate(${h.rect.x}px, ${h.rect.y}px)`;
      d.style.width = `${h.rect.w}px`;
      d.style.height = `${h.rect.h}px`;
      d.style.background = "#eef1f5";
      d.style.color = "#1f2933";
      d.style.textAlign = "left";
      d.textContent = h.text;
    }
    for (let k = i; k < this.pool.length; k++) this.pool[k].textContent = "";
  }
}
