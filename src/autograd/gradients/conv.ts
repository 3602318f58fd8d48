// Gradient rules of convolutions and pools. Each backprop primitive is linear in each input, so its
// own gradients are again convolutions: second derivatives work for conv2d and depthwiseConv2d.
import type { Conv2DInfo } from '../../backend/primitives.js';
import { ENGINE } from '../../tensor/engine.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { GradTable } from '../rule.js';

const both = () => ({ inputs: [0, 1], output: false });
const xShape = (i: Conv2DInfo) => [i.batch, i.inH, i.inW, i.inC];
const yShape = (i: Conv2DInfo) => [i.batch, i.outH, i.outW, i.outC];
const wShape = (i: Conv2DInfo, depthwise: boolean) => [i.kH, i.kW, i.inC, depthwise ? i.multiplier : i.outC];

type Family = 'conv2d' | 'depthwiseConv2d';
type Ctx = {
  attrs: { info: Conv2DInfo };
  inputs: readonly (Tensor | undefined)[];
  needed: readonly boolean[];
};
const run = (
  prim: Family | `${Family}BackpropInput` | `${Family}BackpropFilter`,
  a: Tensor,
  b: Tensor,
  info: Conv2DInfo,
  shape: number[],
) => ENGINE.run(prim, [a, b], { info }, shape, a.dtype);

/** conv(x, w) = y; backpropInput(dy, w) = dx; backpropFilter(x, dy) = dw — each bilinear. */
function family(f: Family): Pick<GradTable, Family | `${Family}BackpropInput` | `${Family}BackpropFilter`> {
  const dw = f === 'depthwiseConv2d';
  return {
    [f]: {
      save: both,
      grad: (dy: Tensor, { attrs: { info }, inputs, needed }: Ctx) => [
        needed[0] ? run(`${f}BackpropInput`, dy, inputs[1]!, info, xShape(info)) : null,
        needed[1] ? run(`${f}BackpropFilter`, inputs[0]!, dy, info, wShape(info, dw)) : null,
      ],
    },
    [`${f}BackpropInput`]: {
      save: both,
      grad: (g: Tensor, { attrs: { info }, inputs, needed }: Ctx) => [
        needed[0] ? run(f, g, inputs[1]!, info, yShape(info)) : null,
        needed[1] ? run(`${f}BackpropFilter`, g, inputs[0]!, info, wShape(info, dw)) : null,
      ],
    },
    [`${f}BackpropFilter`]: {
      save: both,
      grad: (g: Tensor, { attrs: { info }, inputs, needed }: Ctx) => [
        needed[0] ? run(`${f}BackpropInput`, inputs[1]!, g, info, xShape(info)) : null,
        needed[1] ? run(f, inputs[0]!, g, info, yShape(info)) : null,
      ],
    },
  } as unknown as Pick<GradTable, Family | `${Family}BackpropInput` | `${Family}BackpropFilter`>;
}

export const convGrads: Pick<
  GradTable,
  | 'conv2d'
  | 'conv2dBackpropInput'
  | 'conv2dBackpropFilter'
  | 'depthwiseConv2d'
  | 'depthwiseConv2dBackpropInput'
  | 'depthwiseConv2dBackpropFilter'
  | 'maxPool'
  | 'maxPoolGrad'
  | 'avgPool'
  | 'avgPoolGrad'
> = {
  ...family('conv2d'),
  ...family('depthwiseConv2d'),
  maxPool: {
    save: () => ({ inputs: [0], output: false }),
    grad: (dy, { attrs: { info }, inputs }) => [
      ENGINE.run('maxPoolGrad', [dy, inputs[0]!], { info }, xShape(info), dy.dtype),
    ],
  },
  maxPoolGrad: {
    save: () => ({ inputs: [], output: false }),
    grad: () => {
      throw new Error('maxPool: second-order gradients of maxPool are not supported');
    },
  },
  avgPool: {
    save: () => ({ inputs: [], output: false }),
    grad: (dy, { attrs: { info } }) => [ENGINE.run('avgPoolGrad', [dy], { info }, xShape(info), dy.dtype)],
  },
  avgPoolGrad: {
    save: () => ({ inputs: [], output: false }),
    // avgPoolGrad is linear in dy, its adjoint is avgPool itself
    grad: (g, { attrs: { info } }) => [ENGINE.run('avgPool', [g], { info }, yShape(info), g.dtype)],
  },
};
