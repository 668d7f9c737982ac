import { z } from 'zod';
import { ZlabError } from '../util/errors.js';

/**
 * The sampler's record file (device-scripts/sampler), parsed and validated.
 *
 * Format, one record per line:
 *   # key value…     header lines, ending with "# columns N t_ns name…" and "# end"
 *   S t v1 v2 …      one sample of every column ("-" = source missing)
 *   N t tid pid process-comm thread-comm   a thread first seen
 *   T t tid:utime:stime …                  CPU ticks of every tracked thread
 *   G t tid          a thread gone
 *   X t reason samples=N overruns=M scans=K   the sampler stopped cleanly
 * Times are CLOCK_BOOTTIME nanoseconds.
 */

const uint = z.coerce.number().int().nonnegative();

const headerSchema = z.object({
  version: z.literal(1),
  bootId: z.string().regex(/^[0-9a-f-]{8,64}$|^-$/, 'not a boot id'),
  // wall-clock ns exceed 2^53: rounded to a double, which is precise to a microsecond
  anchor: z.object({ boottimeNs: uint, realtimeNs: z.coerce.number().nonnegative() }),
  periodNs: uint.refine((v) => v > 0, 'period must be positive'),
  clkTck: uint.refine((v) => v > 0, 'clk_tck must be positive'),
  pageSize: uint,
  ncpu: uint,
  pid: uint,
  comms: z.array(z.string().min(1)),
  sources: z.array(z.object({ name: z.string(), path: z.string(), ok: z.boolean(), columns: uint })),
  meta: z.record(z.string(), z.string()),
  columns: z.array(z.string().regex(/^[A-Za-z0-9_.()-]+$/)).min(1),
});

export type SamplerHeader = z.infer<typeof headerSchema>;

export interface ThreadSeries {
  tid: number;
  pid: number;
  processComm: string;
  comm: string;
  firstSeenNs: number;
  goneNs: number | null;
  tNs: number[];
  utime: number[];
  stime: number[];
}

export interface SamplerEnd {
  tNs: number;
  reason: string;
  samples: number;
  overruns: number;
  /** Thread scans that came due (they back off while nothing new appears); null in records that do not say. */
  scans: number | null;
}

export interface SamplerRecord {
  header: SamplerHeader;
  /** Sample times, CLOCK_BOOTTIME ns. */
  tNs: Float64Array;
  /** Column name → values aligned with tNs; NaN where the source was missing. */
  columns: Map<string, Float64Array>;
  threads: Map<number, ThreadSeries>;
  /** How the sampler stopped; null when the file ends without the stop line. */
  end: SamplerEnd | null;
  /** The file ended inside a line (a lost connection or a crash). */
  truncated: boolean;
}

const VALUE_RE = /^-$|^-?\d+(\.\d+)?$/;
const sampleTokens = z.array(z.string().regex(VALUE_RE, 'not a number or "-"'));
const threadToken = z.string().regex(/^\d+:\d+:\d+$/, 'not tid:utime:stime');

function fail(line: number, message: string): never {
  throw new ZlabError('device', `sampler record line ${line}: ${message}`, { line });
}

function parseHeader(lines: string[]): { header: SamplerHeader; next: number } {
  const raw: Record<string, unknown> = { comms: [], sources: [], meta: {} };
  let i = 0;
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.startsWith('# ')) fail(i + 1, 'the header ends without "# end"');
    const [key, ...rest] = line.slice(2).split(' ');
    if (key === 'end') break;
    switch (key) {
      case 'zlab-sampler': raw.version = Number(rest[0]); break;
      case 'boot_id': raw.bootId = rest[0]; break;
      case 'anchor': raw.anchor = { boottimeNs: rest[0], realtimeNs: rest[1] }; break;
      case 'period_ns': raw.periodNs = rest[0]; break;
      case 'clk_tck': raw.clkTck = rest[0]; break;
      case 'page_size': raw.pageSize = rest[0]; break;
      case 'ncpu': raw.ncpu = rest[0]; break;
      case 'pid': raw.pid = rest[0]; break;
      case 'comm': (raw.comms as string[]).push(rest.join(' ')); break;
      case 'source':
        (raw.sources as unknown[]).push({ name: rest[0], path: rest[1], ok: rest[2] === 'ok', columns: rest[3] });
        break;
      case 'meta': (raw.meta as Record<string, string>)[rest[0] ?? ''] = rest.slice(1).join(' '); break;
      case 'columns': {
        const n = Number(rest[0]);
        const names = rest.slice(1);
        if (names.length !== n || names[0] !== 't_ns') fail(i + 1, `"columns" announces ${rest[0]} names but lists ${names.length}`);
        raw.columns = names.slice(1);
        break;
      }
      default: break; // later versions may add header lines
    }
  }
  if (i === lines.length) fail(i, 'the header ends without "# end" (is this a sampler record?)');
  const parsed = headerSchema.safeParse(raw);
  if (!parsed.success) throw new ZlabError('device', `sampler record header: ${z.prettifyError(parsed.error)}`);
  return { header: parsed.data, next: i + 1 };
}

