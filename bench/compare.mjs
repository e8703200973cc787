// Joins our benchmark lines with DuckDB's (same workloads, same data) and prints a markdown
// table: medians, the ratio ours/DuckDB, and whether the checksums agree.
//   node bench/compare.mjs quantatom.jsonl duckdb.jsonl
import fs from 'node:fs';

const read = (f) => fs.readFileSync(f, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
const ours = read(process.argv[2]);
const duck = read(process.argv[3]);
const duckOf = (w) => {
  const rows = duck.filter((d) => d.workload === w && d.median_ms != null);
  if (w === 'W2b') return rows.find((d) => d.variant.startsWith('staged')) ?? rows[0];
  return rows[0];
};
// What DuckDB reports as the comparable figure for each workload.
const duckCheck = (d) => d.checksum ?? d.ancestor_total ?? d.target_after_last ?? null;

const lines = ['| workload | variant | quantatom ms | duckdb ms | ratio | rows ours/duckdb | checksum ours | checksum duckdb | rel. diff |',
  '|---|---|---:|---:|---:|---|---:|---:|---:|'];
for (const o of ours) {
  const d = duckOf(o.workload);
  if (!d) continue;
  const ratio = o.median_ms / d.median_ms;
  const a = o.checksum_exact != null ? Number(o.checksum_exact) : o.checksum;
  const b = duckCheck(d);
  const rel = a != null && b != null ? Math.abs(a - b) / Math.max(1, Math.abs(b)) : null;
  lines.push(`| ${o.workload} | ${o.variant} | ${o.median_ms.toFixed(3)} | ${d.median_ms.toFixed(1)} | ${ratio < 0.01 ? '1/' + Math.round(1 / ratio) : ratio.toFixed(3)} (1/${(1 / ratio).toFixed(1)}) | ${o.rows_out ?? ''}/${d.rows_out ?? ''} | ${o.checksum_exact ?? o.checksum ?? ''} | ${b ?? ''} | ${rel == null ? '' : rel.toExponential(2)} |`);
}
const w1 = ours.find((o) => o.workload === 'W1');
if (w1) lines.push('', `memory: ${w1.bytes_per_cell_rss.toFixed(2)} bytes per cell (RSS after load minus empty process), ${w1.bytes_per_cell_store.toFixed(2)} in the store's own accounting`);
console.log(lines.join('\n'));
