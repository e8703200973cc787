// GridView: the canvas grid as a plain object, without React. It owns the scroll position, the
// selection, the damage set and the renderer, and paints one frame per animation frame when
// something changed. It never owns data: the model's cell provider answers for visible cells,
// and `onVisible` tells the owner which region to page in.
//
// DOM: host (overflow: auto) > [sticky layer > canvas] + spacer sized to the content, so the
// browser provides native scrolling and scrollbars while the canvas stays put.

import { DamageSet, cellKey } from "./damage";
import { ColumnWidths } from "./geometry";
import { buildFrame, type CellDisplay, type CellProvider, type FrameSnapshot, type LabelOf } from "./frame";
import {
  cellRect,
  clampScroll,
  colAt,
  colLeft,
  colWidthOf,
  contentSize,
  headerHeight,
  headerWidth,
  hitTest,
  pageRows,
  scrollToReveal,
  visibleRange,
  type GridGeometry,
  type Rect,
  type Scroll,
  type VisibleRange,
} from "./geometry";
import type { AxisLayout } from "./header-tree";
import { lookahead, type BlockRequest } from "./paging";
import { createRenderer, type GridRenderer, type RendererKind } from "./render/renderer";
import {
  kOrigin,
  reduceSelection,
  selectionRange,
  type CellRange,
  type Selection,
  type SelectionAction,
} from "./selection";

export interface GridModel {
  readonly rows: AxisLayout;
  readonly cols: AxisLayout;
  readonly rowLabel: LabelOf;
  readonly colLabel: LabelOf;
  readonly cornerLabels: readonly string[];
  readonly cell: CellProvider;
  /** Body columns whose width is not the default, by index (the ones a user resized). */
  readonly colWidths?: ReadonlyMap<number, number>;
}

export interface GridViewOptions {
  readonly renderer?: RendererKind;
  /** Canvas2D draws in a Worker (OffscreenCanvas); see render/worker-renderer.ts. */
  readonly offscreen?: boolean;
  /**
   * WebGPU draws into a texture of its own instead of the canvas, so tests can read its pixels
   * back (presenting to a canvas breaks mapAsync in headless Chromium here); nothing is shown.
   */
  readonly gpuReadback?: boolean;
  readonly rowHeight?: number;
  readonly colWidth?: number;
  readonly rowHeaderWidth?: number;
  /**
   * The visible region changed: page in its cells, then those of `ahead`, the region the
   * scroll is heading for (the visible one when it is not moving).
   */
  readonly onVisible?: (range: VisibleRange, ahead: VisibleRange) => void;
  readonly onSelection?: (sel: Selection) => void;
  /** A header with children was clicked. */
  readonly onToggle?: (axis: "rows" | "cols", level: number, memberId: number) => void;
  /** Typing started in the focused cell (`initial` is the typed character, or null for F2/Enter). */
  readonly onStartEdit?: (initial: string | null) => void;
  /** Delete or Backspace on a selection. */
  readonly onClear?: (range: CellRange) => void;
  readonly onCopy?: (range: CellRange) => string;
  readonly onPaste?: (text: string, sel: Selection) => void;
  readonly onUndo?: () => void;
  readonly onRedo?: () => void;
  /** A column's right border was dragged to a new width (on release). */
  readonly onColumnResize?: (col: number, width: number) => void;
  /** A row header level's right border was dragged: the new width of every level (on release). */
  readonly onRowHeaderResize?: (width: number) => void;
}

/** How close to a column header's right border (CSS px) a press starts a resize. */
const kResizeGrip = 4;
const kMinColWidth = 24;

