/**
 * The packages a store receives (built by `npm run build`, which `npm test` runs first): Mozilla's
 * linter passes with nothing to say, the manifests carry icons and only justified permissions,
 * the Chrome store build has no fixed key, and the sources zip rebuilds the Firefox package
 * byte for byte in an empty folder.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUTPUT = join(ROOT, 'extension/.output');
const BUILDS = { chrome: 'chrome-mv3', chromeStore: 'chrome-mv3-store', firefox: 'firefox-mv2' } as const;

interface Manifest {
  manifest_version: number;
  icons?: Record<string, string>;
  permissions?: string[];
  host_permissions?: string[];
  key?: string;
  browser_specific_settings?: { gecko?: { data_collection_permissions?: { required?: string[] } } };
}

async function manifest(build: string): Promise<Manifest> {
  const file = join(OUTPUT, build, 'manifest.json');
  if (!existsSync(file)) throw new Error(`${file} is missing: run npm run build first`);
  return JSON.parse(await readFile(file, 'utf8')) as Manifest;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe('store packages', () => {
  it('web-ext lint finds no errors and no warnings in the Firefox build', async () => {
    await manifest(BUILDS.firefox);
    const bin = join(ROOT, 'node_modules/.bin/web-ext');
    // web-ext exits non-zero when it finds errors; the JSON report is on stdout either way.
    const { stdout } = await run(bin, ['lint', '--source-dir', join(OUTPUT, BUILDS.firefox), '--output', 'json', '--no-config-discovery'], {
      maxBuffer: 16 * 1024 * 1024,
    }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
    const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as {
      summary: { errors: number; warnings: number };
      errors: { code: string; message: string }[];
      warnings: { code: string; message: string }[];
    };
    expect([...report.errors, ...report.warnings].map((m) => `${m.code}: ${m.message}`)).toEqual([]);
    expect(report.summary).toMatchObject({ errors: 0, warnings: 0 });
  });

  it('every build has icons from 16 to 128 pixels, and the PNGs have those sizes', async () => {
    for (const build of Object.values(BUILDS)) {
      const icons = (await manifest(build)).icons ?? {};
      for (const size of ['16', '32', '48', '128']) {
        const path = icons[size];
        expect(path, `${build} icon ${size}`).toBeDefined();
        const png = await readFile(join(OUTPUT, build, path!));
        // IHDR: width and height are the first fields after the 8-byte signature and chunk header.
        expect([png.readUInt32BE(16), png.readUInt32BE(20)], `${build} ${path}`).toEqual([Number(size), Number(size)]);
      }
    }
  });

  it('asks only for the permissions the README justifies; the store build has no key', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const section = /### Permissions\n([\s\S]*?)\n#/.exec(readme)?.[1] ?? '';
    const justified = new Set([...section.matchAll(/^\| `([^`]+)`/gm)].map((m) => m[1]));
    expect(justified.size).toBeGreaterThan(0);
    for (const build of Object.values(BUILDS)) {
      const m = await manifest(build);
      for (const permission of [...(m.permissions ?? []), ...(m.host_permissions ?? [])]) {
        expect(justified.has(permission), `${build} asks for ${permission}, which the README's Permissions section does not justify`).toBe(true);
      }
    }
    expect((await manifest(BUILDS.chrome)).key).toMatch(/^MII/);
    expect((await manifest(BUILDS.chromeStore)).key).toBeUndefined();
    expect((await manifest(BUILDS.firefox)).browser_specific_settings?.gecko?.data_collection_permissions?.required).toEqual(['websiteContent']);
    for (const zip of ['chrome', 'chrome-store', 'firefox', 'sources']) {
      expect(existsSync(join(OUTPUT, `tandem-0.1.0-${zip}.zip`)), zip).toBe(true);
    }
  });

  it('the sources zip rebuilds the Firefox package byte for byte', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tandem-sources-'));
    try {
      await run('unzip', ['-q', join(OUTPUT, 'tandem-0.1.0-sources.zip'), '-d', dir]);
      const unpacked = await filesUnder(dir);
      expect(unpacked).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'extension/BUILDING.md', 'extension/wxt.config.ts', 'shared/protocol/codec.ts']));
      expect(unpacked.filter((f) => /^(server|db|test)\//.test(f))).toEqual([]);
      // `npm ci` would install exactly the lockfile's versions; the tree's own install is those.
      await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
      await run(join(ROOT, 'node_modules/.bin/wxt'), ['build', 'extension', '-b', 'firefox'], { cwd: dir, maxBuffer: 16 * 1024 * 1024 });
      const built = join(dir, 'extension/.output', BUILDS.firefox);
      const original = join(OUTPUT, BUILDS.firefox);
      const files = await filesUnder(original);
      expect(await filesUnder(built)).toEqual(files);
      for (const file of files) {
        const [a, b] = await Promise.all([readFile(join(original, file)), readFile(join(built, file))]);
        expect(a.equals(b), `${file} differs when rebuilt from the sources zip`).toBe(true);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
