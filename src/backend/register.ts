// Registers the built-in backends with the engine. 'cuda' is named so that asking for it says
// plainly what is missing instead of "unknown backend".

import { ENGINE } from '../tensor/engine.js';
import { CpuBackend } from './cpu/backend-cpu.js';

ENGINE.registerBackend('cpu', () => new CpuBackend());
ENGINE.registerBackend('cuda', () => {
  throw new Error(
    "setBackend('cuda'): this version of Keel has no CUDA backend yet (it is planned: cuBLASLt, NVRTC and cuDNN through FFI); use the 'cpu' backend",
  );
});
