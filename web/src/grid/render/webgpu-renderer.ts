// WebGPU renderer: the same instanced rectangles as WebGL2 (instances.ts), in WGSL. A partial
// damage set writes only the damaged cells' slots with queue.writeBuffer.

import type { DamageSet } from "../damage";
import type { FrameSnapshot } from "../frame";
import { sameShape } from "../frame";
import { GlyphAtlas, InstanceWriter, kFloatsPerInstance, kSlotsPerCell, parseColor } from "./instances";
import { kTheme, type GridRenderer } from "./renderer";

const kShader = /* wgsl */ `
struct Uniforms { viewport: vec2f };
@group(0) @binding(0) var<uniform> u: Uniforms;
@group(0) @binding(1) var atlas: texture_2d<f32>;
@group(0) @binding(2) var samp: sampler;
struct Out { @builtin(position) pos: vec4f, @location(0) uv: vec2f, @location(1) color: vec4f };
@vertex fn vs(@builtin(vertex_index) vi: u32, @location(0) rect: vec4f, @location(1) uv: vec4f, @location(2) color: vec4f) -> Out {
  let corner = vec2f(f32(vi & 1u), f32((vi >> 1u) & 1u));
  let p = rect.xy + corner * rect.zw;
  var o: Out;
  o.pos = vec4f((p.x / u.viewport.x) * 2.0 - 1.0, 1.0 - (p.y / u.viewport.y) * 2.0, 0.0, 1.0);
  o.uv = mix(uv.xy, uv.zw, corner);
  o.color = color;
  return o;
}
@fragment fn fs(i: Out) -> @location(0) vec4f {
  let a = textureSample(atlas, samp, i.uv).a * i.color.a;
  return vec4f(i.color.rgb * a, a);
}`;

// Minimal WebGPU typings, so the build needs no @webgpu/types package.
/* eslint-disable @typescript-eslint/no-explicit-any */
type Gpu = any;

