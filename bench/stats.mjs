// Medians and spreads of per-round figures: the verdict is a median over
// interleaved rounds, printed with the spread that produced it.
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** { median, min, max } of a list of numbers. */
export function summary(values) {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), rounds: values };
}

export const ms = (us) => `${(us / 1000).toFixed(3)} ms`;
export const fixed = (digits) => (v) => v.toFixed(digits);

/** "median (min-max over N rounds)". */
export function withSpread(s, fmt) {
  return s.rounds.length > 1 ? `${fmt(s.median)} (${fmt(s.min)} to ${fmt(s.max)} over ${s.rounds.length} rounds)` : fmt(s.median);
}
