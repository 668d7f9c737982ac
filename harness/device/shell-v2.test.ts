import { describe, expect, it } from '@jest/globals';
import { ShellPacket, ShellV2Decoder, encodeShellPacket } from './shell-v2.js';

describe('shell v2 framing', () => {
  it('decodes packets split at every possible byte boundary', () => {
    const wire = Buffer.concat([
      encodeShellPacket(ShellPacket.stdout, Buffer.from('hello ')),
      encodeShellPacket(ShellPacket.stderr, Buffer.from('oops')),
      encodeShellPacket(ShellPacket.stdout, Buffer.from('world')),
      encodeShellPacket(ShellPacket.exit, Buffer.from([7])),
    ]);
    for (let cut = 0; cut <= wire.length; cut++) {
      const decoder = new ShellV2Decoder();
      const packets = [...decoder.push(wire.subarray(0, cut)), ...decoder.push(wire.subarray(cut))];
      expect(packets.map((p) => [p.id, p.data.toString('latin1')])).toEqual([
        [1, 'hello '],
        [2, 'oops'],
        [1, 'world'],
        [3, '\x07'],
      ]);
      expect(decoder.bufferedBytes).toBe(0);
    }
  });

  it('keeps an incomplete packet until its last byte arrives', () => {
    const decoder = new ShellV2Decoder();
    const packet = encodeShellPacket(ShellPacket.stdout, Buffer.alloc(70_000, 0x61));
    expect(decoder.push(packet.subarray(0, 1000))).toEqual([]);
    expect(decoder.bufferedBytes).toBe(1000);
    const [done] = decoder.push(packet.subarray(1000));
    expect(done?.data.length).toBe(70_000);
  });

  it('encodes an empty close-stdin packet as five header bytes', () => {
    expect([...encodeShellPacket(ShellPacket.closeStdin)]).toEqual([4, 0, 0, 0, 0]);
  });
});
