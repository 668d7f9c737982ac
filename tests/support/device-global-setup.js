// jest loads global setup outside its module mapper, so the TypeScript
// sources are loaded through tsx here.
import { register } from 'tsx/esm/api';

register();
const { default: setup } = await import('./virtual-device-setup.ts');
export default setup;
