// BatchNormalization (Keras semantics): batch statistics in training (and an update of the moving
// statistics), moving statistics in inference. Statistics and parameters are a float32 island:
// 16-bit inputs are normalised in float32 and cast back (variance overflows float16 otherwise).

import { customGrad } from '../../autograd/grad.js';
import { ENGINE } from '../../tensor/engine.js';
import { tidy } from '../../tensor/lifetime.js';
import { ones, zeros } from '../../tensor/ops/creation.js';
import { add, cast, div, mul, neg, rsqrt, sub } from '../../tensor/ops/elementwise.js';
import { moments, sum } from '../../tensor/ops/reduction.js';
import type { Tensor, Variable } from '../../tensor/tensor.js';
import type { Initializer, InitializerIdentifier } from '../initializers.js';
import { type CallArgs, Layer, type LayerArgs, type LayerInput } from '../layer.js';
import { getRegularizer } from '../regularizers.js';
import type { Shape } from '../symbolic.js';
import { type RegularizerId, regularizerJson, singleInput } from './core.js';

export interface BatchNormalizationArgs extends LayerArgs {
  axis?: number;
  momentum?: number;
  epsilon?: number;
  center?: boolean;
  scale?: boolean;
  betaInitializer?: Initializer | InitializerIdentifier;
  gammaInitializer?: Initializer | InitializerIdentifier;
  movingMeanInitializer?: Initializer | InitializerIdentifier;
  movingVarianceInitializer?: Initializer | InitializerIdentifier;
  betaRegularizer?: RegularizerId;
  gammaRegularizer?: RegularizerId;
}

export class BatchNormalization extends Layer {
  static override className = 'BatchNormalization';
  readonly axis: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  gamma?: Variable;
  beta?: Variable;
  movingMean?: Variable;
  movingVariance?: Variable;
  private readonly args: BatchNormalizationArgs;

  constructor(args: BatchNormalizationArgs = {}) {
    super(args);
    this.args = args;
    this.axis = args.axis ?? -1;
    this.momentum = args.momentum ?? 0.99;
    this.epsilon = args.epsilon ?? 1e-3;
    this.center = args.center ?? true;
    this.scale = args.scale ?? true;
    const where = `BatchNormalization '${this.name}'`;
    if (!(this.momentum >= 0 && this.momentum <= 1))
      throw new Error(`${where}: momentum must be in [0, 1], got ${this.momentum}`);
    if (!(this.epsilon > 0)) throw new Error(`${where}: epsilon must be > 0, got ${this.epsilon}`);
  }

  private channelAxis(rank: number): number {
    const a = this.axis < 0 ? rank + this.axis : this.axis;
    if (a < 1 || a >= rank)
      throw new Error(
        `BatchNormalization '${this.name}': axis ${this.axis} is out of range for rank ${rank} inputs`,
      );
    return a;
  }

  override build(s: Shape): void {
    const c = s[this.channelAxis(s.length)];
    if (c === null)
      throw new Error(
        `BatchNormalization '${this.name}': the channel dimension must be known, got [${s.map((d) => d ?? 'null')}]`,
      );
    const where = `BatchNormalization '${this.name}'`;
    // float32 island: parameters and statistics are float32 whatever the policy
    const f32 = { dtype: 'float32' as const, autocast: false };
    if (this.scale)
      this.gamma = this.addWeight('gamma', [c], this.args.gammaInitializer ?? 'ones', {
        ...f32,
        regularizer: getRegularizer(this.args.gammaRegularizer, where),
      });
    if (this.center)
      this.beta = this.addWeight('beta', [c], this.args.betaInitializer ?? 'zeros', {
        ...f32,
        regularizer: getRegularizer(this.args.betaRegularizer, where),
      });
    this.movingMean = this.addWeight('moving_mean', [c], this.args.movingMeanInitializer ?? 'zeros', {
      ...f32,
      trainable: false,
    });
    this.movingVariance = this.addWeight(
      'moving_variance',
      [c],
      this.args.movingVarianceInitializer ?? 'ones',
      { ...f32, trainable: false },
    );
  }

