import { describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { startAdbServer } from './adb-server.js';

describe('startAdbServer', () => {
  it('starts a private adb server that answers, and stops it by pid', async () => {
    const server = await startAdbServer();
    try {
      const { stdout } = await execa('adb', ['-P', String(server.port), 'devices']);
      expect(stdout).toMatch(/List of devices attached/);
      expect(() => process.kill(server.pid, 0)).not.toThrow();
    } finally {
      await server.stop();
    }
    expect(() => process.kill(server.pid, 0)).toThrow();
  });
});
