#!/usr/bin/env node
// Entry point: run the TypeScript sources directly through tsx's loader.
import { register } from 'tsx/esm/api';

register();
await import('../harness/cli/main.ts');
