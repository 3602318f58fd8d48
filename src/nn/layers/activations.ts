// Activation functions by name (Keras/tfjs identifiers), used by layers' `activation` argument.
import {
  abs,
  add,
  div,
  elu,
  mul,
  relu,
  relu6,
  sigmoid,
  softplus,
  tanh,
} from '../../tensor/ops/elementwise.js';
import { logSoftmax, softmax } from '../../tensor/ops/nn.js';
import type { Tensor } from '../../tensor/tensor.js';

export type ActivationName =
  | 'linear'
  | 'relu'
  | 'relu6'
  | 'elu'
  | 'sigmoid'
  | 'tanh'
  | 'softmax'
  | 'logSoftmax'
  | 'softplus'
  | 'softsign'
  | 'swish';

const ACTIVATIONS: Record<ActivationName, (x: Tensor) => Tensor> = {
  linear: (x) => x,
  relu: (x) => relu(x),
  relu6: (x) => relu6(x),
  elu: (x) => elu(x),
  sigmoid: (x) => sigmoid(x),
  tanh: (x) => tanh(x),
  softmax: (x) => softmax(x),
  logSoftmax: (x) => logSoftmax(x),
  softplus: (x) => softplus(x),
  softsign: (x) => div(x, add(abs(x), 1)),
  swish: (x) => mul(x, sigmoid(x)),
};

const ALIASES: Record<string, ActivationName> = { log_softmax: 'logSoftmax', silu: 'swish' };

export function getActivation(
  name: string | null | undefined,
  where: string,
): { name: ActivationName; fn: (x: Tensor) => Tensor } {
  const key = (name ? (ALIASES[name] ?? name) : 'linear') as ActivationName;
  const fn = ACTIVATIONS[key];
  if (!fn)
    throw new Error(
      `${where}: unknown activation '${name}'; expected one of ${Object.keys(ACTIVATIONS).join(', ')}`,
    );
  return { name: key, fn };
}
