/**
 * Draws the extension's icons (extension/public/icon/<size>.png, which WXT puts in the
 * manifest): a blue rounded square holding two text carets side by side, one white and one
 * amber — two people typing in one field. Run by hand after changing the design
 * (`npx tsx extension/scripts/make-icons.ts`); the PNGs are committed, so builds need no
 * image tooling. Shapes are sampled 8×8 per pixel for anti-aliasing.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

type Rgba = readonly [number, number, number, number];

const BLUE: Rgba = [37, 99, 235, 255];
const WHITE: Rgba = [255, 255, 255, 255];
const AMBER: Rgba = [251, 191, 36, 255];

/** Inside a rounded rectangle (coordinates in units of the icon's side, 0..1). */
function inRoundedRect(x: number, y: number, x0: number, y0: number, x1: number, y1: number, r: number): boolean {
  if (x < x0 || x > x1 || y < y0 || y > y1) return false;
  const cx = Math.min(Math.max(x, x0 + r), x1 - r);
  const cy = Math.min(Math.max(y, y0 + r), y1 - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
}

/** The colour at a point, or null outside the icon. Later shapes paint over earlier ones. */
function colourAt(x: number, y: number): Rgba | null {
  let colour: Rgba | null = null;
  if (inRoundedRect(x, y, 0.02, 0.02, 0.98, 0.98, 0.2)) colour = BLUE;
  // Each caret: a stem with a bar on top and at the bottom, like an I-beam.
  const caret = (cx: number, c: Rgba): void => {
    const stem = inRoundedRect(x, y, cx - 0.055, 0.2, cx + 0.055, 0.8, 0.03);
    const top = inRoundedRect(x, y, cx - 0.14, 0.18, cx + 0.14, 0.28, 0.03);
    const bottom = inRoundedRect(x, y, cx - 0.14, 0.72, cx + 0.14, 0.82, 0.03);
    if (stem || top || bottom) colour = c;
  };
  caret(0.34, WHITE);
  caret(0.66, AMBER);
  return colour;
}

function crc32(bytes: Uint8Array): number {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), 8 + data.length);
  return out;
}

/** An RGBA PNG of the icon at `size` pixels. */
export function drawIcon(size: number): Buffer {
  const SAMPLES = 8;
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let py = 0; py < size; py++) {
    raw[py * (size * 4 + 1)] = 0; // filter: none
    for (let px = 0; px < size; px++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (let sy = 0; sy < SAMPLES; sy++) {
        for (let sx = 0; sx < SAMPLES; sx++) {
          const c = colourAt((px + (sx + 0.5) / SAMPLES) / size, (py + (sy + 0.5) / SAMPLES) / size);
          if (!c) continue;
          r += c[0] * c[3];
          g += c[1] * c[3];
          b += c[2] * c[3];
          a += c[3];
        }
      }
      const at = py * (size * 4 + 1) + 1 + px * 4;
      raw[at] = a ? Math.round(r / a) : 0;
      raw[at + 1] = a ? Math.round(g / a) : 0;
      raw[at + 2] = a ? Math.round(b / a) : 0;
      raw[at + 3] = Math.round(a / (SAMPLES * SAMPLES));
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // RGBA
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', new Uint8Array())]);
}

/** The sizes the stores and browsers ask for (toolbar 16/32, management page 48, store 128). */
export const ICON_SIZES = [16, 32, 48, 96, 128] as const;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = fileURLToPath(new URL('../public/icon/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  for (const size of ICON_SIZES) writeFileSync(`${dir}${size}.png`, drawIcon(size));
  console.log(`wrote ${ICON_SIZES.map((s) => `${s}.png`).join(', ')} in extension/public/icon/`);
}
