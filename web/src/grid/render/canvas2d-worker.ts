// The render Worker: the Canvas2D renderer drawing into the page's canvas, transferred here with
// transferControlToOffscreen. The page's main thread (React, protobuf decoding, paging, style
// and layout) then never runs inside a frame's drawing, and the drawing never delays it.
// Messages: see worker-renderer.ts. Each drawn frame is answered with "drawn" and its timings.

import type { WireDamage, WireFrame } from "./frame-wire";
import { FrameDecoder, decodeDamage } from "./frame-wire";
import { Canvas2dRenderer } from "./canvas2d-renderer";

export type ToWorker =
  | { type: "init"; canvas: OffscreenCanvas }
  | { type: "resize"; width: number; height: number; dpr: number }
  | { type: "draw"; wire: WireFrame; damage: WireDamage };

export interface FromWorker {
  type: "drawn";
  /** Start and end of the draw, in ms since the epoch (performance.timeOrigin + now()). */
  start: number;
  end: number;
  painted: number;
}

let renderer: Canvas2dRenderer | null = null;
const decoder = new FrameDecoder();

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  if (m.type === "init") {
    renderer = new Canvas2dRenderer(m.canvas);
  } else if (m.type === "resize") {
    renderer?.resize(m.width, m.height, m.dpr);
  } else if (renderer) {
    const start = performance.timeOrigin + performance.now();
    renderer.draw(decoder.decode(m.wire), decodeDamage(m.damage));
    const reply: FromWorker = { type: "drawn", start, end: performance.timeOrigin + performance.now(), painted: renderer.lastPainted };
    (self as unknown as Worker).postMessage(reply);
  }
};
