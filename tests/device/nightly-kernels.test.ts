/**
 * A nightly with two kernels on the virtual device: `current` against an
 * image that is the VM's own slot image repacked with one more command-line
 * word (no kernel build). Each job must run on its kernel, and the night must
 * leave the VM on its known-good image.
 */
import { describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBootImage, repackBootImage } from '../../harness/deploy/bootimg.js';
import { readSlotState } from '../../harness/deploy/fastboot-slots.js';
import { runNightly } from '../../harness/nightly/run-nightly.js';
import { parsePlanText } from '../../harness/plan/load-plan.js';
import { ResultsStore } from '../../harness/store/results-store.js';
import { slotDirFor } from '../../harness/vm/bootloader-mode.js';
import { usePrivateLab } from '../../harness/testing/private-lab.js';

const TOKEN = 'zlab.nightly_kernel=tagged';
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const lab = usePrivateLab('zlab-nightly-kernels-', { virtualDevice: true });

describe('a nightly with a current and an image kernel on the virtual device', () => {
  it('runs each job on its kernel and ends on the known-good image', async () => {
    const slotA = readFileSync(join(slotDirFor(lab.vm.vmDir), 'boot_a.img'));
    const good = parseBootImage(slotA);
    const tagged = join(lab.work, 'tagged.img');
    writeFileSync(tagged, repackBootImage(good, { cmdline: `${good.cmdline} ${TOKEN}` }));

    const loaded = parsePlanText(
      `
name: kernels-ab
devices: [{ serial: "${lab.vm.serial}", adbServer: "${lab.server.port}" }]
kernels:
  stock: { current: true }
  tagged: { image: ${tagged} }
configurations:
  lz4: { zram: { algorithm: lz4, disksize: 512M }, vm: { swappiness: 100 } }
workloads:
  eat: { size: 60%, ratio: 3 }
repetitions: 1
order: interleaved
timeouts: { deploy: 600 }
`,
      join(lab.work, 'kernels-ab.yaml'),
    );
    const lines: string[] = [];
    const storePath = join(lab.work, 'results.sqlite');
    const result = await runNightly(loaded, { storePath, outRoot: join(lab.work, 'reports'), progress: (line) => lines.push(line) });
    process.stderr.write(`${lines.join('\n')}\n`);

    const store = ResultsStore.open(storePath);
    try {
      const jobs = store.jobs(result.runId);
      expect(jobs.map((j) => [j.cellKey, j.status, j.failureMessage]).sort()).toEqual([
        ['stock/lz4/eat', 'passed', null],
        ['tagged/lz4/eat', 'passed', null],
      ]);
      for (const job of jobs) {
        const kernel = store.environment(job.id)!.kernel as { cmdline: string; deployment?: { action: string } };
        if (job.cellKey.startsWith('tagged/')) {
          expect(kernel.cmdline.split(/\s+/)).toContain(TOKEN);
          expect(kernel.deployment?.action).toBe('deployed');
        } else {
          expect(kernel.cmdline).not.toContain(TOKEN);
        }
      }
    } finally {
      store.close();
    }

    // The end of the night: the VM's active slot holds the known-good image and it runs it.
    const slots = readSlotState(slotDirFor(lab.vm.vmDir));
    expect(slots.slots[slots.active]?.sha256).toBe(sha(slotA));
    const cmdline = await execa('adb', ['-P', String(lab.server.port), '-s', lab.vm.serial, 'shell', 'cat /proc/cmdline'], { timeout: 30_000 });
    expect(cmdline.stdout).not.toContain(TOKEN);
    expect(lines.some((l) => /known-good kernel (restored|kept)/.test(l))).toBe(true);
  }, 25 * 60_000);
});