/** Parse a whole record file. A cut-off last line is dropped and flagged. */
export function parseSamplerRecord(text: string): SamplerRecord {
  const truncated = text.length > 0 && !text.endsWith('\n');
  const lines = text.split('\n');
  lines.pop(); // the empty string after the last newline, or the cut-off line
  const { header, next } = parseHeader(lines);
  const width = header.columns.length;
  const times: number[] = [];
  const rows: string[][] = [];
  const threads = new Map<number, ThreadSeries>();
  let end: SamplerEnd | null = null;

  for (let i = next; i < lines.length; i++) {
    const lineNo = i + 1;
    const tokens = lines[i]!.split(' ');
    const kind = tokens[0];
    const t = Number(tokens[1]);
    if (!Number.isFinite(t) || !/^\d+$/.test(tokens[1] ?? '')) fail(lineNo, `"${tokens[1]}" is not a time`);
    if (end) fail(lineNo, 'a record after the stop line');
    switch (kind) {
      case 'S': {
        const values = tokens.slice(2);
        if (values.length !== width) fail(lineNo, `${values.length} values for ${width} columns`);
        const ok = sampleTokens.safeParse(values);
        if (!ok.success) fail(lineNo, z.prettifyError(ok.error));
        if (times.length && t < times[times.length - 1]!) fail(lineNo, 'time goes backwards');
        times.push(t);
        rows.push(values);
        break;
      }
      case 'N': {
        const [, , tid, pid, processComm, comm] = tokens;
        if (!/^\d+$/.test(tid ?? '') || !/^\d+$/.test(pid ?? '') || !processComm || !comm) fail(lineNo, 'a thread line needs tid pid process-comm comm');
        threads.set(Number(tid), { tid: Number(tid), pid: Number(pid), processComm, comm, firstSeenNs: t, goneNs: null, tNs: [], utime: [], stime: [] });
        break;
      }
      case 'T': {
        for (const token of tokens.slice(2)) {
          if (!threadToken.safeParse(token).success) fail(lineNo, `"${token}" is not tid:utime:stime`);
          const [tid, ut, st] = token.split(':').map(Number) as [number, number, number];
          const series = threads.get(tid);
          if (!series) fail(lineNo, `thread ${tid} was never announced`);
          series.tNs.push(t);
          series.utime.push(ut);
          series.stime.push(st);
        }
        break;
      }
      case 'G': {
        const series = threads.get(Number(tokens[2]));
        if (series) series.goneNs = t;
        break;
      }
      case 'X': {
        const samples = /^samples=(\d+)$/.exec(tokens[3] ?? '');
        const overruns = /^overruns=(\d+)$/.exec(tokens[4] ?? '');
        const scans = tokens[5] === undefined ? null : /^scans=(\d+)$/.exec(tokens[5]);
        if (!tokens[2] || !samples || !overruns || (tokens[5] !== undefined && !scans)) fail(lineNo, 'a stop line needs reason samples=N overruns=M [scans=K]');
        end = { tNs: t, reason: tokens[2], samples: Number(samples[1]), overruns: Number(overruns[1]), scans: scans ? Number(scans[1]) : null };
        break;
      }
      default:
        fail(lineNo, `unknown record kind "${kind}"`);
    }
  }

  const columns = new Map<string, Float64Array>();
  header.columns.forEach((name, c) => {
    const values = new Float64Array(rows.length);
    for (let r = 0; r < rows.length; r++) {
      const token = rows[r]![c]!;
      values[r] = token === '-' ? Number.NaN : Number(token);
    }
    columns.set(name, values);
  });
  return { header, tNs: Float64Array.from(times), columns, threads, end, truncated };
}

/** Wall-clock time (ms since the epoch) of a boottime instant, from the header's anchor. */
export function wallClockMs(header: SamplerHeader, boottimeNs: number): number {
  return (header.anchor.realtimeNs + (boottimeNs - header.anchor.boottimeNs)) / 1e6;
}
