import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// Three pages: the planning app (index.html), the frame-time benchmark (bench.html), which
// scrolls a synthetic 10,000 x 1,000 view without a server, and the benchmark's floor
// (bench-floor.html: the same scroll drawn with nothing but the technique; src/bench/floor.ts).
export default defineConfig({
  plugins: [react()],
  // The render Worker (src/grid/render/canvas2d-worker.ts) is a module worker.
  worker: { format: "es" },
  build: {
    outDir: "dist",
    rollupOptions: { input: { main: "index.html", bench: "bench.html", floor: "bench-floor.html" } },
  },
  // The unit tests are pure (no DOM, no module state they rely on), so they share one worker
  // thread without isolation: 4.5 s instead of 17 s on the 2-core machine.
  test: { include: ["src/**/*.test.ts"], environment: "node", pool: "threads", isolate: false },
} as never);
