/**
 * The virtual device's read-only properties, written into the initramfs as
 * /etc/zlab/props (key=value lines). adbd builds its banner from the
 * ro.product.* values, so those hold no ':', ';' or '='.
 */
export function guestProperties(kernelRelease: string): Record<string, string> {
  return {
    'ro.product.manufacturer': 'zlab',
    'ro.product.brand': 'zlab',
    'ro.product.name': 'zlab_vd',
    'ro.product.model': 'zlab virtual device',
    'ro.product.device': 'zlab_x86_64',
    'ro.product.cpu.abi': 'x86_64',
    'ro.product.cpu.abilist': 'x86_64',
    'ro.hardware': 'zlab_qemu',
    'ro.kernel.qemu': '1',
    'ro.zlab.virtual': '1',
    'ro.build.type': 'userdebug',
    'ro.build.tags': 'test-keys',
    'ro.build.fingerprint': `zlab/zlab_vd/zlab_x86_64:${kernelRelease}/zlab/1:userdebug/test-keys`,
    'ro.debuggable': '1',
    'ro.secure': '0',
  };
}

export function propertiesFile(props: Record<string, string>): string {
  return Object.entries(props)
    .map(([key, value]) => {
      if (!/^[A-Za-z0-9._-]+$/.test(key) || /[\n\0]/.test(value)) throw new Error(`bad property ${key}`);
      return `${key}=${value}\n`;
    })
    .join('');
}
