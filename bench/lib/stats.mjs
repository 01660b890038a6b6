/** Small statistics for the benchmarks: medians of repeated runs, paired ratios, a least-squares line. */

export function median(xs) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** { median, min, max, n, runs } of a list of numbers. */
export function summary(xs) {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length, runs: xs };
}

/** Ratios of paired runs (subject[i] / baseline[i], measured side by side), summarised. */
export function pairedRatio(subject, baseline) {
  if (subject.length !== baseline.length) throw new Error('paired runs differ in number');
  return summary(subject.map((s, i) => s / baseline[i]));
}

/** Least-squares fit y = a + b·x, with R². */
export function linearFit(xs, ys) {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
    syy += (ys[i] - my) ** 2;
  }
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  const r2 = syy === 0 ? 1 : (sxy * sxy) / (sxx * syy);
  return { intercept, slope, r2 };
}

/** Rotates `items` by `i`: interleaved runs change which command goes first on every round. */
export function rotate(items, i) {
  const k = i % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** Length of the union of [start, end] intervals. */
export function unionLength(intervals) {
  const s = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let cur;
  for (const [a, b] of s) {
    if (!cur || a > cur[1]) {
      if (cur) total += cur[1] - cur[0];
      cur = [a, b];
    } else if (b > cur[1]) cur[1] = b;
  }
  if (cur) total += cur[1] - cur[0];
  return total;
}

/** The reported fields of a summary. */
export const pick = (s) => ({ median: s.median, min: s.min, max: s.max, n: s.n });
export const pickRatio = (s) => ({ median: s.median, min: s.min, max: s.max });

/**
 * A result row: the subject's runs (median, min, max) against a baseline measured in the same
 * rounds, with the median (min–max) of the per-round ratios.
 */
export function ratioRow({ id, benchmark, unit = 'ms', runs, baseline, baselineRuns, target = '—', met = undefined }) {
  return {
    id,
    benchmark,
    unit,
    ...pick(summary(runs)),
    baseline,
    baselineMedian: summary(baselineRuns).median,
    ratio: pickRatio(pairedRatio(runs, baselineRuns)),
    target,
    met,
  };
}
