// For the dashboard tests: a build of ui/ no older than its sources, and Debian's Chromium
// driven by playwright-core (never a downloaded browser).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const BUILT = join(REPO, 'dist', 'ui');
export const CHROMIUM = process.env.HOOKYARD_CHROMIUM ?? '/usr/bin/chromium';

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/** Builds the dashboard when dist/ui is missing or older than a file under ui/. */
export function ensureBuilt(): void {
  const index = join(BUILT, 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newest(join(REPO, 'ui'))) return;
  execFileSync('npm', ['run', '--silent', 'build:ui'], { cwd: REPO, stdio: 'inherit' });
}

/** Every script and style sheet the build made, with its size and its gzipped size. */
export function builtAssets(): { file: string; bytes: number; gzipped: number }[] {
  const dir = join(BUILT, 'assets');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.js') || f.endsWith('.css'))
    .map((file) => {
      const body = readFileSync(join(dir, file));
      return { file, bytes: body.length, gzipped: gzipSync(body, { level: 9 }).length };
    });
}

/** A fresh profile directory per browser, removed afterwards. */
export function profileDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'hookyard-chromium-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Chromium's flags for a closed network: no background traffic, no sandbox as root. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];
