// Gradient rules of data-movement primitives: each is the adjoint movement.

import { isFloatDType } from '../../dtype.js';
import { gather, pad, reshape, scatterAdd, slice, transpose } from '../../tensor/ops/layout.js';
import type { GradTable } from '../rule.js';
import { unbroadcast } from './util.js';

const none = () => ({ inputs: [] as number[], output: false });

export const layoutGrads: Pick<
  GradTable,
  'reshape' | 'transpose' | 'broadcastTo' | 'slice' | 'pad' | 'concat' | 'gather' | 'scatterAdd'
> = {
  reshape: { save: none, grad: (dy, { inputMeta }) => [reshape(dy, inputMeta[0].shape.slice())] },
  transpose: {
    save: none,
    grad: (dy, { attrs: { perm } }) => {
      const inverse = new Array<number>(perm.length);
      perm.forEach((p, i) => {
        inverse[p] = i;
      });
      return [transpose(dy, inverse)];
    },
  },
  broadcastTo: { save: none, grad: (dy, { inputMeta }) => [unbroadcast(dy, inputMeta[0].shape)] },
  slice: {
    save: none,
    grad: (dy, { attrs: { begin, size }, inputMeta }) => [
      pad(
        dy,
        inputMeta[0].shape.map((d, i) => [begin[i], d - begin[i] - size[i]] as [number, number]),
      ),
    ],
  },
  pad: {
    save: none,
    grad: (dy, { attrs: { paddings }, inputMeta }) => [
      slice(
        dy,
        paddings.map(([before]) => before),
        inputMeta[0].shape.slice(),
      ),
    ],
  },
  concat: {
    save: none,
    grad: (dy, { attrs: { axis }, inputMeta }) => {
      let at = 0;
      return inputMeta.map(({ shape }) => {
        const begin = shape.map((_, i) => (i === axis ? at : 0));
        at += shape[axis];
        return slice(dy, begin, shape.slice());
      });
    },
  },
  gather: {
    save: () => ({ inputs: [1], output: false }),
    grad: (dy, { attrs: { axis }, inputs, inputMeta }) =>
      isFloatDType(inputMeta[0].dtype)
        ? [scatterAdd(dy, inputs[1]!, axis, inputMeta[0].shape[axis]), null]
        : [null, null],
  },
  scatterAdd: {
    save: () => ({ inputs: [1], output: false }),
    grad: (dy, { attrs: { axis }, inputs }) => [gather(dy, inputs[1]!, axis), null],
  },
};
