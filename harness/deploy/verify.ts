import { execa } from 'execa';
import { ZlabError } from '../util/errors.js';
import { type KernelIdentity, describeIdentity, identityDifferences, parseProcVersion } from './kernel-identity.js';

export { type KernelIdentity, describeIdentity, kernelImageIdentity, parseProcVersion } from './kernel-identity.js';

/** The kernel a booted device runs, from its /proc/version over adb. */
export async function readRunningIdentity(serial: string, adbServerPort: number, timeoutMs = 20_000): Promise<KernelIdentity & { procVersion: string }> {
  const result = await execa('adb', ['-P', String(adbServerPort), '-s', serial, 'shell', 'cat /proc/version'], { reject: false, timeout: timeoutMs });
  if (result.exitCode !== 0) {
    throw new ZlabError('device', `${serial}: cannot read /proc/version: ${(result.stderr || result.stdout || `exit status ${result.exitCode}`).trim()}`, { serial });
  }
  return { ...parseProcVersion(result.stdout), procVersion: result.stdout.trim() };
}

export class KernelMismatchError extends ZlabError {
  constructor(readonly running: KernelIdentity, readonly expected: KernelIdentity, differences: string[]) {
    super(
      'kernel',
      `the device runs another kernel than the image's (${differences.join(', ')} differ):\n  running: ${describeIdentity(running)}\n  image:   ${describeIdentity(expected)}`,
      { running, expected, differences },
    );
    this.name = 'KernelMismatchError';
  }
}

/** Throw a KernelMismatchError naming both identities unless `running` is the build `expected` describes. */
export function checkIdentity(running: KernelIdentity, expected: KernelIdentity): void {
  const differences = identityDifferences(running, expected);
  if (differences.length) throw new KernelMismatchError(running, expected, differences);
}

/** Read the running kernel and check it against the flashed image's; returns what runs. */
export async function verifyBootedKernel(serial: string, adbServerPort: number, expected: KernelIdentity): Promise<KernelIdentity> {
  const running = await readRunningIdentity(serial, adbServerPort);
  checkIdentity(running, expected);
  return running;
}
