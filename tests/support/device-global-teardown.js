import { register } from 'tsx/esm/api';

register();
const { default: teardown } = await import('./virtual-device-teardown.ts');
export default teardown;