export class GridView {
  readonly host: HTMLDivElement;
  readonly canvas: HTMLCanvasElement;
  private readonly spacer: HTMLDivElement;
  private renderer: GridRenderer | null = null;
  private model: GridModel | null = null;
  private scroll: Scroll = { x: 0, y: 0 };
  private selection: Selection = kOrigin;
  private readonly damage = new DamageSet();
  private frame: FrameSnapshot | null = null;
  private rafId = 0;
  private width = 0;
  private height = 0;
  private lastVisible = "";
  /** Direction of the last scroll per axis (-1, 0, 1): where paging looks ahead. */
  private motion = { rows: 0, cols: 0 };
  private dragging = false;
  /** Column widths of the model, with the width being dragged (null: all default). */
  private columns: ColumnWidths | null = null;
  /** The column being resized, or -1 for the row header levels. */
  private resizing: { col: number; startX: number; startWidth: number; width: number; levels: number } | null = null;
  private rowHeaderWidth: number;
  private disposed = false;
  /**
   * What the model said each cell shows, for renderers that read every visible cell each frame
   * (readsEveryCell: the GPU renderers, the Worker's proxy), so scrolling does not format the
   * same cells again every frame. Canvas2D on the page reads only what a scroll exposes and
   * gets the model's provider directly. Data damage (damageCells, damageLoaded) drops entries;
   * a new model or invalidate() clears it. Selection is not part of a CellDisplay, so selection
   * changes keep it.
   */
  private readonly displayCache = new Map<number, CellDisplay>();
  private readonly cachedCell: CellProvider = (row, col) => {
    const key = cellKey(row, col);
    let d = this.displayCache.get(key);
    if (d === undefined) {
      d = (this.model as GridModel).cell(row, col);
      this.displayCache.set(key, d);
    }
    return d;
  };
  private readonly resizeObserver: ResizeObserver;
  readonly ready: Promise<RendererKind>;
  /** Frames painted so far and cells painted by the last one (status bar, tests). */
  framesPainted = 0;
  /** Milliseconds the last painted frame spent building its snapshot and drawing (benchmark). */
  readonly lastTimings = { snapshot: 0, draw: 0 };

  constructor(container: HTMLElement, private readonly options: GridViewOptions = {}) {
    this.rowHeaderWidth = options.rowHeaderWidth ?? 180;
    this.host = document.createElement("div");
    this.host.className = "grid-host";
    Object.assign(this.host.style, { position: "absolute", inset: "0", overflow: "auto" });
    const sticky = document.createElement("div");
    Object.assign(sticky.style, { position: "sticky", top: "0", left: "0", width: "0", height: "0", overflow: "visible", zIndex: "1" });
    this.canvas = document.createElement("canvas");
    this.canvas.tabIndex = 0;
    this.canvas.dataset.testid = "grid-canvas";
    Object.assign(this.canvas.style, { position: "absolute", left: "0", top: "0", outline: "none" });
    sticky.appendChild(this.canvas);
    this.spacer = document.createElement("div");
    this.host.append(sticky, this.spacer);
    container.appendChild(this.host);

    this.host.addEventListener("scroll", () => this.onScroll());
    this.canvas.addEventListener("mousedown", (e) => this.onMouseDown(e));
    window.addEventListener("mousemove", this.onMouseMove);
    window.addEventListener("mouseup", this.onMouseUp);
    this.canvas.addEventListener("dblclick", () => options.onStartEdit?.(null));
    this.canvas.addEventListener("keydown", (e) => this.onKeyDown(e));
    this.canvas.addEventListener("copy", (e) => this.onCopyEvent(e));
    this.canvas.addEventListener("paste", (e) => this.onPasteEvent(e));
    this.resizeObserver = new ResizeObserver(() => this.onResize());
    this.resizeObserver.observe(this.host);
    this.ready = createRenderer(this.canvas, options.renderer, options.offscreen ?? false, options.gpuReadback ?? false).then((r) => {
      this.renderer = r;
      this.width = 0; // the observer may have fired before the renderer existed
      this.onResize();
      return r.kind;
    });
  }

  get rendererKind(): RendererKind | null {
    return this.renderer?.kind ?? null;
  }

  /** The renderer itself (the benchmark reads the Worker's frame timings from it). */
  get activeRenderer(): GridRenderer | null {
    return this.renderer;
  }

