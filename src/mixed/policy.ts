// Dtype policies (Keras' mixed_precision.Policy): the dtype a layer computes in and the dtype its
// variables are stored in. Layers take the global policy when constructed and keep it.
import { ENGINE } from '../tensor/engine.js';

export type PolicyName = 'float32' | 'float16' | 'bfloat16' | 'mixed_float16' | 'mixed_bfloat16';
const NAMES: readonly PolicyName[] = ['float32', 'float16', 'bfloat16', 'mixed_float16', 'mixed_bfloat16'];

class DtypePolicy {
  readonly name: PolicyName;
  readonly computeDtype: 'float32' | 'float16' | 'bfloat16';
  readonly variableDtype: 'float32' | 'float16' | 'bfloat16';

  constructor(name: string) {
    if (!NAMES.includes(name as PolicyName)) {
      throw new Error(`mixedPrecision.Policy: unknown policy '${name}'; expected one of ${NAMES.join(', ')}`);
    }
    this.name = name as PolicyName;
    if (name === 'mixed_float16' || name === 'mixed_bfloat16') {
      this.computeDtype = name === 'mixed_float16' ? 'float16' : 'bfloat16';
      this.variableDtype = 'float32';
    } else {
      this.computeDtype = name as 'float32' | 'float16' | 'bfloat16';
      this.variableDtype = this.computeDtype;
    }
  }

  toString(): string {
    return `<Policy "${this.name}">`;
  }
}

/** A dtype policy: `Policy('mixed_float16')` as Keras writes it, or `new Policy('mixed_float16')`. */
export type Policy = DtypePolicy;
interface PolicyFactory {
  new (name: string): DtypePolicy;
  (name: string): DtypePolicy;
  readonly prototype: DtypePolicy;
}
export const Policy = function Policy(name: string): DtypePolicy {
  return new DtypePolicy(name);
} as unknown as PolicyFactory;
// `x instanceof Policy` holds for every policy, however it was made
(Policy as unknown as { prototype: DtypePolicy }).prototype = DtypePolicy.prototype;

let global = new DtypePolicy('float32');
const warned = new Set<string>();

/** Whether the engine computes on a GPU backend (false before any backend is registered). */
function onGpu(): boolean {
  try {
    return ENGINE.backend.name === 'cuda';
  } catch {
    return false;
  }
}

export function setGlobalPolicy(policy: Policy | string): void {
  const p = typeof policy === 'string' ? new DtypePolicy(policy) : policy;
  if ((p.name === 'float16' || p.name === 'bfloat16') && !warned.has(p.name)) {
    warned.add(p.name);
    process.emitWarning(
      `mixedPrecision: global policy '${p.name}' keeps variables in ${p.name} too; training pure 16-bit models is fragile. Did you mean 'mixed_${p.name}'?`,
    );
  }
  if (p.name === 'mixed_float16' && !onGpu() && !warned.has(p.name)) {
    // Keras warns likewise: float16 pays on GPUs; CPUs have no float16 arithmetic
    warned.add(p.name);
    process.emitWarning(
      "mixedPrecision: 'mixed_float16' on the CPU saves activation memory but not time (CPUs have no float16 arithmetic: every op converts); 'mixed_bfloat16' is faster on CPUs with AVX512-BF16.",
    );
  }
  global = p;
}

export function globalPolicy(): Policy {
  return global;
}

/** A layer's `dtype` argument as a policy: a Policy, a policy name, or a dtype name. */
export function toPolicy(dtype: Policy | string | undefined, where: string): Policy {
  if (dtype === undefined) return global;
  if (dtype instanceof DtypePolicy) return dtype;
  if (typeof dtype !== 'string')
    throw new Error(`${where}: dtype must be a dtype name, a policy name or a Policy, got ${String(dtype)}`);
  try {
    return new DtypePolicy(dtype);
  } catch {
    throw new Error(
      `${where}: dtype '${dtype}' is not a float dtype or policy (float32, float16, bfloat16, mixed_float16, mixed_bfloat16)`,
    );
  }
}
