// Registers the built-in backends with the engine (cpu now; cuda joins here).

import { ENGINE } from '../tensor/engine.js';
import { CpuBackend } from './cpu/backend-cpu.js';

ENGINE.registerBackend('cpu', () => new CpuBackend());