  get geometry(): GridGeometry {
    return {
      rowCount: this.model?.rows.count ?? 0,
      colCount: this.model?.cols.count ?? 0,
      rowHeight: this.options.rowHeight ?? 24,
      colWidth: this.options.colWidth ?? 104,
      rowHeaderLevels: Math.max(1, this.model?.rows.levels ?? 1),
      colHeaderLevels: Math.max(1, this.model?.cols.levels ?? 1),
      rowHeaderWidth: this.rowHeaderWidth,
      viewportWidth: this.width,
      viewportHeight: this.height,
      columns: this.columns ?? undefined,
    };
  }

  get currentSelection(): Selection {
    return this.selection;
  }

  get currentScroll(): Scroll {
    return this.scroll;
  }

  /** Replaces the model (new layout or new data): everything is damaged. */
  setModel(model: GridModel, keepSelection = true): void {
    this.model = model;
    if (!keepSelection) this.selection = kOrigin;
    this.resizing = null;
    this.setColumns(model.colWidths);
    const g = this.geometry;
    const content = contentSize(g);
    this.spacer.style.width = `${headerWidth(g) + content.w}px`;
    this.spacer.style.height = `${headerHeight(g) + content.h}px`;
    this.scroll = clampScroll(g, this.scroll);
    this.lastVisible = "";
    this.invalidate();
    if (g.rowCount > 0 && g.colCount > 0) {
      this.selection = reduceSelection(this.selection, { type: "click", cell: this.selection.focus, extend: false }, { rowCount: g.rowCount, colCount: g.colCount, pageRows: pageRows(g) });
      this.options.onSelection?.(this.selection);
    }
  }

  /** Sets the width of each row header level (the owner's kept width). */
  setRowHeaderWidth(width: number): void {
    if (width === this.rowHeaderWidth) return;
    this.rowHeaderWidth = width;
    this.relayoutColumns();
  }

  private setColumns(widths: ReadonlyMap<number, number> | undefined): void {
    const count = this.model?.cols.count ?? 0;
    this.columns = widths && widths.size > 0 ? new ColumnWidths(count, this.options.colWidth ?? 104, widths) : null;
  }

  /** Re-lays out after a column width changed: the content size and every pixel change. */
  private relayoutColumns(): void {
    const g = this.geometry;
    this.spacer.style.width = `${headerWidth(g) + contentSize(g).w}px`;
    this.scroll = clampScroll(g, this.scroll);
    this.lastVisible = "";
    this.invalidate();
  }

  /** Cells whose contents changed: only they are repainted. */
  damageCells(cells: Iterable<{ readonly row: number; readonly col: number }>): void {
    // Only cells on screen need repainting: the others are painted fresh when a scroll exposes
    // them. A block reloaded may list up to 2,048 cells, of which a strip may be on screen.
    const screen = this.onScreen();
    let any = false;
    for (const c of cells) {
      this.displayCache.delete(cellKey(c.row, c.col));
      if (screen.some((v) => c.row >= v.firstRow && c.row < v.endRow && c.col >= v.firstCol && c.col < v.endCol)) {
        this.damage.addCell(c.row, c.col);
        any = true;
      }
    }
    if (any) this.schedule();
  }

  /**
   * The ranges whose pixels may show a cell: the visible one, and the last painted frame's
   * while a scroll is pending (the next frame copies that frame's pixels: a cell visible in
   * both and changed in between must be repainted, even if a scroll in between hid it).
   */
  private onScreen(): VisibleRange[] {
    const v = visibleRange(this.geometry, this.scroll);
    const f = this.frame?.range;
    return f && (f.firstRow !== v.firstRow || f.endRow !== v.endRow || f.firstCol !== v.firstCol || f.endCol !== v.endCol) ? [v, f] : [v];
  }

