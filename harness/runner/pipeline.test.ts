import { describe, expect, it } from '@jest/globals';
import { ZlabError } from '../util/errors.js';
import { type Stage, runPipeline } from './pipeline.js';

type Log = string[];

function stage(name: string, behaviour: 'pass' | 'fail' | 'hang' | 'fail-infra', options: { cleanupFails?: boolean; timeoutMs?: number } = {}): Stage<Log> {
  return {
    name,
    timeoutMs: options.timeoutMs ?? 1_000,
    async run(log, signal) {
      log.push(`run ${name}`);
      if (behaviour === 'fail') throw new ZlabError('device', `${name} broke`);
      if (behaviour === 'fail-infra') throw new ZlabError('infrastructure', `${name} lost the link`);
      if (behaviour === 'hang') await new Promise((resolve) => signal.addEventListener('abort', resolve));
    },
    async cleanup(log) {
      log.push(`cleanup ${name}`);
      if (options.cleanupFails) throw new Error(`cleanup of ${name} failed`);
    },
  };
}

describe('runPipeline', () => {
  it('runs stages in order and cleans up in reverse', async () => {
    const log: Log = [];
    const result = await runPipeline([stage('lease', 'pass'), stage('configure', 'pass'), stage('run', 'pass')], log);
    expect(result.ok).toBe(true);
    expect(log).toEqual(['run lease', 'run configure', 'run run', 'cleanup run', 'cleanup configure', 'cleanup lease']);
  });

  it('stops at the first failure, still cleans up every started stage, and types the failure', async () => {
    const log: Log = [];
    const result = await runPipeline([stage('lease', 'pass'), stage('configure', 'fail'), stage('run', 'pass')], log);
    expect(result).toMatchObject({ ok: false, failedStage: 'configure', failureKind: 'device' });
    expect(log).toEqual(['run lease', 'run configure', 'cleanup configure', 'cleanup lease']);
    expect(result.events.map((e) => `${e.stage}:${e.outcome}`)).toEqual(['lease:passed', 'configure:failed', 'configure:cleaned', 'lease:cleaned']);
  });

  it('times a hung stage out with the kind the stage declares', async () => {
    const log: Log = [];
    const hung = { ...stage('deploy', 'hang', { timeoutMs: 50 }), timeoutKind: 'kernel' as const };
    const result = await runPipeline([stage('lease', 'pass'), hung], log);
    expect(result).toMatchObject({ ok: false, failedStage: 'deploy', failureKind: 'kernel' });
    expect(log).toContain('cleanup lease');
  });

  it('stops on interruption and still cleans up', async () => {
    const log: Log = [];
    const controller = new AbortController();
    const interrupting: Stage<Log> = {
      name: 'run',
      timeoutMs: 5_000,
      async run(l, signal) {
        l.push('run run');
        controller.abort();
        if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve));
      },
      async cleanup(l) {
        l.push('cleanup run');
      },
    };
    const result = await runPipeline([stage('lease', 'pass'), interrupting, stage('collect', 'pass')], log, { signal: controller.signal });
    // The stage finished its work as it was interrupted; the next one never starts.
    expect(result).toMatchObject({ ok: false, failedStage: 'collect', failureKind: 'interrupted' });
    expect(log).toEqual(['run lease', 'run run', 'cleanup run', 'cleanup lease']);
  });

  it('counts a failed cleanup as the failure of an otherwise clean job', async () => {
    const log: Log = [];
    const result = await runPipeline([stage('configure', 'pass', { cleanupFails: true }), stage('run', 'pass')], log);
    expect(result).toMatchObject({ ok: false, failedStage: 'configure' });
    expect(result.events.at(-1)).toMatchObject({ stage: 'configure', outcome: 'cleanup-failed' });
  });

  it('classifies an infrastructure fault as such', async () => {
    const result = await runPipeline([stage('collect', 'fail-infra')], []);
    expect(result.failureKind).toBe('infrastructure');
  });
});

describe('runPipeline and a stage that is told to stop', () => {
  it('lets the stage settle before its cleanup runs', async () => {
    const log: string[] = [];
    const slowToStop: Stage<string[]> = {
      name: 'configure',
      timeoutMs: 20,
      async run(l, signal) {
        await new Promise((resolve) => signal.addEventListener('abort', resolve));
        await new Promise((resolve) => setTimeout(resolve, 50));
        l.push('configure stopped');
      },
      async cleanup(l) {
        l.push('restore');
      },
    };
    await runPipeline([slowToStop], log);
    expect(log).toEqual(['configure stopped', 'restore']);
  });
});
