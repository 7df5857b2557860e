#!/usr/bin/env node
/**
 * Draws Prometheus range queries as line charts in one SVG, for the README's picture of the overview
 * dashboard where Grafana cannot run. The input is what test/observability.e2e-spec.ts writes after its
 * traffic (overview-graphs.json in its log directory): [{ title, unit, series: [{ name, points: [[unix
 * seconds, value], ...] }] }].
 *
 *   node scripts/render-graphs.js <graphs.json> <out.svg>    (then e.g. rsvg-convert -o out.png out.svg)
 */
const { readFileSync, writeFileSync } = require('node:fs');

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  process.stderr.write('usage: node scripts/render-graphs.js <graphs.json> <out.svg>\n');
  process.exit(2);
}
const graphs = JSON.parse(readFileSync(input, 'utf8'));

const W = 560;
const H = 250;
const PAD = { left: 62, right: 12, top: 30, bottom: 26 };
const LEGEND_W = 180;
const COLS = 2;
const COLOURS = [
  '#7eb26d',
  '#eab839',
  '#6ed0e0',
  '#ef843c',
  '#e24d42',
  '#1f78c1',
  '#ba43a9',
  '#705da0',
  '#508642',
  '#cca300',
];
const esc = (s) =>
  String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

function format(v, unit) {
  if (unit === 's') return v >= 1 ? `${v.toFixed(2)} s` : `${(v * 1000).toFixed(v * 1000 >= 10 ? 0 : 1)} ms`;
  if (Math.abs(v) >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (Math.abs(v) >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return v >= 10 || v === 0 ? v.toFixed(0) : v.toFixed(2);
}

function chart(g, x0, y0) {
  const series = g.series
    .map((s) => ({ ...s, points: s.points.filter(([, v]) => Number.isFinite(v)) }))
    .filter((s) => s.points.length > 0)
    .slice(0, COLOURS.length);
  const all = series.flatMap((s) => s.points);
  const t0 = Math.min(...all.map(([t]) => t));
  const t1 = Math.max(...all.map(([t]) => t));
  const vmax = Math.max(...all.map(([, v]) => v), 0) * 1.1 || 1;
  const pw = W - PAD.left - PAD.right - LEGEND_W;
  const ph = H - PAD.top - PAD.bottom;
  const px = (t) => x0 + PAD.left + ((t - t0) / (t1 - t0 || 1)) * pw;
  const py = (v) => y0 + PAD.top + ph - (v / vmax) * ph;
  const out = [
    `<rect x="${x0 + 4}" y="${y0 + 4}" width="${W - 8}" height="${H - 8}" fill="#181b1f" stroke="#2c3235"/>`,
    `<text x="${x0 + 14}" y="${y0 + 21}" fill="#d8d9da" font-size="13" font-weight="600">${esc(g.title)}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (vmax * i) / 4;
    out.push(
      `<line x1="${x0 + PAD.left}" x2="${x0 + PAD.left + pw}" y1="${py(v)}" y2="${py(v)}" stroke="#2c3235"/>`,
      `<text x="${x0 + PAD.left - 6}" y="${py(v) + 4}" fill="#8e8e8e" font-size="10" text-anchor="end">${esc(format(v, g.unit))}</text>`,
    );
  }
  for (let i = 0; i <= 3; i++) {
    const t = t0 + ((t1 - t0) * i) / 3;
    const label = new Date(t * 1000).toISOString().slice(11, 19);
    out.push(
      `<text x="${px(t)}" y="${y0 + H - 10}" fill="#8e8e8e" font-size="10" text-anchor="middle">${label}</text>`,
    );
  }
  series.forEach((s, i) => {
    const d = s.points
      .map(([t, v], j) => `${j ? 'L' : 'M'}${px(t).toFixed(1)},${py(v).toFixed(1)}`)
      .join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${COLOURS[i]}" stroke-width="1.6"/>`);
    const ly = y0 + PAD.top + 4 + i * 15;
    out.push(
      `<rect x="${x0 + W - LEGEND_W}" y="${ly}" width="10" height="3" fill="${COLOURS[i]}"/>`,
      `<text x="${x0 + W - LEGEND_W + 15}" y="${ly + 5}" fill="#c7d0d9" font-size="10">${esc(s.name.slice(0, 28))}</text>`,
    );
  });
  return out.join('\n');
}

const rows = Math.ceil(graphs.length / COLS);
const width = W * COLS;
const height = H * rows + 36;
const body = graphs.map((g, i) => chart(g, (i % COLS) * W, 36 + Math.floor(i / COLS) * H)).join('\n');
writeFileSync(
  output,
  `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
<rect width="100%" height="100%" fill="#111217"/>
<text x="14" y="24" fill="#d8d9da" font-size="16" font-weight="600">Protobank overview: the main queries, from a real Prometheus over a test run</text>
${body}
</svg>
`,
);
process.stdout.write(`${output}: ${graphs.length} charts\n`);
