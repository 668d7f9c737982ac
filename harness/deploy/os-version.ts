import { UsageError } from '../util/errors.js';

/**
 * The boot image `os_version` word: Android version A.B.C and security patch
 * level Y-M packed as A[31:25] B[24:18] C[17:11] (Y-2000)[10:4] M[3:0].
 * A zero patch level (year 2000, month 0) means "not set", as mkbootimg writes it.
 */
export interface OsVersion {
  /** "A.B.C" */
  version: string;
  /** "YYYY-MM", or null when the image leaves it unset */
  patchLevel: string | null;
  /** the packed 32-bit word */
  raw: number;
}

export interface OsVersionInput {
  version?: string;
  patchLevel?: string | null;
}

const SEVEN_BITS = 0x7f;

export function encodeOsVersion(input: OsVersionInput): number {
  let version = 0;
  if (input.version !== undefined && input.version !== '') {
    const m = /^(\d{1,3})(?:\.(\d{1,3}))?(?:\.(\d{1,3}))?$/.exec(input.version);
    if (!m) throw new UsageError(`os_version: "${input.version}" is not a version; use A, A.B or A.B.C (each 0-127)`);
    const parts = [m[1], m[2], m[3]].map((p) => (p === undefined ? 0 : Number(p)));
    for (const p of parts) {
      if (p > SEVEN_BITS) throw new UsageError(`os_version: "${input.version}" has a part above 127 (7 bits each)`);
    }
    const [a = 0, b = 0, c = 0] = parts;
    version = (a << 14) | (b << 7) | c;
  }
  let patch = 0;
  if (input.patchLevel !== undefined && input.patchLevel !== null && input.patchLevel !== '') {
    const m = /^(\d{4})-(\d{2})(?:-\d{2})?$/.exec(input.patchLevel);
    if (!m) throw new UsageError(`os_patch_level: "${input.patchLevel}" is not a date; use YYYY-MM or YYYY-MM-DD`);
    const year = Number(m[1]) - 2000;
    const month = Number(m[2]);
    if (year < 0 || year > SEVEN_BITS) throw new UsageError(`os_patch_level: year ${m[1]} is outside 2000-2127`);
    if (month < 1 || month > 12) throw new UsageError(`os_patch_level: month ${m[2]} is outside 01-12`);
    patch = (year << 4) | month;
  }
  // `>>> 0` keeps the word unsigned when A >= 64 sets bit 31.
  return ((version << 11) | patch) >>> 0;
}

export function decodeOsVersion(raw: number): OsVersion {
  if (!Number.isInteger(raw) || raw < 0 || raw > 0xffffffff) {
    throw new UsageError(`os_version: ${raw} is not a 32-bit unsigned word`);
  }
  const version = raw >>> 11;
  const patch = raw & 0x7ff;
  const a = version >>> 14;
  const b = (version >>> 7) & SEVEN_BITS;
  const c = version & SEVEN_BITS;
  const year = patch >>> 4;
  const month = patch & 0xf;
  let patchLevel: string | null = null;
  if (patch !== 0) {
    if (month < 1 || month > 12) {
      throw new UsageError(`os_version: patch level month ${month} is outside 1-12 (word 0x${raw.toString(16)})`);
    }
    patchLevel = `${2000 + year}-${String(month).padStart(2, '0')}`;
  }
  return { version: `${a}.${b}.${c}`, patchLevel, raw };
}
