// DuckDB peer of quantatom_bench's S3: a proportional spread of +1% into each year's Budget
// total (every account, cost center and product) with one product group held, repeated REPS
// times. Per year, in one transaction: the held and unheld sums, then
// UPDATE cells SET v = v * factor over the unheld Budget cells of that year.
//
//   NODE_PATH=bench/var/peer/node_modules node bench/peer/spread_duckdb.mjs --data DIR [--reps 7]
//
// The checksum is the sum of the Budget cells after the last rep (the two year totals).
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
for (const d of ['month', 'product'])
  await ex(`CREATE TABLE cl_${d} AS SELECT * FROM read_csv('${DATA}/closure_${d}.csv', header=false,
    columns={'leaf':'INTEGER','anc':'INTEGER','w':'DOUBLE','lvl':'INTEGER'})`);
await ex('CREATE TABLE cells (a INTEGER, c INTEGER, m INTEGER, s INTEGER, p INTEGER, v DOUBLE)');
await ex(`COPY cells FROM '${DATA}/cells.csv' (FORMAT csv, HEADER false)`);

// The same members as quantatom_bench: Budget is scenario id 1; the years are the month members
// of the top level; the held group is the first product member of level 1.
const years = (await q(`SELECT DISTINCT anc FROM cl_month WHERE lvl = (SELECT MAX(lvl) FROM cl_month) ORDER BY anc`)).map((r) => r.anc);
const held = (await q(`SELECT MIN(anc) AS g FROM cl_product WHERE lvl = 1`))[0].g;

const times = [];
let changed = 0;
for (let r = 0; r < REPS; ++r) {
  const t0 = performance.now();
  changed = 0;
  for (const y of years) {
    await ex('BEGIN');
    const sums = (await q(`
      SELECT SUM(CASE WHEN x.p IN (SELECT leaf FROM cl_product WHERE anc = ${held}) THEN x.v ELSE 0 END) AS held,
             SUM(CASE WHEN x.p IN (SELECT leaf FROM cl_product WHERE anc = ${held}) THEN 0 ELSE x.v END) AS unheld
      FROM cells x WHERE x.s = 1 AND x.m IN (SELECT leaf FROM cl_month WHERE anc = ${y})`))[0];
    const total = (sums.held + sums.unheld) * 1.01;
    const factor = (total - sums.held) / sums.unheld;
    const res = await con.run(`UPDATE cells SET v = v * ${factor} WHERE s = 1
      AND m IN (SELECT leaf FROM cl_month WHERE anc = ${y})
      AND p NOT IN (SELECT leaf FROM cl_product WHERE anc = ${held})`);
    changed += Number(res.rowsChanged ?? 0);
    await ex('COMMIT');
  }
  times.push(performance.now() - t0);
}
const check = (await q('SELECT SUM(v) AS ck FROM cells WHERE s = 1'))[0];
const out = {
  peer: 'duckdb', workload: 'S3', variant: 'spread_budget_grand_total_held',
  median_ms: median(times), min_ms: Math.min(...times), max_ms: Math.max(...times), times_ms: times,
  rows_out: changed, checksum: Number(check.ck),
  version: `DuckDB ${ver.v} (node-api, in-process, :memory:, threads=${ver.t})`,
};
process.stdout.write(JSON.stringify(out) + '\n');
process.stderr.write(`[duckdb] S3: median ${out.median_ms.toFixed(1)} ms\n`);
