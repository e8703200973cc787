// Starts the real server on the demo model for the end-to-end tests: writes the P&L demo with
// the command-line tool, imports both apps, bridges the GL actuals, sets targets and comments,
// then runs quantatom-server on a free port serving web/dist, with a preset admin token.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

export const kAdminToken = "qa_e2e_admin_token_0123456789abcdef";

export function buildDir() {
  const dir = resolve(process.env.QA_BUILD_DIR ?? join(import.meta.dirname, "..", "..", "build"));
  for (const bin of ["src/cli/quantatom", "src/server/quantatom-server"])
    if (!existsSync(join(dir, bin))) throw new Error(`missing ${join(dir, bin)}: build quantatom and quantatom-server first`);
  return dir;
}

/**
 * Writes the demo data folder under `root` (a new temporary folder by default) and returns
 * { root, data }. When QA_DEMO_DATA names a folder already prepared (scripts/web-test.sh does
 * so in the background while the client builds: the imports spend most of their 25 s in
 * fsync), that one is used.
 */
export function prepareDemo(build, root = undefined) {
  const ready = process.env.QA_DEMO_DATA;
  if (!root && ready) {
    if (!existsSync(join(ready, "apps", "plan.qa"))) throw new Error(`QA_DEMO_DATA=${ready}: no prepared demo there (apps/plan.qa missing)`);
    return { root: dirname(ready), data: ready };
  }
  root ??= mkdtempSync(join(tmpdir(), "qa-web-e2e-"));
  const q = (...args) => execFileSync(join(build, "src/cli/quantatom"), args, { stdio: ["ignore", "ignore", "inherit"] });
  const data = join(root, "data");
  const demo = join(root, "demo");
  q("demo", "--out", demo);
  q("import", "--data", data, "--app", "gl_actuals", "--dataset", join(demo, "gl_actuals"));
  q("import", "--data", data, "--app", "plan", "--dataset", join(demo, "plan"));
  q("bridge", "--data", data, "--source", "gl_actuals", "--target", "plan", "--source-dim", "gl_account", "--target-dim", "account",
    "--rules", join(demo, "bridge_rules.csv"));
  q("target", "--data", data, "--app", "plan", "--file", join(demo, "targets.csv"));
  q("comment", "--data", data, "--app", "plan", "--file", join(demo, "comments.csv"));
  return { root, data };
}

/** Starts the server; resolves to { url, stop }. */
export function startServer(build, data, webDist) {
  return new Promise((resolveStart, reject) => {
    const child = spawn(join(build, "src/server/quantatom-server"), ["--data", data, "--port", "0", "--web", webDist, "--log-level", "warn"], {
      env: { ...process.env, QUANTATOM_ADMIN_TOKEN: kAdminToken },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    const timer = setTimeout(() => reject(new Error(`server did not start in 60 s:\n${out}\n${err}`)), 60_000);
    child.stderr.on("data", (d) => (err += d).length > 100_000 && (err = err.slice(-50_000)));
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/on (http:\/\/[\d.]+:\d+)\//);
      if (m) {
        clearTimeout(timer);
        resolveStart({
          url: m[1],
          pid: child.pid,
          logs: () => err,
          stop: () => new Promise((done) => {
            if (child.exitCode !== null) return done();
            child.once("exit", done);
            child.kill("SIGTERM");
          }),
        });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${out}\n${err}`));
    });
  });
}

/** Calls a unary method with the Connect JSON codec (test setup only; the app uses binary). */
export async function callJson(url, token, method, body) {
  const res = await fetch(`${url}/quantatom.v1.${method}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Connect-Protocol-Version": "1", Authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method}: HTTP ${res.status}: ${text}`);
  return JSON.parse(text);
}
