// What both frame-benchmark pages (the grid's and its floor) publish, computed one way.

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** p50 / p99 of the callback's work, the frame and the interval, and how many exceed 8.3 ms (120 FPS). */
export function frameFigures(work: number[], frames: number[], intervals: number[]) {
  const w = [...work].sort((a, b) => a - b);
  const fr = [...frames].sort((a, b) => a - b);
  const iv = [...intervals].sort((a, b) => a - b);
  return {
    work_p50_ms: percentile(w, 50),
    work_p99_ms: percentile(w, 99),
    work_max_ms: w[w.length - 1],
    work_over_8_3ms: w.filter((t) => t > 8.3).length,
    frame_over_8_3ms: fr.filter((t) => t > 8.3).length,
    interval_over_8_3ms: iv.filter((t) => t > 8.3).length,
    frame_p50_ms: percentile(fr, 50),
    frame_p99_ms: percentile(fr, 99),
    interval_p50_ms: percentile(iv, 50),
    interval_p99_ms: percentile(iv, 99),
  };
}