  /**
   * A block of cells arrived (PagingOptions.onLoaded): `changed` lists its changed cells, or is
   * null when all may have (a first load): then its visible part is damaged as a range.
   */
  damageLoaded(block: BlockRequest, changed: Iterable<{ readonly row: number; readonly col: number }> | null): void {
    if (changed) return this.damageCells(changed);
    if (this.displayCache.size > 0)
      for (let row = block.r0; row < block.r1; row++) for (let col = block.c0; col < block.c1; col++) this.displayCache.delete(cellKey(row, col));
    let any = false;
    for (const v of this.onScreen()) {
      if (block.r1 <= v.firstRow || block.r0 >= v.endRow || block.c1 <= v.firstCol || block.c0 >= v.endCol) continue;
      this.damage.addRange({ r0: block.r0, r1: block.r1 - 1, c0: block.c0, c1: block.c1 - 1 }, { r0: v.firstRow, r1: v.endRow - 1, c0: v.firstCol, c1: v.endCol - 1 });
      any = true;
    }
    if (any) this.schedule();
  }

  damageRange(r: CellRange): void {
    if (!this.frame) return this.invalidate();
    const v = this.frame.range;
    this.damage.addRange(r, { r0: v.firstRow, r1: v.endRow - 1, c0: v.firstCol, c1: v.endCol - 1 });
    this.schedule();
  }

  invalidate(): void {
    this.displayCache.clear();
    this.damage.addAll();
    this.schedule();
  }

  setScroll(s: Scroll): void {
    const next = clampScroll(this.geometry, s);
    if (next.x === this.scroll.x && next.y === this.scroll.y) return;
    this.noteMotion(next);
    this.scroll = next;
    this.host.scrollLeft = next.x;
    this.host.scrollTop = next.y;
    this.damage.addScroll();
    this.schedule();
  }

  select(action: SelectionAction): void {
    const g = this.geometry;
    if (g.rowCount === 0 || g.colCount === 0) return;
    const before = selectionRange(this.selection);
    const next = reduceSelection(this.selection, action, { rowCount: g.rowCount, colCount: g.colCount, pageRows: pageRows(g) });
    this.selection = next;
    this.damageRange(before);
    this.damageRange(selectionRange(next));
    this.setScroll(scrollToReveal(g, this.scroll, next.focus.row, next.focus.col));
    this.options.onSelection?.(next);
  }

  /** Screen rectangle of a cell relative to the host's visible box. */
  cellRectOnScreen(row: number, col: number): Rect {
    return cellRect(this.geometry, this.scroll, row, col);
  }

  focus(): void {
    this.canvas.focus();
  }

  /** Paints now if anything is damaged (the benchmark calls this; normally rAF does). */
  drawNow(): void {
    cancelAnimationFrame(this.rafId);
    this.rafId = 0;
    this.paint();
  }

  finishGpu(): Promise<boolean> {
    return this.renderer?.finish() ?? Promise.resolve(false);
  }

  dispose(): void {
    this.disposed = true;
    cancelAnimationFrame(this.rafId);
    this.resizeObserver.disconnect();
    window.removeEventListener("mousemove", this.onMouseMove);
    window.removeEventListener("mouseup", this.onMouseUp);
    this.renderer?.dispose();
    this.host.remove();
  }

  private schedule(): void {
    if (this.rafId || this.disposed) return;
    this.rafId = requestAnimationFrame(() => {
      this.rafId = 0;
      this.paint();
    });
  }

  private paint(): void {
    if (this.disposed || !this.renderer || !this.model || this.damage.isEmpty || this.width === 0) return;
    const g = this.geometry;
    const range = visibleRange(g, this.scroll);
    const key = `${range.firstRow},${range.endRow},${range.firstCol},${range.endCol}`;
    if (key !== this.lastVisible) {
      this.lastVisible = key;
      this.options.onVisible?.(range, lookahead(range, this.motion.rows, this.motion.cols, g.rowCount, g.colCount));
    }
    const m = this.model;
    const t0 = performance.now();
    this.frame = buildFrame({
      geometry: g,
      scroll: this.scroll,
      rows: m.rows,
      cols: m.cols,
      rowLabel: m.rowLabel,
      colLabel: m.colLabel,
      cornerLabels: m.cornerLabels,
      cell: this.renderer.readsEveryCell ? this.cachedCell : m.cell,
      selection: selectionRange(this.selection),
      focus: this.selection.focus,
    });
    const t1 = performance.now();
    this.renderer.draw(this.frame, this.damage);
    this.damage.clear();
    if (this.displayCache.size > 50_000) this.displayCache.clear();
    this.lastTimings.snapshot = t1 - t0;
    this.lastTimings.draw = performance.now() - t1;
    this.framesPainted++;
  }

