import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BisectSession, StepRecord } from './session.js';

export interface ReportFiles {
  markdown: string;
  json: string;
}

function num(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(4);
}

function short(commit: string): string {
  return commit.slice(0, 12);
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function stepRow(step: StepRecord, index: number): string {
  const a = step.assessment;
  const what = step.role === 'step' ? String(index) : step.role === 'end-good' ? 'good end' : 'bad end';
  const runs = step.runs.map(num).join(', ') || '—';
  const median = a ? `${num(a.median)} [${num(a.medianInterval.low)}, ${num(a.medianInterval.high)}]` : '—';
  const evidence = a ? `${a.evidence.toFixed(2)} / ±${a.needed.toFixed(2)}` : '—';
  const confidence = a ? `${(a.confidence * 100).toFixed(1)} % ${a.favours}` : '—';
  const note = step.error ?? '';
  return `| ${what} | \`${short(step.commit)}\` ${cell(step.subject)} | ${runs} | ${median} | ${evidence} | ${confidence} | **${step.verdict}** | ${cell(note)} |`;
}

/** The bisect as Markdown for people: the answer first, then the ends and every step. */
export function renderBisectMarkdown(session: BisectSession): string {
  const r = session.result;
  const b = session.baseline;
  const lines: string[] = [`# Bisect of ${session.metric} in ${session.repo}`, ''];
  if (r?.firstBad) lines.push(`**First bad commit: \`${r.firstBad}\`** — ${r.firstBadSubject ?? ''}`, '');
  else if (r) lines.push(`**No single first bad commit**: skipped commits hide it; it is one of ${r.candidates.map((c) => `\`${short(c)}\``).join(', ') || 'none'}.`, '');
  else lines.push('**Not finished.**', '');
  lines.push(
    `- good: \`${session.good}\`, bad: \`${session.bad}\``,
    `- metric: ${session.metric} (${session.direction})`,
    `- policy: ${session.policy.minReps}–${session.policy.maxReps} runs per commit, decision at ${(session.policy.confidence * 100).toFixed(1)} % confidence`,
  );
  if (b) {
    lines.push(
      `- ends: good median ${num(b.goodMedian)} (n=${b.good.length}), bad median ${num(b.badMedian)} (n=${b.bad.length}), threshold ${num(b.threshold)}, run-to-run spread ${num(b.spread)} (${b.separation.toFixed(1)} spreads apart, Mann–Whitney p=${b.mannWhitneyP.toPrecision(2)})`,
    );
  }
  lines.push(
    '',
    '| step | commit | runs | median [95 % CI] | evidence (ln LR, good > 0) | confidence | verdict | note |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  let index = 0;
  for (const step of session.steps) lines.push(stepRow(step, step.role === 'step' ? ++index : 0));
  lines.push('');
  return lines.join('\n');
}

export function writeBisectReport(session: BisectSession): ReportFiles {
  const files = { markdown: join(session.dir, 'report.md'), json: join(session.dir, 'report.json') };
  writeFileSync(files.markdown, renderBisectMarkdown(session));
  const { dir: _dir, ...document } = session;
  writeFileSync(files.json, `${JSON.stringify({ ...document, report: files }, null, 2)}\n`);
  return files;
}
