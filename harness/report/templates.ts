import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import { ZlabError, errorMessage } from '../util/errors.js';
import type { ReportView } from './report-view.js';

/** Report templates live in reports/templates/ at the top of the checkout. */
export const templatesDir = join(import.meta.dirname, '..', '..', 'reports', 'templates');

function load(name: string, options: CompileOptions): HandlebarsTemplateDelegate<ReportView> {
  const path = join(templatesDir, name);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ZlabError('infrastructure', `report template ${path} is missing: ${errorMessage(err)}`);
  }
  const hb = Handlebars.create();
  // Markdown table cells cannot hold a bare pipe or a line break.
  hb.registerHelper('cell', (v: unknown) => String(v ?? '').replace(/\|/g, '\\|').replace(/\r?\n/g, ' '));
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  return hb.compile<ReportView>(text, { strict: false, ...options });
}

type CompileOptions = Parameters<typeof Handlebars.compile>[1];

export function renderHtml(view: ReportView): string {
  return load('nightly.html.hbs', {})(view);
}

export function renderMarkdown(view: ReportView): string {
  return load('summary.md.hbs', { noEscape: true })(view);
}