  private onResize(): void {
    const w = this.host.clientWidth;
    const h = this.host.clientHeight;
    if (w === this.width && h === this.height) return;
    this.width = w;
    this.height = h;
    this.canvas.style.width = `${w}px`;
    this.canvas.style.height = `${h}px`;
    this.renderer?.resize(w, h, window.devicePixelRatio || 1);
    this.scroll = clampScroll(this.geometry, this.scroll);
    this.invalidate();
  }

  private onScroll(): void {
    const next = { x: this.host.scrollLeft, y: this.host.scrollTop };
    if (next.x === this.scroll.x && next.y === this.scroll.y) return;
    this.noteMotion(next);
    this.scroll = next;
    this.damage.addScroll();
    this.schedule();
  }

  private noteMotion(next: Scroll): void {
    this.motion.rows = Math.sign(next.y - this.scroll.y);
    this.motion.cols = Math.sign(next.x - this.scroll.x);
  }

  private hit(e: MouseEvent) {
    const box = this.canvas.getBoundingClientRect();
    return hitTest(this.geometry, this.scroll, e.clientX - box.left, e.clientY - box.top);
  }

  /**
   * The column whose right border is under the pointer in the column headers, -2 when it is a
   * row header level's right border (in the corner), or -1.
   */
  private resizeGripAt(e: MouseEvent): number {
    const g = this.geometry;
    const box = this.canvas.getBoundingClientRect();
    const x = e.clientX - box.left;
    const y = e.clientY - box.top;
    const hw = headerWidth(g);
    if (y < 0 || y >= headerHeight(g)) return -1;
    if (x <= hw + kResizeGrip) {
      const nearest = Math.round(x / g.rowHeaderWidth) * g.rowHeaderWidth;
      return nearest > 0 && Math.abs(x - nearest) <= kResizeGrip ? -2 : -1;
    }
    const content = x - hw + this.scroll.x;
    // The border at the left of the column under the pointer is its left neighbour's.
    const col = colAt(g, content);
    const left = colLeft(g, col);
    if (col > 0 && col <= g.colCount && content - left <= kResizeGrip) return col - 1;
    if (col < g.colCount && left + colWidthOf(g, col) - content <= kResizeGrip) return col;
    return -1;
  }

  private onMouseDown(e: MouseEvent): void {
    const grip = this.resizeGripAt(e);
    if (grip >= 0 || grip === -2) {
      const width = grip >= 0 ? colWidthOf(this.geometry, grip) : this.rowHeaderWidth;
      // A row header level's border moves by the drag divided among the levels left of it.
      const levels = grip >= 0 ? 1 : Math.max(1, Math.round((e.clientX - this.canvas.getBoundingClientRect().left) / this.rowHeaderWidth));
      this.resizing = { col: grip, startX: e.clientX, startWidth: width, width, levels };
      e.preventDefault();
      return;
    }
    const hit = this.hit(e);
    this.canvas.focus();
    if (hit.kind === "cell") {
      this.select({ type: "click", cell: { row: hit.row, col: hit.col }, extend: e.shiftKey });
      this.dragging = true;
      e.preventDefault();
    } else if (hit.kind === "rowHeader" && this.model) {
      const h = this.model.rows.headerAt(hit.level, hit.row);
      if (h.member.hasChildren) this.options.onToggle?.("rows", hit.level, h.member.id);
      else this.select({ type: "selectRows", r0: h.start, r1: h.start + h.span - 1 });
    } else if (hit.kind === "colHeader" && this.model) {
      const h = this.model.cols.headerAt(hit.level, hit.col);
      if (h.member.hasChildren) this.options.onToggle?.("cols", hit.level, h.member.id);
      else this.select({ type: "selectCols", c0: h.start, c1: h.start + h.span - 1 });
    } else if (hit.kind === "corner") {
      this.select({ type: "selectAll" });
    }
  }

