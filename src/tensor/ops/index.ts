// Every op function, for the public API and the chained Tensor methods.

export * from './conv.js';
export * from './creation.js';
export * from './elementwise.js';
export * from './layout.js';
export * from './linalg.js';
export * from './nn.js';
export * from './reduction.js';
export type { TensorLike } from './util.js';
