// The bench chart: records/s per scenario as horizontal bars, plain SVG text written by the
// harness itself (no dependency, no browser). Two panels, each with its own scale: scenarios
// with one sink (records/s end to end) and server-mode fan-out (records/s delivered to all
// clients together), since the second is ~100 times the first. Ceilings are grey, wsrelay blue;
// a scenario that failed or lost records is red and says so.
import { ofCeiling, type Summary } from './report.js';

const WIDTH = 960;
const LABEL_W = 430;
const BAR_W = 300;
const ROW_H = 26;
const PANEL_GAP = 34;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function compact(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(0)}k`;
  return v.toFixed(0);
}

function panel(
  title: string,
  rows: readonly Summary[],
  all: readonly Summary[],
  top: number,
  value: (s: Summary) => number,
): { svg: string; height: number } {
  const max = Math.max(1, ...rows.map((s) => (s.error === null ? value(s) : 0)));
  const out: string[] = [`<text x="12" y="${top + 16}" class="title">${esc(title)}</text>`];
  rows.forEach((s, i) => {
    const y = top + 28 + i * ROW_H;
    const ok = s.error === null && s.missing === 0 && s.duplicates === 0;
    const v = s.error === null ? value(s) : 0;
    const w = Math.max(1, Math.round((BAR_W * v) / max));
    const cls = !ok ? 'bad' : s.scenario.startsWith('wsrelay') ? 'ours' : 'ceiling';
    const pct = ofCeiling(s, all);
    const label =
      s.error !== null
        ? 'FAILED'
        : `${compact(v)}/s${pct === null ? '' : ` · ${pct.toFixed(0)}% of ceiling`}` +
          (s.missing > 0 ? ` · ${s.missing.toLocaleString('en-US')} missing` : '');
    out.push(
      `<text x="${LABEL_W - 8}" y="${y + 15}" class="name" text-anchor="end">${esc(s.scenario)}</text>`,
      `<rect x="${LABEL_W}" y="${y + 3}" width="${w}" height="${ROW_H - 8}" class="${cls}"/>`,
      `<text x="${LABEL_W + w + 6}" y="${y + 15}" class="value">${esc(label)}</text>`,
    );
  });
  return { svg: out.join('\n'), height: 28 + rows.length * ROW_H };
}

/** The chart for one bench run; `subtitle` says when and where. */
export function chartSvg(summaries: readonly Summary[], subtitle: string): string {
  const single = summaries.filter(
    (s) => s.clients <= 1 && !s.scenario.includes('server') && !s.scenario.includes('fanout'),
  );
  const fan = summaries.filter((s) => !single.includes(s));
  const parts: string[] = [];
  let y = 44;
  if (single.length > 0) {
    const p = panel('records/s end to end (median)', single, summaries, y, (s) => s.recordsPerS);
    parts.push(p.svg);
    y += p.height + PANEL_GAP;
  }
  if (fan.length > 0) {
    const p = panel(
      'server mode: records/s delivered, all clients together (median)',
      fan,
      summaries,
      y,
      (s) => s.deliveredPerS,
    );
    parts.push(p.svg);
    y += p.height + PANEL_GAP;
  }
  const height = y - PANEL_GAP + 16;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    '<style>.title{font-weight:bold;font-size:13px}.name{fill:#222}.value{fill:#444}' +
      '.ours{fill:#2f6db5}.ceiling{fill:#9a9a9a}.bad{fill:#c62828}</style>',
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="12" y="20" font-size="15" font-weight="bold">wsrelay bench</text>`,
    `<text x="12" y="36" fill="#555">${esc(subtitle)}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
