// Prepares the end-to-end tests' demo data folder ahead of them (scripts/web-test.sh runs it in
// the background while the client builds), then prints the data folder's path.
//   node e2e/prepare-demo.mjs BUILD_DIR ROOT
import { prepareDemo } from "./server-fixture.mjs";

const [build, root] = process.argv.slice(2);
if (!build || !root) throw new Error("usage: node e2e/prepare-demo.mjs BUILD_DIR ROOT");
console.log(prepareDemo(build, root).data);
