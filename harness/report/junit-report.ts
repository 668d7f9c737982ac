import type { Check } from './report-checks.js';
import { reportChecks, suiteTitles } from './report-checks.js';
import type { NightlyReport } from './report-model.js';

/** Text and attribute escaping; characters XML 1.0 cannot carry are dropped. */
export function xmlEscape(text: string): string {
  return text
    // eslint-disable-next-line no-control-regex
    .replace(/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const attr = (name: string, value: string | number) => ` ${name}="${xmlEscape(String(value))}"`;

function counts(checks: readonly Check[]) {
  return {
    tests: checks.length,
    failures: checks.filter((c) => c.status === 'failed').length,
    errors: checks.filter((c) => c.status === 'error').length,
    skipped: checks.filter((c) => c.status === 'skipped').length,
  };
}

function testcase(check: Check, classname: string): string {
  const open = `    <testcase${attr('name', check.name)}${attr('classname', classname)}${attr('time', 0)}>`;
  const body =
    check.status === 'failed'
      ? `\n      <failure${attr('message', check.message)}${attr('type', check.suite)}>${xmlEscape(check.message)}</failure>`
      : check.status === 'error'
        ? `\n      <error${attr('message', check.message)}${attr('type', check.suite)}>${xmlEscape(check.message)}</error>`
        : check.status === 'skipped'
          ? `\n      <skipped${attr('message', check.message)}/>`
          : '';
  return `${open}${body}\n      <system-out>${xmlEscape(check.message)}</system-out>\n    </testcase>`;
}

/**
 * JUnit XML in the common shape CI servers read: one <testsuite> per kind of
 * check, one <testcase> per cell and per check.
 */
export function renderJUnit(report: NightlyReport, checks: readonly Check[] = reportChecks(report)): string {
  const plan = report.plan.name;
  const all = counts(checks);
  const suites = (Object.keys(suiteTitles) as Check['suite'][])
    .map((suite) => {
      const mine = checks.filter((c) => c.suite === suite);
      if (mine.length === 0) return '';
      const c = counts(mine);
      const classname = `zlab.${plan}.${suite}`;
      return [
        `  <testsuite${attr('name', `${plan}: ${suiteTitles[suite]}`)}${attr('tests', c.tests)}${attr('failures', c.failures)}${attr('errors', c.errors)}${attr('skipped', c.skipped)}${attr('time', 0)}${attr('timestamp', report.run.startedAt.replace(/\.\d+Z$/, ''))}>`,
        '    <properties>',
        `      <property${attr('name', 'run')}${attr('value', report.run.id)}/>`,
        `      <property${attr('name', 'plan.sha256')}${attr('value', report.plan.hash)}/>`,
        '    </properties>',
        ...mine.map((check) => testcase(check, classname)),
        '  </testsuite>',
      ].join('\n');
    })
    .filter(Boolean);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attr('name', `zlab nightly ${plan} ${report.run.date}`)}${attr('tests', all.tests)}${attr('failures', all.failures)}${attr('errors', all.errors)}${attr('skipped', all.skipped)}${attr('time', 0)}>`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}
