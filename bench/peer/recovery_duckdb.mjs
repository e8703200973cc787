// DuckDB peer of durable_bench: the same cells in DuckDB's own database file. Setup (not timed
// as recovery): the file is built from cells.csv once. Then, REPS times: open the database
// file and read every cell (count and sum), which is what a restart of a planning server over
// DuckDB must do before it answers; and durable single-row UPDATEs (autocommit: each commit is
// made durable by DuckDB's WAL) from one connection for SECONDS.
//
//   NODE_PATH=bench/var/peer/node_modules node bench/peer/recovery_duckdb.mjs --data DIR --work DIR [--reps 3] [--seconds 3]
import fs from 'node:fs';
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
const WORK = path.resolve(args.work ?? '/tmp/qa_durable_bench');
const REPS = Number(args.reps ?? 3);
const SECONDS = Number(args.seconds ?? 3);
const DB = `${WORK}/duck.db`;
fs.mkdirSync(WORK, { recursive: true });
for (const f of [DB, `${DB}.wal`]) fs.rmSync(f, { force: true });

let t0 = performance.now();
{
  const inst = await duckdb.DuckDBInstance.create(DB, { threads: '2' });
  const con = await inst.connect();
  await con.run('CREATE TABLE cells (a INTEGER, c INTEGER, m INTEGER, s INTEGER, p INTEGER, v DOUBLE)');
  await con.run(`COPY cells FROM '${DATA}/cells.csv' (FORMAT csv, HEADER false)`);
  await con.run('CHECKPOINT');
  con.closeSync?.();
  inst.closeSync?.();
}
const build_ms = performance.now() - t0;
const version = await (async () => {
  const inst = await duckdb.DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  return (await con.runAndReadAll('SELECT version() AS v')).getRowObjectsJS()[0].v;
})();
console.log(JSON.stringify({ bench: 'duckdb_setup', version, build_ms: Math.round(build_ms) }));

for (let rep = 0; rep < REPS; ++rep) {
  t0 = performance.now();
  const inst = await duckdb.DuckDBInstance.create(DB, { threads: '2' });
  const con = await inst.connect();
  const open_ms = performance.now() - t0;
  const r = (await con.runAndReadAll('SELECT count(*) AS n, sum(v) AS s FROM cells')).getRowObjectsJS()[0];
  const read_ms = performance.now() - t0;
  console.log(JSON.stringify({ bench: 'duckdb_recovery', rep, cells: Number(r.n), open_ms: Math.round(open_ms * 10) / 10,
    open_and_read_all_ms: Math.round(read_ms) }));
  con.closeSync?.();
  inst.closeSync?.();
}

{
  const inst = await duckdb.DuckDBInstance.create(DB, { threads: '2' });
  const con = await inst.connect();
  const lat = [];
  const end = performance.now() + SECONDS * 1000;
  let i = 0;
  while (performance.now() < end) {
    const t = performance.now();
    await con.run(`UPDATE cells SET v = ${i} WHERE rowid = ${(i * 7919) % 10000000}`);
    lat.push((performance.now() - t) * 1000);
    ++i;
  }
  lat.sort((x, y) => x - y);
  console.log(JSON.stringify({ bench: 'duckdb_durable_update', writers: 1, writes: lat.length,
    writes_per_s: Math.round(lat.length / SECONDS), p50_us: Math.round(lat[Math.floor(lat.length * 0.5)]),
    p99_us: Math.round(lat[Math.floor(lat.length * 0.99)]) }));
}
