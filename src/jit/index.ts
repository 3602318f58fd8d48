// The JIT: trace, optimise (cast elimination, CSE, DCE), fuse, plan memory, generate code.
export { jit, type JitOptions, type JittedFunction } from './jit.js';
export type { JitStats } from './tracer.js';
