// WebGL2 renderer: one instanced draw of textured rectangles (instances.ts). A partial damage
// set uploads only the damaged cells' slots with bufferSubData.

import type { DamageSet } from "../damage";
import type { FrameSnapshot } from "../frame";
import { sameShape } from "../frame";
import { GlyphAtlas, InstanceWriter, kFloatsPerInstance, kSlotsPerCell, parseColor } from "./instances";
import { kTheme, type GridRenderer } from "./renderer";

// Rectangles are pulled from a float texture by gl_VertexID (6 vertices each) rather than
// drawn as instances: SwiftShader, the WebGL2 that headless Chromium has here, runs every
// instance as its own draw internally (about 20 us each), which made a 13,000-instance frame
// take ~300 ms; one plain draw of the same rectangles does not have that cost.
const kRowInstances = 1024;
const kTexelsPerInstance = kFloatsPerInstance / 4;

const kVertex = `#version 300 es
uniform highp sampler2D u_data;
uniform vec2 u_viewport;
out vec2 v_uv; out vec4 v_color;
const int kCorner[6] = int[6](0, 1, 2, 2, 1, 3);
void main() {
  int instance = gl_VertexID / 6;
  int corner = kCorner[gl_VertexID - instance * 6];
  ivec2 base = ivec2((instance % ${kRowInstances}) * ${kTexelsPerInstance}, instance / ${kRowInstances});
  vec4 rect = texelFetch(u_data, base, 0);
  vec4 uv = texelFetch(u_data, base + ivec2(1, 0), 0);
  vec4 color = texelFetch(u_data, base + ivec2(2, 0), 0);
  vec2 c = vec2(float(corner & 1), float((corner >> 1) & 1));
  vec2 p = rect.xy + c * rect.zw;
  gl_Position = vec4(p / u_viewport * 2.0 - 1.0, 0.0, 1.0) * vec4(1.0, -1.0, 1.0, 1.0);
  v_uv = mix(uv.xy, uv.zw, c);
  v_color = color;
}`;

const kFragment = `#version 300 es
precision mediump float;
uniform sampler2D u_atlas;
in vec2 v_uv; in vec4 v_color;
out vec4 outColor;
void main() {
  float a = texture(u_atlas, v_uv).a * v_color.a;
  outColor = vec4(v_color.rgb * a, a);
}`;

class WebGl2Renderer implements GridRenderer {
  readonly kind = "webgl2" as const;
  readonly readsEveryCell = true;
  private readonly writer: InstanceWriter;
  private atlas: GlyphAtlas;
  private readonly program: WebGLProgram;
  private readonly vao: WebGLVertexArrayObject;
  private readonly atlasTexture: WebGLTexture;
  private readonly dataTexture: WebGLTexture;
  private readonly viewportLoc: WebGLUniformLocation | null;
  private dataRows = 0;
  private instanceCount = 0;
  private last: FrameSnapshot | null = null;
  private width = 1;
  private height = 1;
  private dpr = 0;

  constructor(private readonly canvas: HTMLCanvasElement, private readonly gl: WebGL2RenderingContext) {
    this.atlas = new GlyphAtlas(1);
    this.writer = new InstanceWriter(this.atlas);
    this.program = link(gl, kVertex, kFragment);
    this.viewportLoc = gl.getUniformLocation(this.program, "u_viewport");
    gl.useProgram(this.program);
    gl.uniform1i(gl.getUniformLocation(this.program, "u_atlas"), 0);
    gl.uniform1i(gl.getUniformLocation(this.program, "u_data"), 1);
    this.vao = gl.createVertexArray() as WebGLVertexArrayObject;
    this.atlasTexture = gl.createTexture() as WebGLTexture;
    this.dataTexture = gl.createTexture() as WebGLTexture;
  }

