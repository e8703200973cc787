// DuckDB peer of guidance_bench (G1): the same proportional guidance computed in SQL.
//
//   NODE_PATH=/work/main/bench/var/peer/node_modules \
//     node bench/peer/guidance_duckdb.mjs --data /work/bench/data10M [--reps 7] \
//     [--target 10555,222,32,1,110] [--value 5e11]
//
// Cells and closure tables are loaded as ../shared/bench/drivers/bench.mjs loads them (untimed).
// Timed: materialising the guidance table, g = v x T / sum(w x v) over the cells under the
// target (w: product of the closure weights toward the target), one window aggregate. The
// checksum is the sum of the guidance values, as guidance_bench prints it.
import path from 'node:path';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const duckdb = require(require.resolve('@duckdb/node-api', { paths: (process.env.NODE_PATH || '').split(':') }));

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, x, i, arr) => {
    if (x.startsWith('--')) acc.push([x.slice(2), arr[i + 1]]);
    return acc;
  }, []),
);
const DATA = path.resolve(args.data);
const REPS = Number(args.reps ?? 7);
const [A, C, M, S, P] = (args.target ?? '10555,222,32,1,110').split(',').map(Number);
const T = Number(args.value ?? 5e11);

const median = (xs) => {
  const v = [...xs].sort((x, y) => x - y);
  const n = v.length;
  return n % 2 ? v[(n - 1) / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
};

const inst = await duckdb.DuckDBInstance.create(':memory:', { threads: '2' });
const con = await inst.connect();
const q = async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJS();
const ex = async (sql) => { await con.run(sql); };
const ver = (await q(`SELECT version() AS v, current_setting('threads') AS t`))[0];

for (const d of ['account', 'costcenter', 'month', 'product'])
  await ex(`CREATE TABLE cl_${d} AS SELECT * FROM read_csv('${DATA}/closure_${d}.csv', header=false,
    columns={'leaf':'INTEGER','anc':'INTEGER','w':'DOUBLE','lvl':'INTEGER'})`);
await ex('CREATE TABLE cells (a INTEGER, c INTEGER, m INTEGER, s INTEGER, p INTEGER, v DOUBLE)');
await ex(`COPY cells FROM '${DATA}/cells.csv' (FORMAT csv, HEADER false)`);

const guidanceSql = (value) => `
  CREATE OR REPLACE TEMP TABLE guidance AS
  WITH under AS (
    SELECT x.a, x.c, x.m, x.s, x.p, x.v, ca.w * cc.w * cm.w * cp.w AS w
    FROM cells x
    JOIN cl_account    ca ON ca.leaf = x.a AND ca.anc = ${A}
    JOIN cl_costcenter cc ON cc.leaf = x.c AND cc.anc = ${C}
    JOIN cl_month      cm ON cm.leaf = x.m AND cm.anc = ${M}
    JOIN cl_product    cp ON cp.leaf = x.p AND cp.anc = ${P}
    WHERE x.s = ${S})
  SELECT a, c, m, s, p, v * (${value} / SUM(w * v) OVER ()) AS g FROM under`;

const times = [];
for (let r = -1; r < REPS; ++r) {
  const value = T * (1 + 1e-9 * (r + 1));
  const t0 = performance.now();
  await ex(guidanceSql(value));
  const t1 = performance.now();
  if (r >= 0) times.push(t1 - t0);
}
await ex(guidanceSql(T));
const check = (await q('SELECT COUNT(*) AS n, SUM(g) AS ck FROM guidance'))[0];
const out = {
  peer: 'duckdb', workload: 'G1', variant: 'materialise_guidance',
  median_ms: median(times), min_ms: Math.min(...times), max_ms: Math.max(...times), times_ms: times,
  rows_out: Number(check.n), checksum: Number(check.ck), target: T,
  version: `DuckDB ${ver.v} (node-api, in-process, :memory:, threads=${ver.t})`,
};
process.stdout.write(JSON.stringify(out) + '\n');
process.stderr.write(`[duckdb] G1 materialise_guidance: median ${out.median_ms.toFixed(3)} ms\n`);
