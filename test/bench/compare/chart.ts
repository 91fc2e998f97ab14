/**
 * The comparison's chart: edit-to-remote latency (p50 dashed, p99 solid) against connections,
 * one colour per server, log scales on both axes. Plain SVG, no dependency.
 */
import type { PeerResult } from './compare';

const WIDTH = 760;
const HEIGHT = 440;
const PAD = { left: 70, right: 200, top: 40, bottom: 50 };
const COLOURS = ['#2563eb', '#0891b2', '#7c3aed', '#dc2626', '#ea580c', '#16a34a', '#854d0e', '#db2777'];

const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function compareChart(results: readonly PeerResult[], caption: string): string {
  const points = results.flatMap((r) => r.loads.flatMap((l) => [l.latency.p50, l.latency.p99])).filter((v) => v > 0 && Number.isFinite(v));
  const loads = [...new Set(results.flatMap((r) => r.loads.map((l) => l.connections)))].sort((a, b) => a - b);
  if (points.length === 0 || loads.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="60"><text x="10" y="30">no data</text></svg>\n`;
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...points)));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...points)));
  const xMin = Math.log10(loads[0]!);
  const xMax = Math.max(Math.log10(loads.at(-1)!), xMin + 1);
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (c: number): number => PAD.left + ((Math.log10(c) - xMin) / (xMax - xMin)) * plotW;
  const y = (ms: number): number => PAD.top + plotH - ((Math.log10(ms) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * plotH;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="system-ui, sans-serif" font-size="12">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(`<text x="${PAD.left}" y="22" font-size="14" font-weight="600">Edit-to-remote latency vs connections (p99 solid, p50 dashed)</text>`);
  for (let decade = yMin; decade <= yMax; decade *= 10) {
    out.push(`<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${y(decade)}" y2="${y(decade)}" stroke="#e5e7eb"/>`);
    out.push(`<text x="${PAD.left - 8}" y="${y(decade) + 4}" text-anchor="end">${decade >= 1000 ? `${decade / 1000} s` : `${decade} ms`}</text>`);
  }
  for (const c of loads) {
    out.push(`<line x1="${x(c)}" x2="${x(c)}" y1="${PAD.top}" y2="${PAD.top + plotH}" stroke="#f3f4f6"/>`);
    out.push(`<text x="${x(c)}" y="${PAD.top + plotH + 18}" text-anchor="middle">${c}</text>`);
  }
  out.push(`<text x="${PAD.left + plotW / 2}" y="${HEIGHT - 12}" text-anchor="middle">connections</text>`);
  results.forEach((r, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const valid = r.loads.filter((l) => l.latency.p99 > 0 && Number.isFinite(l.latency.p99));
    for (const [key, dash] of [
      ['p99', ''],
      ['p50', ' stroke-dasharray="5 4"'],
    ] as const) {
      const path = valid.map((l, k) => `${k === 0 ? 'M' : 'L'}${x(l.connections).toFixed(1)},${y(Math.max(l.latency[key], yMin)).toFixed(1)}`).join(' ');
      if (path) out.push(`<path d="${path}" fill="none" stroke="${colour}" stroke-width="2"${dash}/>`);
    }
    for (const l of valid) out.push(`<circle cx="${x(l.connections).toFixed(1)}" cy="${y(l.latency.p99).toFixed(1)}" r="3" fill="${colour}"/>`);
    const ly = PAD.top + 10 + i * 20;
    out.push(`<line x1="${WIDTH - PAD.right + 16}" x2="${WIDTH - PAD.right + 36}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="3"/>`);
    out.push(`<text x="${WIDTH - PAD.right + 42}" y="${ly + 4}">${escapeHtml(r.server)}</text>`);
  });
  out.push(`<text x="${PAD.left}" y="${HEIGHT - 30}" font-size="10" fill="#6b7280">${escapeHtml(caption)}</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
