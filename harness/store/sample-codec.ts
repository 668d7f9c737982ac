import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { ZlabError } from '../util/errors.js';

/**
 * Compact, lossless storage of one numeric series. Each float64 is XORed
 * with the one before it: slowly moving counters and regular timestamps then
 * share their high bytes, which become zeros that deflate packs tightly.
 * Exact round trip, unlike delta coding of floats.
 */
export const sampleEncoding = 'f64-xor-deflate';

export function encodeSeries(values: readonly number[]): Buffer {
  const words = new BigUint64Array(values.length);
  const view = new Float64Array(words.buffer);
  for (let i = 0; i < values.length; i++) view[i] = values[i]!;
  for (let i = words.length - 1; i > 0; i--) words[i] = words[i]! ^ words[i - 1]!;
  return deflateRawSync(Buffer.from(words.buffer), { level: 6 });
}

export function decodeSeries(data: Buffer, encoding: string, points: number): number[] {
  if (encoding !== sampleEncoding) {
    throw new ZlabError('infrastructure', `stored samples use encoding "${encoding}", which this zlab cannot read`);
  }
  const raw = inflateRawSync(data);
  if (raw.length !== points * 8) {
    throw new ZlabError('infrastructure', `stored series is ${raw.length} bytes, expected ${points * 8} for ${points} points`);
  }
  const words = new BigUint64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
  for (let i = 1; i < words.length; i++) words[i] = words[i]! ^ words[i - 1]!;
  return Array.from(new Float64Array(words.buffer));
}
