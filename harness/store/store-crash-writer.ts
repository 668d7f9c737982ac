// Writes jobs with samples into a store until killed; used by the store's crash test.
import { ResultsStore } from './results-store.js';

const store = ResultsStore.open(process.argv[2]!);
const run = store.beginRun({ name: 'crash', yaml: 'crash: true\n' });
const t = Array.from({ length: 3000 }, (_, i) => i * 0.1);
for (let rep = 0; ; rep++) {
  store.recordJob(run.id, {
    cellKey: 'cell',
    repetition: rep,
    orderIndex: rep,
    status: 'passed',
    samples: { t, values: { a: t.map((x) => x * rep), b: t.map((x) => x + rep), c: t.map(() => rep) } },
    metrics: { pgsteal_anon_per_s: rep },
  });
  process.stdout.write(`${rep}\n`);
}
