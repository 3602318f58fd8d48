// The JIT: trace, optimise (cast elimination, CSE, DCE), fuse, plan memory, generate code.
export { type JitOptions, type JittedFunction, jit } from './jit.js';
export type { JitStats } from './tracer.js';
