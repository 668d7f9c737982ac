import { inflateSync } from 'node:zlib';
import { ZlabError } from '../util/errors.js';

/**
 * Just enough PNG decoding to look at a screenshot: 8-bit RGB or RGBA,
 * not interlaced (what Chromium writes).
 */
export interface Pixels {
  width: number;
  height: number;
  /** RGB triples, row by row. */
  rgb: Uint8Array;
}

const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function decodePng(png: Buffer): Pixels {
  if (png.length < 8 || !png.subarray(0, 8).equals(signature)) throw new ZlabError('bug', 'not a PNG file');
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const depth = data[8];
      const colour = data[9];
      const interlace = data[12];
      if (depth !== 8 || (colour !== 2 && colour !== 6) || interlace !== 0) {
        throw new ZlabError('bug', `PNG with bit depth ${depth}, colour type ${colour}, interlace ${interlace} is not supported`);
      }
      channels = colour === 6 ? 4 : 3;
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      break;
    }
    at += 12 + length;
  }
  if (!channels) throw new ZlabError('bug', 'PNG has no IHDR chunk');
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = new Uint8Array(width * height * 3);
  let prev = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const cur = new Uint8Array(stride);
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? cur[x - channels]! : 0;
      const b = prev[x]!;
      const c = x >= channels ? prev[x - channels]! : 0;
      let predictor = 0;
      if (filter === 1) predictor = a;
      else if (filter === 2) predictor = b;
      else if (filter === 3) predictor = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (filter !== 0) throw new ZlabError('bug', `PNG row ${y} has unknown filter ${filter}`);
      cur[x] = (line[x]! + predictor) & 0xff;
    }
    for (let x = 0; x < width; x++) {
      out.set(cur.subarray(x * channels, x * channels + 3), (y * width + x) * 3);
    }
    prev = cur;
  }
  return { width, height, rgb: out };
}

/** Number of distinct colours after dropping the low 3 bits of each channel. */
export function colourVariety(p: Pixels): number {
  const seen = new Set<number>();
  for (let i = 0; i < p.rgb.length; i += 3) seen.add(((p.rgb[i]! >> 3) << 10) | ((p.rgb[i + 1]! >> 3) << 5) | (p.rgb[i + 2]! >> 3));
  return seen.size;
}

/** Pixels within `tolerance` (per channel) of the colour #rrggbb. */
export function pixelsNear(p: Pixels, hex: string, tolerance = 24): number {
  const r = parseInt(hex.slice(1, 3), 16);
  const g = parseInt(hex.slice(3, 5), 16);
  const b = parseInt(hex.slice(5, 7), 16);
  let n = 0;
  for (let i = 0; i < p.rgb.length; i += 3) {
    if (Math.abs(p.rgb[i]! - r) <= tolerance && Math.abs(p.rgb[i + 1]! - g) <= tolerance && Math.abs(p.rgb[i + 2]! - b) <= tolerance) n++;
  }
  return n;
}
