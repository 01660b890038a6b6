/** The machine a run was made on, and the Markdown table of results. */
import { readFileSync } from 'node:fs';
import os from 'node:os';

export function machineInfo() {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1].trim();
  } catch {
    /* not Linux */
  }
  return {
    nproc: os.availableParallelism?.() ?? os.cpus().length,
    cpu,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

const num = (x, unit) => {
  if (x === undefined || Number.isNaN(x)) return '—';
  if (unit === 'MiB') return x.toFixed(1);
  return x >= 100 ? String(Math.round(x)) : x.toFixed(x >= 10 ? 1 : 2);
};

function ratioText(row) {
  const r = row.ratio;
  if (!r) return '—';
  if (row.ratioAsPercent) return `${(r.median * 100).toFixed(1)} % (${(r.min * 100).toFixed(1)}–${(r.max * 100).toFixed(1)})`;
  return `${r.median.toFixed(2)}× (${r.min.toFixed(2)}–${r.max.toFixed(2)})`;
}

export function markdownTable(rows) {
  const head = ['Benchmark', 'Median', 'Min', 'Max', 'Baseline (median)', 'Ratio (min–max)', 'Target', 'Met?'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((h, i) => (i === 0 || i === 4 || i === 6 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const r of rows) {
    const met = r.met === undefined ? '—' : r.met ? 'yes' : '**no**';
    lines.push(
      `| ${r.benchmark} | ${num(r.median, r.unit)} | ${num(r.min, r.unit)} | ${num(r.max, r.unit)} | ${r.baseline}: ${num(r.baselineMedian, r.unit)} | ${ratioText(r)} | ${r.target} | ${met} |`,
    );
  }
  return lines.join('\n');
}

export function machineLine(m) {
  return `${m.nproc} cores (${m.cpu}), ${m.memGiB} GiB, Node ${m.node}, ${m.os}; load average at start ${m.loadavg.join(' ')}`;
}