  resize(width: number, height: number, dpr: number): void {
    this.width = width;
    this.height = height;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    if (dpr !== this.dpr) {
      this.dpr = dpr;
      this.atlas = new GlyphAtlas(dpr);
      this.writer.atlas = this.atlas;
      const gl = this.gl;
      gl.activeTexture(gl.TEXTURE0);
      gl.bindTexture(gl.TEXTURE_2D, this.atlasTexture);
      gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, this.atlas.canvas as TexImageSource);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    }
    this.last = null;
  }

  /** Uploads instances [first, first + count) into the data texture, row by row. */
  private upload(first: number, count: number): void {
    const gl = this.gl;
    let i = first;
    const end = first + count;
    while (i < end) {
      const row = Math.floor(i / kRowInstances);
      const inRow = Math.min(end - i, (row + 1) * kRowInstances - i);
      gl.texSubImage2D(gl.TEXTURE_2D, 0, (i % kRowInstances) * kTexelsPerInstance, row, inRow * kTexelsPerInstance, 1,
        gl.RGBA, gl.FLOAT, this.writer.data, i * kFloatsPerInstance);
      i += inRow;
    }
  }

  draw(frame: FrameSnapshot, damage: DamageSet): void {
    const gl = this.gl;
    gl.activeTexture(gl.TEXTURE1);
    gl.bindTexture(gl.TEXTURE_2D, this.dataTexture);
    if (damage.isFull || !sameShape(this.last, frame)) {
      this.instanceCount = this.writer.full(frame);
      const rows = Math.ceil(this.instanceCount / kRowInstances);
      if (rows > this.dataRows) {
        this.dataRows = Math.ceil(rows * 1.25);
        gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA32F, kRowInstances * kTexelsPerInstance, this.dataRows, 0, gl.RGBA, gl.FLOAT, null);
        gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
        gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
      }
      this.upload(0, this.instanceCount);
    } else {
      const r = frame.range;
      damage.forEach((row, col) => {
        if (row < r.firstRow || row >= r.endRow || col < r.firstCol || col >= r.endCol) return;
        this.writer.cell(frame, row, col);
        this.upload(this.writer.count - kSlotsPerCell, kSlotsPerCell);
      });
    }
    this.last = frame;
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    const [r, g, b] = parseColor(kTheme.gridLine);
    gl.clearColor(r, g, b, 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    gl.useProgram(this.program);
    gl.uniform2f(this.viewportLoc, this.width, this.height);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, this.atlasTexture);
    gl.bindVertexArray(this.vao);
    gl.drawArrays(gl.TRIANGLES, 0, this.instanceCount * 6);
    gl.bindVertexArray(null);
  }

  finish(): Promise<boolean> {
    // readPixels waits for the GPU (a plain finish() may return early in Chromium).
    const px = new Uint8Array(4);
    this.gl.readPixels(0, 0, 1, 1, this.gl.RGBA, this.gl.UNSIGNED_BYTE, px);
    return Promise.resolve(true);
  }

  dispose(): void {
    this.gl.deleteTexture(this.dataTexture);
    this.gl.deleteTexture(this.atlasTexture);
    this.gl.deleteProgram(this.program);
  }
}

function link(gl: WebGL2RenderingContext, vs: string, fs: string): WebGLProgram {
  const compile = (type: number, src: string) => {
    const s = gl.createShader(type) as WebGLShader;
    gl.shaderSource(s, src);
    gl.compileShader(s);
    if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(s) ?? "shader");
    return s;
  };
  const p = gl.createProgram() as WebGLProgram;
  gl.attachShader(p, compile(gl.VERTEX_SHADER, vs));
  gl.attachShader(p, compile(gl.FRAGMENT_SHADER, fs));
  gl.linkProgram(p);
  if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(p) ?? "link");
  return p;
}

/** The GL renderer string, e.g. "ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device ...))". */
function rendererName(gl: WebGL2RenderingContext): string {
  const info = gl.getExtension("WEBGL_debug_renderer_info");
  return String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? "");
}

/**
 * A WebGL2 renderer, or null without WebGL2. Unless `allowSoftware`, a software rasteriser
 * (SwiftShader, llvmpipe) also gives null: measured here it takes 40-120 ms a frame where
 * Canvas2D takes 2-25 ms (docs/web.md), so the automatic choice falls through to Canvas2D.
 */
export function createWebGl2Renderer(canvas: HTMLCanvasElement, allowSoftware = false): GridRenderer | null {
  if (!allowSoftware) {
    // Probe on a throwaway canvas: a canvas that had a WebGL2 context can never get a 2D one.
    const probe = document.createElement("canvas").getContext("webgl2");
    if (!probe || /swiftshader|llvmpipe|software/i.test(rendererName(probe))) return null;
    probe.getExtension("WEBGL_lose_context")?.loseContext();
  }
  const gl = canvas.getContext("webgl2", { antialias: false, alpha: false, preserveDrawingBuffer: true });
  if (!gl) return null;
  return new WebGl2Renderer(canvas, gl);
}
