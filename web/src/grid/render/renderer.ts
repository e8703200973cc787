// The renderer interface and the choice of renderer: WebGPU when the browser returns an adapter,
// else WebGL2 on a hardware GPU, else Canvas2D. Every renderer paints a FrameSnapshot; with a partial damage set
// it repaints only the damaged cells (Canvas2D: their pixels; GPU renderers: their slots in the
// instance buffer, then one draw call).

import type { DamageSet } from "../damage";
import type { FrameSnapshot } from "../frame";

export type RendererKind = "webgpu" | "webgl2" | "canvas2d";

export interface GridRenderer {
  readonly kind: RendererKind;
  /**
   * Whether a scroll reads every visible cell: the GPU renderers rewrite every slot, and a
   * frame sent to a Worker carries every cell. The grid then keeps cells' displays across
   * frames. Canvas2D on the page reads only the cells a scroll exposes, and needs no such cache.
   */
  readonly readsEveryCell: boolean;
  /** Sets the canvas size in CSS pixels and the device pixel ratio; damages everything. */
  resize(width: number, height: number, dpr: number): void;
  /** Paints the frame. Afterwards the damage set is the caller's to clear. */
  draw(frame: FrameSnapshot, damage: DamageSet): void;
  /**
   * Waits until the GPU has finished the submitted work (for frame-time measurement); resolves
   * to false when the renderer cannot tell (then only the CPU side was waited for).
   */
  finish(): Promise<boolean>;
  dispose(): void;
}

export { kTheme } from "./theme";

/**
 * `gpuReadback`: WebGPU draws into a texture that `readPixels` reads, not the canvas (tests).
 * `offscreen`: Canvas2D draws in a Worker (the canvas transferred to it) where the browser can
 * (OffscreenCanvas and Worker present); the GPU renderers always draw on the main thread.
 */
export async function createRenderer(
  canvas: HTMLCanvasElement,
  prefer?: RendererKind,
  offscreen = false,
  gpuReadback = false,
): Promise<GridRenderer> {
  const order: RendererKind[] = prefer ? [prefer] : ["webgpu", "webgl2", "canvas2d"];
  for (const kind of order) {
    try {
      if (kind === "webgpu") {
        const { createWebGpuRenderer } = await import("./webgpu-renderer");
        const r = await createWebGpuRenderer(canvas, gpuReadback);
        if (r) return r;
      } else if (kind === "webgl2") {
        const { createWebGl2Renderer } = await import("./webgl2-renderer");
        // Asked for by name, WebGL2 is used even on a software rasteriser.
        const r = createWebGl2Renderer(canvas, prefer === "webgl2");
        if (r) return r;
      } else {
        if (offscreen && typeof Worker !== "undefined" && "transferControlToOffscreen" in canvas) {
          const { WorkerCanvas2dRenderer } = await import("./worker-renderer");
          return new WorkerCanvas2dRenderer(canvas);
        }
        const { Canvas2dRenderer } = await import("./canvas2d-renderer");
        return new Canvas2dRenderer(canvas);
      }
    } catch (err) {
      console.warn(`renderer ${kind} failed, trying the next`, err);
    }
  }
  const { Canvas2dRenderer } = await import("./canvas2d-renderer");
  return new Canvas2dRenderer(canvas);
}
