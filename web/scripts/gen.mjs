// Generates the TypeScript client (src/gen) from ../proto with Debian's protoc and the
// protoc-gen-es plugin from node_modules. (buf is not used: npm ci rejects its lock entries
// for other platforms' optional binaries.)
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const web = join(import.meta.dirname, "..");
const proto = join(web, "..", "proto");
const out = join(web, "src", "gen");
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith(".proto")) files.push(relative(proto, path));
  }
};
walk(proto);
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
execFileSync("protoc", [`--plugin=protoc-gen-es=${join(web, "node_modules", ".bin", "protoc-gen-es")}`, `--es_out=${out}`, "--es_opt=target=ts", `-I${proto}`, ...files], { stdio: "inherit" });
console.log(`generated ${files.length} proto files into src/gen`);
