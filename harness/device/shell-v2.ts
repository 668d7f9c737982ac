/**
 * The adb shell protocol v2 framing: `[id u8][length u32 LE][data]`.
 * Packets may straddle the transport's writes, so the decoder buffers.
 */
export const ShellPacket = {
  stdin: 0,
  stdout: 1,
  stderr: 2,
  exit: 3,
  closeStdin: 4,
  windowSize: 5,
} as const;

export interface DecodedPacket {
  id: number;
  data: Buffer;
}

const HEADER_BYTES = 5;

export class ShellV2Decoder {
  private pending: Buffer = Buffer.alloc(0);

  /** Feed transport bytes; returns every packet completed by them. */
  push(chunk: Buffer): DecodedPacket[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const packets: DecodedPacket[] = [];
    while (this.pending.length >= HEADER_BYTES) {
      const length = this.pending.readUInt32LE(1);
      if (this.pending.length < HEADER_BYTES + length) break;
      packets.push({
        id: this.pending[0]!,
        data: this.pending.subarray(HEADER_BYTES, HEADER_BYTES + length),
      });
      this.pending = this.pending.subarray(HEADER_BYTES + length);
    }
    return packets;
  }

  /** Bytes received that do not yet form a whole packet. */
  get bufferedBytes(): number {
    return this.pending.length;
  }
}

export function encodeShellPacket(id: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header[0] = id;
  header.writeUInt32LE(data.length, 1);
  return Buffer.concat([header, data]);
}
