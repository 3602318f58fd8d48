// Gradient rule of matMul, for every transpose combination and broadcast batch.

import { matMul } from '../../tensor/ops/linalg.js';
import type { GradTable } from '../rule.js';
import { unbroadcast } from './util.js';

export const linalgGrads: Pick<GradTable, 'matMul'> = {
  matMul: {
    save: () => ({ inputs: [0, 1], output: false }),
    grad: (dy, { attrs: { transposeA: tA, transposeB: tB }, inputs, inputMeta, needed }) => {
      const a = inputs[0]!;
      const b = inputs[1]!;
      // C = op(A) op(B): dA = dy op(B)^T (transposed back if A was), dB likewise
      const da = () => (tA ? matMul(b, dy, tB, true) : matMul(dy, b, false, !tB));
      const db = () => (tB ? matMul(dy, a, true, tA) : matMul(a, dy, !tA, false));
      return [
        needed[0] ? unbroadcast(da(), inputMeta[0].shape) : null,
        needed[1] ? unbroadcast(db(), inputMeta[1].shape) : null,
      ];
    },
  },
};
