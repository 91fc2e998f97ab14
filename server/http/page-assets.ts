/**
 * Serves the document page's editor: the files extension/scripts/build-page-editor.mjs wrote
 * and listed in its manifest, nothing else. Their names carry a hash of their content, so
 * browsers keep them a year without asking again (`immutable`); each is sent brotli- or
 * gzip-compressed when the browser takes it (precompressed at build time), with a strong ETag
 * per encoding for the revalidations that still happen (a forced reload).
 */
import { createReadStream, readFileSync, statSync } from 'node:fs';
import type { Context } from 'koa';
import { EXTENSION_OUTPUT } from '../paths';

interface Manifest {
  entry: string;
  /** File name → Content-Type. */
  files: Record<string, string>;
}

/** The URL path the files are served under (build-page-editor.mjs bakes it into the script). */
export const ASSETS_PATH = '/assets/';

const DIR = `${EXTENSION_OUTPUT}page-editor/`;
const YEAR_S = 365 * 24 * 3600;
type Encoding = 'br' | 'gzip' | 'identity';
const SUFFIX: Record<Encoding, string> = { br: '.br', gzip: '.gz', identity: '' };

export class PageAssets {
  private manifest: Manifest | null = null;
  private manifestMtime = -1;

  /** The manifest, re-read when a build rewrote it; null when the editor is not built. */
  private current(): Manifest | null {
    let mtime: number;
    try {
      mtime = statSync(`${DIR}manifest.json`).mtimeMs;
    } catch {
      return null; // not built
    }
    if (mtime !== this.manifestMtime) {
      this.manifest = JSON.parse(readFileSync(`${DIR}manifest.json`, 'utf8')) as Manifest;
      this.manifestMtime = mtime;
    }
    return this.manifest;
  }

  /** The editor script's URL path, or null when the editor is not built. */
  entry(): string | null {
    const manifest = this.current();
    return manifest ? `${ASSETS_PATH}${manifest.entry}` : null;
  }

  /** Answers a request for `name`; false when no such file was built. */
  serve(ctx: Context, name: string): boolean {
    const type = this.current()?.files[name];
    if (!type) return false;
    // Our preference, not the header's order (Node and curl list gzip first): br is ~20% smaller.
    const encoding: Encoding = ctx.acceptsEncodings('br') === 'br' ? 'br' : ctx.acceptsEncodings('gzip') === 'gzip' ? 'gzip' : 'identity';
    const etag = `"${name.replace(/^[^-]*-|\.[^.]*$/g, '')}-${encoding}"`;
    ctx.set({
      'Cache-Control': `public, max-age=${YEAR_S}, immutable`,
      Vary: 'Accept-Encoding',
      ETag: etag,
      'X-Content-Type-Options': 'nosniff',
    });
    const ifNoneMatch = ctx.get('If-None-Match');
    if (ifNoneMatch?.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)) {
      ctx.status = 304;
      return true;
    }
    const path = `${DIR}${name}${SUFFIX[encoding]}`;
    ctx.type = type;
    if (encoding !== 'identity') ctx.set('Content-Encoding', encoding);
    ctx.length = statSync(path).size;
    ctx.body = createReadStream(path);
    return true;
  }
}
