/**
 * Hold SIGINT and SIGTERM while a device is half-configured: the first signal
 * is remembered (so the caller can finish the step in flight and restore),
 * a second one of the same kind exits at once, leaving the persisted
 * snapshot for `zlab config restore`.
 */
export interface SignalGuard {
  /** The signal received, if any. */
  readonly received: NodeJS.Signals | null;
  /** Aborted when a signal arrives. */
  readonly signal: AbortSignal;
  release(): void;
}

/** Where signals come from: this process by default; tests pass their own emitter so that no real signal handler (of jest or of a child-process library) sees them. */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

const EXIT_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

export function guardSignals(signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'], source: SignalSource = process): SignalGuard {
  const controller = new AbortController();
  let received: NodeJS.Signals | null = null;
  const handler = (sig: NodeJS.Signals) => {
    if (received) {
      process.stderr.write(`zlab: ${sig} again: exiting now; run \`zlab config restore\` to put the device back\n`);
      process.exit(EXIT_CODES[sig] ?? 1);
    }
    received = sig;
    process.stderr.write(`zlab: ${sig}: restoring the device configuration before exiting (repeat to exit at once)\n`);
    controller.abort(new Error(`interrupted by ${sig}`));
  };
  for (const s of signals) source.on(s, handler);
  return {
    get received() {
      return received;
    },
    signal: controller.signal,
    release() {
      for (const s of signals) source.off(s, handler);
    },
  };
}

export function exitCodeForSignal(sig: NodeJS.Signals): number {
  return EXIT_CODES[sig] ?? 1;
}
