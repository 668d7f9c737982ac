import type { Command } from 'commander';
import { register as registerDevices } from './devices.js';
import { register as registerDoctor } from './doctor.js';
import { register as registerModel } from './model.js';
import { register as registerEat } from './eat.js';
import { register as registerKernel } from './kernel.js';
import { register as registerZram } from './zram.js';
import { register as registerConfig } from './config.js';
import { register as registerBootimg } from './bootimg.js';
import { register as registerFlash } from './flash.js';
import { register as registerPlan } from './plan.js';
import { register as registerNightly } from './nightly.js';
import { register as registerBisect } from './bisect.js';
import { register as registerVm } from './vm.js';

/**
 * Every command group registers itself here, one line each, in the order
 * `zlab --help` lists them.
 */
const groups: Array<(program: Command) => void> = [
  registerDevices,
  registerDoctor,
  registerModel,
  registerEat,
  registerKernel,
  registerZram,
  registerConfig,
  registerBootimg,
  registerFlash,
  registerPlan,
  registerNightly,
  registerBisect,
  registerVm,
];

export function registerCommands(program: Command): void {
  for (const register of groups) register(program);
}
