// Canvas2D in a Worker, seen from the page: the canvas is transferred to the Worker
// (canvas2d-worker.ts), and draw() posts the frame snapshot and the damage set to it.
//
// At most one frame is in the Worker at a time. A frame drawn while one is in flight waits, and
// a newer one replaces it, its damage merged in: the Worker never falls behind by more than a
// frame, and a skipped frame costs nothing (the renderer scrolls from the last frame it drew
// to the newest, whatever the distance).

import type { DamageSet } from "../damage";
import { resolveCells, type FrameSnapshot } from "../frame";
import type { FromWorker, ToWorker } from "./canvas2d-worker";
import { FrameEncoder, PendingDamage } from "./frame-wire";
import type { GridRenderer } from "./renderer";

/** One frame the Worker drew: when (ms since the epoch) and how many cells it painted. */
export interface WorkerFrame {
  readonly start: number;
  readonly end: number;
  readonly painted: number;
}

export class WorkerCanvas2dRenderer implements GridRenderer {
  readonly kind = "canvas2d" as const;
  readonly readsEveryCell = true;
  readonly inWorker = true;
  private readonly worker: Worker;
  private readonly encoder = new FrameEncoder();
  private readonly damage = new PendingDamage();
  private pending: FrameSnapshot | null = null;
  private inFlight = false;
  private idle: (() => void)[] = [];
  /** Called for each frame the Worker drew (benchmark, status). */
  onDrawn: ((f: WorkerFrame) => void) | null = null;

  constructor(canvas: HTMLCanvasElement) {
    const offscreen = canvas.transferControlToOffscreen();
    this.worker = new Worker(new URL("./canvas2d-worker.ts", import.meta.url), { type: "module" });
    this.worker.onmessage = (e: MessageEvent<FromWorker>) => this.onDrawnMessage(e.data);
    this.worker.onerror = (e) => console.error("render worker:", e.message);
    this.post({ type: "init", canvas: offscreen }, [offscreen]);
  }

  resize(width: number, height: number, dpr: number): void {
    this.post({ type: "resize", width, height, dpr });
  }

  draw(frame: FrameSnapshot, damage: DamageSet): void {
    this.damage.add(damage);
    // Its cells are read now, in the task that built it: a frame that waits for the Worker
    // must not show data (or a layout) that arrived after it.
    this.pending = resolveCells(frame);
    if (!this.inFlight) this.send();
  }

  /** Resolves true once the Worker has drawn every frame given to it. */
  finish(): Promise<boolean> {
    if (!this.inFlight && !this.pending) return Promise.resolve(true);
    return new Promise((done) => this.idle.push(() => done(true)));
  }

  dispose(): void {
    this.worker.terminate();
  }

  private send(): void {
    const frame = this.pending;
    if (!frame) return;
    this.pending = null;
    const wire = this.encoder.encode(frame);
    this.inFlight = true;
    this.post({ type: "draw", wire, damage: this.damage.take() });
  }

  private onDrawnMessage(m: FromWorker): void {
    this.inFlight = false;
    this.onDrawn?.({ start: m.start, end: m.end, painted: m.painted });
    if (this.pending) this.send();
    else for (const done of this.idle.splice(0)) done();
  }

  private post(m: ToWorker, transfer: Transferable[] = []): void {
    this.worker.postMessage(m, transfer);
  }
}
