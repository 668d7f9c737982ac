/** Number formatting shared by the HTML, Markdown and JUnit forms. */

export function formatNumber(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a !== 0 && (a < 0.001 || a >= 1e9)) return v.toExponential(2);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  return String(Number(v.toPrecision(3)));
}

export function formatRatio(v: number): string {
  return Number.isFinite(v) ? `${v.toFixed(3)}×` : '—';
}

export function formatPercentChange(ratio: number): string {
  if (!Number.isFinite(ratio)) return '—';
  const pct = (ratio - 1) * 100;
  return `${pct >= 0 ? '+' : ''}${pct.toFixed(1)} %`;
}