  private readonly onMouseMove = (e: MouseEvent): void => {
    const rz = this.resizing;
    if (rz) {
      const width = Math.max(kMinColWidth, Math.round(rz.startWidth + (e.clientX - rz.startX) / rz.levels));
      if (width !== rz.width) {
        rz.width = width;
        if (rz.col < 0) {
          this.rowHeaderWidth = width;
        } else {
          const widths = new Map(this.model?.colWidths ?? []);
          widths.set(rz.col, width);
          this.setColumns(widths);
        }
        this.relayoutColumns();
      }
      return;
    }
    if (e.target === this.canvas) this.canvas.style.cursor = this.resizeGripAt(e) !== -1 ? "col-resize" : "";
    if (!this.dragging) return;
    const hit = this.hit(e);
    if (hit.kind === "cell") {
      const f = this.selection.focus;
      if (f.row !== hit.row || f.col !== hit.col) this.select({ type: "click", cell: { row: hit.row, col: hit.col }, extend: true });
    }
  };

  private readonly onMouseUp = (): void => {
    this.dragging = false;
    const rz = this.resizing;
    if (rz) {
      this.resizing = null;
      // The owner keeps the width (view state) and hands it back in the next model.
      if (rz.width === rz.startWidth) return;
      if (rz.col < 0) this.options.onRowHeaderResize?.(rz.width);
      else this.options.onColumnResize?.(rz.col, rz.width);
    }
  };

  private onKeyDown(e: KeyboardEvent): void {
    const extend = e.shiftKey;
    const ctrl = e.ctrlKey || e.metaKey;
    const act = (a: SelectionAction) => {
      e.preventDefault();
      this.select(a);
    };
    switch (e.key) {
      case "ArrowUp": return act(ctrl ? { type: "edge", to: "top", extend } : { type: "move", dRow: -1, dCol: 0, extend });
      case "ArrowDown": return act(ctrl ? { type: "edge", to: "bottom", extend } : { type: "move", dRow: 1, dCol: 0, extend });
      case "ArrowLeft": return act(ctrl ? { type: "edge", to: "rowStart", extend } : { type: "move", dRow: 0, dCol: -1, extend });
      case "ArrowRight": return act(ctrl ? { type: "edge", to: "rowEnd", extend } : { type: "move", dRow: 0, dCol: 1, extend });
      case "Tab": return act({ type: "move", dRow: 0, dCol: e.shiftKey ? -1 : 1, extend: false });
      case "PageDown": return act({ type: "page", dir: 1, extend });
      case "PageUp": return act({ type: "page", dir: -1, extend });
      case "Home": return act({ type: "edge", to: ctrl ? "top" : "rowStart", extend });
      case "End": return act({ type: "edge", to: ctrl ? "bottom" : "rowEnd", extend });
      case "Enter":
      case "F2":
        e.preventDefault();
        this.options.onStartEdit?.(null);
        return;
      case "Delete":
      case "Backspace":
        e.preventDefault();
        this.options.onClear?.(selectionRange(this.selection));
        return;
    }
    if (ctrl && (e.key === "z" || e.key === "Z")) {
      e.preventDefault();
      if (e.shiftKey) this.options.onRedo?.();
      else this.options.onUndo?.();
      return;
    }
    if (ctrl && e.key === "y") {
      e.preventDefault();
      this.options.onRedo?.();
      return;
    }
    if (ctrl && e.key === "a") return act({ type: "selectAll" });
    if (!ctrl && !e.altKey && e.key.length === 1) {
      e.preventDefault();
      this.options.onStartEdit?.(e.key);
    }
  }

  private onCopyEvent(e: ClipboardEvent): void {
    if (!this.options.onCopy || !e.clipboardData) return;
    e.clipboardData.setData("text/plain", this.options.onCopy(selectionRange(this.selection)));
    e.preventDefault();
  }

  private onPasteEvent(e: ClipboardEvent): void {
    const text = e.clipboardData?.getData("text/plain");
    if (!text || !this.options.onPaste) return;
    e.preventDefault();
    this.options.onPaste(text, this.selection);
  }
}
