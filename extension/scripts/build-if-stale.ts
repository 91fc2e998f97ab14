/**
 * `npm start` runs this: builds the extension (Chrome and Firefox, with zips the server offers
 * on its home page) unless the zips are newer than every source file they come from.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

function oldestZip(): number {
  try {
    const zips = readdirSync(join(root, 'extension/.output')).filter((f) => /-(chrome|firefox)\.zip$/.test(f));
    if (zips.length < 2) return 0;
    return Math.min(...zips.map((f) => statSync(join(root, 'extension/.output', f)).mtimeMs));
  } catch {
    return 0;
  }
}

const sources = Math.max(newest(join(root, 'extension')), newest(join(root, 'shared')));
if (oldestZip() < sources) {
  console.log('Building the extension (Chrome and Firefox)…');
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
} else {
  console.log('The extension is up to date (extension/.output).');
}