  call(inputs: LayerInput, kwargs: CallArgs): Tensor {
    const x = singleInput(inputs, `BatchNormalization '${this.name}'`);
    const axis = this.channelAxis(x.rank);
    // statistics broadcast along the channel axis; for NHWC the [C] vectors broadcast directly
    const bshape = x.shape.map((d, i) => (i === axis ? d : 1));
    const vec = (v: Tensor) => (axis === x.rank - 1 ? v : v.reshape(bshape));
    const C = x.shape[axis];
    const gamma = this.gamma ?? ones([C]);
    const beta = this.beta ?? zeros([C]);
    if (kwargs.training) {
      const axes = x.shape.map((_, i) => i).filter((i) => i !== axis);
      return this.trainingNorm(axes, vec)(x, gamma, beta);
    }
    // inference: y = x * scale + shift with per-channel float32 scale/shift, applied in x's dtype
    const { scale, shift } = tidy(() => {
      const sc = mul(gamma, rsqrt(add(this.movingVariance!, this.epsilon)));
      return { scale: sc, shift: sub(beta, mul(this.movingMean!, sc)) };
    });
    const y = add(mul(x, vec(cast(scale, x.dtype))), vec(cast(shift, x.dtype)));
    return y.dtype === this.computeDtype ? y : cast(y, this.computeDtype);
  }

  /**
   * Training-mode normalisation as one differentiable step (a fused batch norm): statistics in
   * float32, output in x's dtype, and only x and per-channel vectors kept for the backward pass —
   * no full-size float32 copy survives the forward pass, so 16-bit activations stay 16-bit.
   */
  private trainingNorm(axes: number[], vec: (v: Tensor) => Tensor) {
    const eps = this.epsilon;
    return customGrad((...args) => {
      const [x, gamma, beta] = args as Tensor[];
      const save = args[3] as (ts: Tensor[]) => void;
      const { y, mean, variance, inv } = tidy(() => {
        const x32 = x.dtype === 'float32' ? x : cast(x, 'float32');
        const m = moments(x32, axes);
        const iv = rsqrt(add(m.variance, eps));
        const sc = mul(gamma, iv);
        const out = add(mul(x32, vec(sc)), vec(sub(beta, mul(m.mean, sc))));
        return {
          y: out.dtype === x.dtype ? out : cast(out, x.dtype),
          mean: m.mean,
          variance: m.variance,
          inv: iv,
        };
      });
      this.updateMovingStats(mean, variance);
      save([x, gamma, mean, inv]);
      return {
        value: y,
        gradFunc: (dy: Tensor, saved: Tensor[]) =>
          tidy(() => {
            const [xs, g, mu, iv] = saved;
            const n = xs.size / mu.size;
            const f32 = (t: Tensor) => (t.dtype === 'float32' ? t : cast(t, 'float32'));
            // per-channel sums first; each full-size float32 temporary lives only inside its tidy
            const dbeta = tidy(() => sum(f32(dy), axes));
            const dyx = tidy(() => sum(mul(f32(dy), f32(xs)), axes));
            // dgamma = Σ dy·xhat = inv·(Σ dy·x − mean·Σ dy)
            const dgamma = mul(iv, sub(dyx, mul(mu, dbeta)));
            // dx = k·(n·dy − dbeta − xhat·dgamma) with k = gamma·inv/n, as A·dy + B·x + C per channel
            const k = div(mul(g, iv), n);
            const A = mul(k, n);
            const B = neg(mul(mul(k, dgamma), iv));
            const C = sub(mul(mul(mul(k, dgamma), iv), mu), mul(k, dbeta));
            const bx = tidy(() => add(mul(f32(xs), vec(B)), vec(C)));
            const dx = tidy(() => {
              const d = add(mul(f32(dy), vec(A)), bx);
              return d.dtype === xs.dtype ? d : cast(d, xs.dtype);
            });
            return [dx, dgamma, dbeta];
          }),
      };
    });
  }

  /** moving = moving * momentum + batch * (1 - momentum); Keras uses the biased batch variance. */
  private updateMovingStats(mean: Tensor, variance: Tensor): void {
    ENGINE.noGrad(() => {
      const m = this.momentum;
      const mm = this.movingMean!;
      const mv = this.movingVariance!;
      const newMean = add(mul(mm, m), mul(mean, 1 - m));
      const newVar = add(mul(mv, m), mul(variance, 1 - m));
      mm.assign(newMean);
      mv.assign(newVar);
      newMean.dispose();
      newVar.dispose();
    });
  }

  override computeOutputDtype(): 'float32' | 'float16' | 'bfloat16' {
    return this.dtypePolicy.computeDtype;
  }

  override getConfig() {
    const where = `BatchNormalization '${this.name}'`;
    return {
      ...super.getConfig(),
      axis: this.axis,
      momentum: this.momentum,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      beta_regularizer: regularizerJson(this.args.betaRegularizer, where),
      gamma_regularizer: regularizerJson(this.args.gammaRegularizer, where),
    };
  }
}
