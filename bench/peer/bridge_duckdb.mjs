// DuckDB peer of bench/bridge_bench.cc: the same bridged totals with SQL.
//
//   node bench/peer/bridge_duckdb.mjs --data DATA_DIR --mapping OUT_DIR/mapping.csv [--reps 5]
//        [--modules DIR_WITH_node_modules]   (default: $QA_PEER_DIR, else bench/var/peer)
//
// mapping.csv holds the rows bridge_bench resolved (source leaf id, plan account index, weight),
// so both engines apply the same mapping; DuckDB joins the cells with it and groups by the
// target coordinate. Prints JSON lines like bridge_bench:
//   B1 CREATE TABLE bridged AS SELECT ... GROUP BY (median of reps after a warm-up), with
//      rows_out, sum and the same checksum;
//   B2 one source row changes: the UPDATE of its bridged rows (median over many changes), and
//      the source UPDATE + bridged UPDATE together.
import fs from 'node:fs';
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
const MAPPING = path.resolve(args.mapping);
const REPS = Number(args.reps ?? 5);
const CHANGES = Number(args.changes ?? 200);
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
  ...(xs.length <= 20 ? { [`times_${unit}`]: xs } : {}),
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
await ex(`CREATE TABLE map AS SELECT * FROM read_csv('${MAPPING}', header=false,
          columns={'src':'INTEGER','t':'INTEGER','w':'DOUBLE'})`);
log(`loaded cells and ${(await q('SELECT COUNT(*) AS n FROM map'))[0].n} mapping rows in ${(performance.now() - t0).toFixed(0)} ms`);

// ---- B1: full materialisation.
const BRIDGE = `SELECT m.t AS a, x.c AS c, x.m AS m, x.s AS s, x.p AS p, SUM(x.v * m.w) AS v
                FROM cells x JOIN map m ON m.src = x.a
                GROUP BY m.t, x.c, x.m, x.s, x.p`;
const times = [];
for (let r = 0; r <= REPS; ++r) {
  await ex('DROP TABLE IF EXISTS bridged');
  t0 = performance.now();
  await ex(`CREATE TABLE bridged AS ${BRIDGE}`);
  if (r > 0) times.push(performance.now() - t0);
}
const ck = (await q(`SELECT COUNT(*) AS n, SUM(v) AS sv,
                            SUM(v * ((a*7 + c*13 + m*17 + s*19 + p*23) % 101 + 1)) AS ck FROM bridged`))[0];
emit({ workload: 'B1', variant: 'CREATE TABLE bridged AS SELECT ... JOIN map GROUP BY target', ...summary(times, 'ms'),
       rows_out: Number(ck.n), sum: ck.sv, checksum: ck.ck, version: `DuckDB ${ver.v} (threads=${ver.t})` });

// ---- B2: one source row changes; its bridged rows take the weighted difference.
const sample = await q(`SELECT a, c, m, s, p, v FROM cells USING SAMPLE ${CHANGES} ROWS`);
const bridgedOnly = [], both = [];
for (let i = 0; i < sample.length; ++i) {
  const { a, c, m, s, p, v } = sample[i];
  const d = 1 + (i % 7);
  const t1 = performance.now();
  await ex(`UPDATE cells SET v = ${v + d} WHERE a = ${a} AND c = ${c} AND m = ${m} AND s = ${s} AND p = ${p}`);
  const t2 = performance.now();
  await ex(`UPDATE bridged SET v = bridged.v + ${d} * map.w FROM map
            WHERE map.src = ${a} AND bridged.a = map.t AND bridged.c = ${c} AND bridged.m = ${m}
              AND bridged.s = ${s} AND bridged.p = ${p}`);
  const t3 = performance.now();
  bridgedOnly.push(1000 * (t3 - t2));
  both.push(1000 * (t3 - t1));
}
const fresh = (await q(`SELECT COUNT(*) AS n, SUM(ABS(b.v - f.v)) AS diff FROM bridged b
                        JOIN (${BRIDGE}) f USING (a, c, m, s, p)`))[0];
emit({ workload: 'B2', variant: 'incremental: UPDATE bridged rows of one source change', ...summary(bridgedOnly, 'us'),
       changes: sample.length, incremental_equals_full: Number(fresh.n) === Number(ck.n) && fresh.diff < 1e-6 });
emit({ workload: 'B2', variant: 'incremental: UPDATE source row + UPDATE bridged rows', ...summary(both, 'us') });
con.closeSync?.();
inst.closeSync?.();
