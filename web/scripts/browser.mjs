// Launches Debian's chromium through playwright-core with the flags verified on this machine
// (shared/DEPS.md §4). `webgpu` adds --enable-unsafe-webgpu, without which no adapter is returned.
import { chromium } from "playwright-core";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const kChromium = process.env.CHROMIUM ?? "/usr/bin/chromium";

// uncapped: no vsync and no frame-rate limit, so animation frames come as fast as the page
// produces them (headless Chromium otherwise delivers at most 60 a second).
export function chromiumArgs({ webgpu = false, uncapped = false } = {}) {
  const args = ["--headless", "--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"];
  if (webgpu) args.push("--enable-unsafe-webgpu");
  else args.push("--disable-gpu");
  if (uncapped) args.push("--disable-gpu-vsync", "--disable-frame-rate-limit");
  return args;
}

export async function launch({ webgpu = false, uncapped = false } = {}) {
  return chromium.launch({ executablePath: kChromium, headless: true, args: chromiumArgs({ webgpu, uncapped }) });
}

export function freshDir(prefix) {
  return mkdtempSync(join(tmpdir(), prefix));
}