class WebGpuRenderer implements GridRenderer {
  readonly kind = "webgpu" as const;
  readonly readsEveryCell = true;
  private readonly writer: InstanceWriter;
  private atlas: GlyphAtlas;
  private pipeline: Gpu;
  private uniform: Gpu;
  private texture: Gpu = null;
  private bindGroup: Gpu = null;
  private sampler: Gpu;
  private buffer: Gpu = null;
  private bufferBytes = 0;
  private instanceCount = 0;
  private last: FrameSnapshot | null = null;
  private dpr = 0;
  /** With `readback`: the texture frames are drawn into, the canvas's size. */
  private target: Gpu = null;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly device: Gpu,
    private readonly context: Gpu,
    private readonly format: string,
    // Kept so the adapter outlives the device (Chromium loses the instance otherwise).
    readonly adapter: Gpu,
    /** Draw into `target` (readable by readPixels) instead of the canvas. */
    private readonly readback = false,
  ) {
    this.atlas = new GlyphAtlas(1);
    this.writer = new InstanceWriter(this.atlas);
    const module = device.createShaderModule({ code: kShader });
    const attr = (loc: number) => ({ shaderLocation: loc, offset: loc * 16, format: "float32x4" });
    this.pipeline = device.createRenderPipeline({
      layout: "auto",
      vertex: {
        module,
        entryPoint: "vs",
        buffers: [{ arrayStride: kFloatsPerInstance * 4, stepMode: "instance", attributes: [attr(0), attr(1), attr(2)] }],
      },
      fragment: {
        module,
        entryPoint: "fs",
        targets: [{
          format,
          blend: {
            color: { srcFactor: "one", dstFactor: "one-minus-src-alpha", operation: "add" },
            alpha: { srcFactor: "one", dstFactor: "one-minus-src-alpha", operation: "add" },
          },
        }],
      },
      primitive: { topology: "triangle-strip" },
    });
    this.uniform = device.createBuffer({ size: 16, usage: 0x0040 | 0x0008 | 0x0004 }); // UNIFORM | COPY_DST | COPY_SRC
    this.sampler = device.createSampler({ magFilter: "linear", minFilter: "linear" });
  }

  resize(width: number, height: number, dpr: number): void {
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    if (this.readback) {
      this.target?.destroy();
      // RENDER_ATTACHMENT | COPY_SRC
      this.target = this.device.createTexture({ size: [this.canvas.width, this.canvas.height], format: this.format, usage: 0x10 | 0x01 });
    } else {
      this.context.configure({ device: this.device, format: this.format, alphaMode: "opaque" });
    }
    this.device.queue.writeBuffer(this.uniform, 0, new Float32Array([width, height, 0, 0]));
    if (dpr !== this.dpr) {
      this.dpr = dpr;
      this.atlas = new GlyphAtlas(dpr);
      this.writer.atlas = this.atlas;
      const { width: w, height: h } = this.atlas.canvas;
      this.texture?.destroy();
      // TEXTURE_BINDING | COPY_DST | RENDER_ATTACHMENT
      this.texture = this.device.createTexture({ size: [w, h], format: "rgba8unorm", usage: 0x04 | 0x02 | 0x10 });
      this.device.queue.copyExternalImageToTexture({ source: this.atlas.canvas }, { texture: this.texture }, [w, h]);
      this.bindGroup = this.device.createBindGroup({
        layout: this.pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: this.uniform } },
          { binding: 1, resource: this.texture.createView() },
          { binding: 2, resource: this.sampler },
        ],
      });
    }
    this.last = null;
  }

  draw(frame: FrameSnapshot, damage: DamageSet): void {
    const queue = this.device.queue;
    if (damage.isFull || !sameShape(this.last, frame)) {
      this.instanceCount = this.writer.full(frame);
      const bytes = this.writer.data.byteLength;
      if (bytes > this.bufferBytes) {
        this.buffer?.destroy();
        this.buffer = this.device.createBuffer({ size: bytes, usage: 0x0020 | 0x0008 }); // VERTEX | COPY_DST
        this.bufferBytes = bytes;
      }
      queue.writeBuffer(this.buffer, 0, this.writer.data.buffer, 0, this.instanceCount * kFloatsPerInstance * 4);
    } else {
      damage.forEach((row, col) => {
        const r = frame.range;
        if (row < r.firstRow || row >= r.endRow || col < r.firstCol || col >= r.endCol) return;
        this.writer.cell(frame, row, col);
        const offset = (this.writer.count - kSlotsPerCell) * kFloatsPerInstance * 4;
        queue.writeBuffer(this.buffer, offset, this.writer.data.buffer, offset, kSlotsPerCell * kFloatsPerInstance * 4);
      });
    }
    this.last = frame;
    const [r, g, b] = parseColor(kTheme.gridLine);
    const encoder = this.device.createCommandEncoder();
    const pass = encoder.beginRenderPass({
      colorAttachments: [{
        view: (this.readback ? this.target : this.context.getCurrentTexture()).createView(),
        clearValue: { r, g, b, a: 1 }, loadOp: "clear", storeOp: "store",
      }],
    });
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, this.bindGroup);
    pass.setVertexBuffer(0, this.buffer);
    pass.draw(4, this.instanceCount);
    pass.end();
    queue.submit([encoder.finish()]);
  }

  /**
   * The last frame's pixels as RGBA rows, read back from the texture it was drawn into (only
   * with `readback`: a WebGPU canvas shows blank to screenshots and drawImage in headless
   * Chromium, and presenting to it breaks mapAsync, so tests draw into a texture instead).
   */
  async readPixels(): Promise<{ width: number; height: number; data: Uint8Array }> {
    if (!this.readback || !this.target) throw new Error("readPixels needs a renderer created with readback");
    const width = this.canvas.width;
    const height = this.canvas.height;
    const bytesPerRow = Math.ceil((width * 4) / 256) * 256;
    const buffer = this.device.createBuffer({ size: bytesPerRow * height, usage: 0x0001 | 0x0008 }); // MAP_READ | COPY_DST
    const encoder = this.device.createCommandEncoder();
    encoder.copyTextureToBuffer({ texture: this.target }, { buffer, bytesPerRow }, [width, height]);
    this.device.queue.submit([encoder.finish()]);
    try {
      await buffer.mapAsync(0x0001);
      const rows = new Uint8Array(buffer.getMappedRange());
      const data = new Uint8Array(width * height * 4);
      const bgra = this.format === "bgra8unorm";
      for (let y = 0; y < height; y++)
        for (let x = 0; x < width; x++) {
          const i = y * bytesPerRow + x * 4;
          const o = (y * width + x) * 4;
          data[o] = rows[bgra ? i + 2 : i];
          data[o + 1] = rows[i + 1];
          data[o + 2] = rows[bgra ? i : i + 2];
          data[o + 3] = rows[i + 3];
        }
      buffer.unmap();
      return { width, height, data };
    } finally {
      buffer.destroy();
    }
  }

  private syncBroken = false;

  async finish(): Promise<boolean> {
    if (this.syncBroken) return false;
    // A 16-byte copy after the frame's work, then mapAsync: it resolves once the queue has run
    // everything before it. (onSubmittedWorkDone fails in headless Chromium 156 here.)
    const readback = this.device.createBuffer({ size: 16, usage: 0x0001 | 0x0008 }); // MAP_READ | COPY_DST
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(this.uniform, 0, readback, 0, 16);
    this.device.queue.submit([encoder.finish()]);
    try {
      await readback.mapAsync(0x0001);
      return true;
    } catch (err) {
      console.warn("WebGPU: cannot wait for the queue; frame times exclude GPU work", err);
      this.syncBroken = true;
      return false;
    } finally {
      readback.destroy();
    }
  }

  dispose(): void {
    this.buffer?.destroy();
    this.texture?.destroy();
    this.target?.destroy();
  }
}

/** A WebGPU renderer, or null when the browser returns no adapter. */
export async function createWebGpuRenderer(canvas: HTMLCanvasElement, readback = false): Promise<GridRenderer | null> {
  const gpu = (navigator as Gpu).gpu;
  if (!gpu) return null;
  const adapter = await gpu.requestAdapter();
  if (!adapter) return null;
  const device = await adapter.requestDevice();
  const context = canvas.getContext("webgpu" as "2d") as Gpu;
  if (!context) return null;
  return new WebGpuRenderer(canvas, device, context, gpu.getPreferredCanvasFormat(), adapter, readback);
}
