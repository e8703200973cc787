// DuckDB peer of bench/formula_bench.cc: the same formulas as SQL over the same columns.
//
//   node bench/peer/formula_duckdb.mjs --data DATA_DIR [--reps 3] [--modules DIR_WITH_node_modules]
//
// The cells are pivoted once (not timed) into one row per (account, cost center, month,
// product) with the Actual and Budget values as columns: the layout in which the formulas are
// plain column expressions, DuckDB's best case. Then, timed:
//   F1 CREATE TABLE margin AS SELECT keys, budget - actual   (rows where either is present)
//   F2 the 5-deep chain as five columns of one SELECT (each later column uses the earlier ones)
//   F3 one Budget value changes: UPDATE of its wide row and of its chain row (median of 200)
// Empty reads as 0 (COALESCE), as in the formula language. Checksums: the sum of Margin and of C5.
import path from 'node:path';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, x, i, arr) => {
    if (x.startsWith('--')) acc.push([x.slice(2), arr[i + 1]]);
    return acc;
  }, []),
);
const DATA = path.resolve(args.data);
const REPS = Number(args.reps ?? 3);
const here = path.dirname(new URL(import.meta.url).pathname);
const MODULES = path.resolve(args.modules ?? process.env.QA_PEER_DIR ?? path.join(here, '../var/peer'));
const duckdb = createRequire(path.join(MODULES, 'package.json'))('@duckdb/node-api');

const median = (xs) => {
  const v = [...xs].sort((x, y) => x - y);
  const n = v.length;
  return n % 2 ? v[(n - 1) / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
};
const summary = (xs, unit) => ({
  [`median_${unit}`]: median(xs), [`min_${unit}`]: Math.min(...xs), [`max_${unit}`]: Math.max(...xs), n: xs.length,
});
const emit = (o) => process.stdout.write(JSON.stringify({ peer: 'duckdb', ...o }) + '\n');
const log = (...x) => process.stderr.write(`[duckdb] ${x.join(' ')}\n`);

const inst = await duckdb.DuckDBInstance.create(':memory:', { threads: '2' });
const con = await inst.connect();
const q = async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJS();
const ex = async (sql) => { await con.run(sql); };
const ver = (await q(`SELECT version() AS v, current_setting('threads') AS t`))[0];

let t0 = performance.now();
await ex('CREATE TABLE cells (a INTEGER, c INTEGER, m INTEGER, s INTEGER, p INTEGER, v DOUBLE)');
await ex(`COPY cells FROM '${DATA}/cells.csv' (FORMAT csv, HEADER false)`);
await ex(`CREATE TABLE wide AS SELECT a, c, m, p, MAX(v) FILTER (WHERE s = 0) AS actual, MAX(v) FILTER (WHERE s = 1) AS budget
          FROM cells WHERE s IN (0, 1) GROUP BY a, c, m, p`);
const rows = (await q('SELECT COUNT(*) AS n FROM wide'))[0].n;
log(`loaded and pivoted into ${rows} rows in ${(performance.now() - t0).toFixed(0)} ms`);

const time = async (sql) => {
  const times = [];
  for (let r = 0; r <= REPS; ++r) {
    const t = performance.now();
    await ex(sql);
    if (r > 0) times.push(performance.now() - t);
  }
  return times;
};
const version = `DuckDB ${ver.v} (threads=${ver.t})`;

const MARGIN = `CREATE OR REPLACE TABLE margin AS
  SELECT a, c, m, p, COALESCE(budget, 0) - COALESCE(actual, 0) AS v FROM wide`;
let times = await time(MARGIN);
let ck = (await q('SELECT COUNT(*) AS n, SUM(v) AS s FROM margin'))[0];
emit({ workload: 'F1', variant: 'CREATE TABLE AS SELECT budget - actual over the pivoted columns', ...summary(times, 'ms'),
       cells: Number(ck.n), checksum: ck.s, cells_per_s: Number(ck.n) / (median(times) / 1000), version });

const CHAIN = `CREATE OR REPLACE TABLE chain AS
  SELECT a, c, m, p, COALESCE(budget, 0) * 1.1 AS c1, c1 - COALESCE(actual, 0) AS c2, c2 * 0.5 + COALESCE(budget, 0) AS c3,
         c3 / 2 AS c4, c4 + c1 AS c5 FROM wide`;
times = await time(CHAIN);
ck = (await q('SELECT COUNT(*) AS n, SUM(c5) AS s FROM chain'))[0];
emit({ workload: 'F2', variant: 'CREATE TABLE AS SELECT five chained columns over the pivoted columns', ...summary(times, 'ms'),
       cells: Number(ck.n), formulas: 5, checksum: ck.s, cells_per_s: 5 * Number(ck.n) / (median(times) / 1000), version });

const sample = await q('SELECT a, c, m, p, budget FROM wide WHERE budget IS NOT NULL USING SAMPLE 200 ROWS');
const one = [];
for (let i = 0; i < sample.length; ++i) {
  const { a, c, m, p, budget } = sample[i];
  const where = `a = ${a} AND c = ${c} AND m = ${m} AND p = ${p}`;
  const t = performance.now();
  await ex(`UPDATE wide SET budget = ${budget + 1 + i} WHERE ${where}`);
  await ex(`UPDATE chain SET c1 = w.b * 1.1, c2 = w.b * 1.1 - w.ac, c3 = (w.b * 1.1 - w.ac) * 0.5 + w.b,
              c4 = ((w.b * 1.1 - w.ac) * 0.5 + w.b) / 2, c5 = ((w.b * 1.1 - w.ac) * 0.5 + w.b) / 2 + w.b * 1.1
            FROM (SELECT COALESCE(budget, 0) AS b, COALESCE(actual, 0) AS ac FROM wide WHERE ${where}) w
            WHERE chain.${where.replaceAll(' AND ', ' AND chain.')}`);
  one.push((performance.now() - t) * 1000);
}
emit({ workload: 'F3', variant: 'UPDATE one Budget value and its chain row', ...summary(one, 'us'), version });
