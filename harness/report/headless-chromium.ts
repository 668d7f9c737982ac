import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { ZlabError } from '../util/errors.js';

/**
 * Opens a page in headless Chromium (Debian's package) and reports what a
 * person would see: a full-page PNG screenshot, console errors, uncaught
 * exceptions and any request that left the machine. Talks the DevTools
 * protocol over --remote-debugging-pipe (fd 3 in, fd 4 out), so no port is
 * opened and no extra package is needed.
 */
export interface PageCheck {
  png: Buffer;
  consoleErrors: string[];
  /** Requests for anything other than file: and data: URLs. */
  externalRequests: string[];
  title: string;
  /** Chromium's pid; the process has been waited for (or killed) when checkPage returns. */
  pid: number;
}

export interface PageCheckOptions {
  binary?: string;
  width?: number;
  maxHeight?: number;
  timeoutMs?: number;
}

interface Message {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
  sessionId?: string;
}

class DevToolsPipe {
  private nextId = 1;
  private buffer = '';
  private readonly pending = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  private readonly listeners: ((m: Message) => void)[] = [];

  constructor(
    private readonly input: Writable,
    output: Readable,
  ) {
    output.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('utf8');
      let end: number;
      while ((end = this.buffer.indexOf('\0')) >= 0) {
        const text = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 1);
        this.dispatch(JSON.parse(text) as Message);
      }
    });
  }

  private dispatch(m: Message): void {
    if (m.id !== undefined) {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.error) p?.reject(new Error(m.error.message));
      else p?.resolve(m.result ?? {});
      return;
    }
    for (const l of this.listeners) l(m);
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.input.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    });
  }

  on(listener: (m: Message) => void): void {
    this.listeners.push(listener);
  }

  failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

export const chromiumFlags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-extensions',
  '--hide-scrollbars',
  '--mute-audio',
  '--remote-debugging-pipe',
];

export async function checkPage(htmlPath: string, options: PageCheckOptions = {}): Promise<PageCheck> {
  const width = options.width ?? 1200;
  const maxHeight = options.maxHeight ?? 8000;
  const profile = mkdtempSync(join(tmpdir(), 'zlab-chromium-'));
  let child: ChildProcess | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    child = spawn(options.binary ?? 'chromium', [...chromiumFlags, `--user-data-dir=${profile}`, 'about:blank'], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    });
    const proc = child;
    let stderr = '';
    proc.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
    const pipe = new DevToolsPipe(proc.stdio[3] as Writable, proc.stdio[4] as Readable);
    const failure = new Promise<never>((_, reject) => {
      proc.once('error', (err) => reject(new ZlabError('infrastructure', `cannot start chromium: ${err.message}; install Debian's chromium package`)));
      proc.once('exit', (code, signal) => reject(new ZlabError('infrastructure', `chromium exited (${code ?? signal}) before the page was checked: ${stderr.trim().split('\n').slice(-3).join(' | ')}`)));
      timer = setTimeout(() => reject(new ZlabError('infrastructure', `chromium did not render ${htmlPath} within ${options.timeoutMs ?? 60_000} ms`)), options.timeoutMs ?? 60_000);
    });
    failure.catch((err: Error) => pipe.failAll(err));
    const work = async (): Promise<PageCheck> => {
      const consoleErrors: string[] = [];
      const externalRequests: string[] = [];
      let loaded!: () => void;
      const load = new Promise<void>((resolve) => (loaded = resolve));
      pipe.on((m) => {
        const p = m.params ?? {};
        if (m.method === 'Runtime.exceptionThrown') {
          const d = p.exceptionDetails as { text?: string; exception?: { description?: string } };
          consoleErrors.push(`exception: ${d.exception?.description ?? d.text ?? 'unknown'}`);
        } else if (m.method === 'Runtime.consoleAPICalled' && (p.type === 'error' || p.type === 'assert')) {
          const args = (p.args as { value?: unknown; description?: string }[]) ?? [];
          consoleErrors.push(`console.${String(p.type)}: ${args.map((a) => a.description ?? String(a.value)).join(' ')}`);
        } else if (m.method === 'Log.entryAdded') {
          const e = p.entry as { level?: string; text?: string; url?: string };
          if (e.level === 'error') consoleErrors.push(`log: ${e.text ?? ''}${e.url ? ` (${e.url})` : ''}`);
        } else if (m.method === 'Network.requestWillBeSent') {
          const url = (p.request as { url: string }).url;
          if (!/^(file|data|about):/.test(url)) externalRequests.push(url);
        } else if (m.method === 'Page.loadEventFired') {
          loaded();
        }
      });
      const { targetId } = (await pipe.send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
      const { sessionId } = (await pipe.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
      for (const domain of ['Runtime', 'Log', 'Page', 'Network']) await pipe.send(`${domain}.enable`, {}, sessionId);
      await pipe.send('Emulation.setDeviceMetricsOverride', { width, height: 900, deviceScaleFactor: 1, mobile: false }, sessionId);
      const nav = (await pipe.send('Page.navigate', { url: pathToFileURL(htmlPath).href }, sessionId)) as { errorText?: string };
      if (nav.errorText) throw new ZlabError('infrastructure', `chromium could not open ${htmlPath}: ${nav.errorText}`);
      await load;
      const metrics = (await pipe.send('Page.getLayoutMetrics', {}, sessionId)) as { cssContentSize: { height: number } };
      const height = Math.min(maxHeight, Math.ceil(metrics.cssContentSize.height));
      await pipe.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false }, sessionId);
      const shot = (await pipe.send('Page.captureScreenshot', { format: 'png' }, sessionId)) as { data: string };
      const title = (await pipe.send('Runtime.evaluate', { expression: 'document.title', returnByValue: true }, sessionId)) as { result: { value: string } };
      await pipe.send('Browser.close').catch(() => undefined);
      return { png: Buffer.from(shot.data, 'base64'), consoleErrors, externalRequests, title: title.result.value, pid: proc.pid! };
    };
    return await Promise.race([work(), failure]);
  } finally {
    if (timer) clearTimeout(timer);
    if (child && child.exitCode === null && child.signalCode === null && child.pid) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      // Browser.close normally ends it; make sure, by pid, with a bounded wait.
      const grace = setTimeout(() => child!.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(grace);
    }
    rmSync(profile, { recursive: true, force: true });
  }
}
