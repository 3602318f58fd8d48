// JIT passes on small hand-built graphs: what each pass removes, what fuses and what does not.
import { describe, expect, it } from 'vitest';
import { fuse } from '../../src/jit/fusion.js';
import { type Graph, type GraphNode, graphKey, sameGraph } from '../../src/jit/graph.js';
import { duplicateWidenings, optimize } from '../../src/jit/passes.js';

const f32 = (shape: number[]) => ({ shape, dtype: 'float32' as const });
const node = (
  prim: GraphNode['prim'],
  attrs: unknown,
  inputs: number[],
  shape: number[],
  dtype: GraphNode['dtype'] = 'float32',
): GraphNode => ({ prim, attrs, inputs, shape, dtype });

describe('optimize', () => {
  it('removes casts to the same dtype and exact round trips, keeps lossy ones', () => {
    const g: Graph = {
      inputs: [{ shape: [4], dtype: 'float16' }, f32([4])],
      nodes: [
        node('cast', { dtype: 'float32' }, [0], [4]), // %2 f16 -> f32 (exact)
        node('cast', { dtype: 'float16' }, [2], [4], 'float16'), // %3 back to f16: removable
        node('cast', { dtype: 'float16' }, [1], [4], 'float16'), // %4 f32 -> f16 (lossy)
        node('cast', { dtype: 'float32' }, [4], [4]), // %5 back to f32: must stay
        node('cast', { dtype: 'float32' }, [1], [4]), // %6 same dtype: removable
      ],
      outputs: [3, 5, 6],
    };
    const { graph, stats } = optimize(g);
    expect(stats.castsRemoved).toBe(2);
    expect(graph.outputs[0]).toBe(0);
    expect(graph.outputs[2]).toBe(1);
    expect(graph.nodes.map((n) => n.prim)).toEqual(['cast', 'cast']);
  });

  it('merges common subexpressions and drops dead code', () => {
    const g: Graph = {
      inputs: [f32([3]), f32([3])],
      nodes: [
        node('binary', { op: 'add' }, [0, 1], [3]), // %2
        node('binary', { op: 'add' }, [0, 1], [3]), // %3 = %2
        node('binary', { op: 'mul' }, [2, 3], [3]), // %4 -> mul(%2, %2)
        node('unary', { op: 'exp' }, [0], [3]), // %5 dead
      ],
      outputs: [4],
    };
    const { graph, stats } = optimize(g);
    expect(stats.commonRemoved).toBe(1);
    expect(stats.deadRemoved).toBe(1);
    expect(graph.nodes).toHaveLength(2);
    expect(graph.nodes[1].inputs).toEqual([2, 2]);
  });

  it('keeps apart nodes whose attributes differ only in a non-finite value (pad by +-Infinity)', () => {
    const pad = (value: number) => node('pad', { paddings: [[1, 1]], value }, [0], [5]);
    const g: Graph = {
      inputs: [f32([3])],
      nodes: [pad(Number.POSITIVE_INFINITY), pad(Number.NEGATIVE_INFINITY), pad(Number.NaN)],
      outputs: [1, 2, 3],
    };
    const { graph, stats } = optimize(g);
    expect(stats.commonRemoved).toBe(0);
    expect(graph.nodes).toHaveLength(3);
  });
});

describe('duplicateWidenings', () => {
  const bf16 = (shape: number[]) => ({ shape, dtype: 'bfloat16' as const });
  // a kernel's bfloat16 output widened once, read by a batch-norm-like mean, a normalisation and a
  // matMul (a kernel): the fused readers get their own copy of the cast, the matMul the stored one
  const graph = (): Graph => ({
    inputs: [bf16([8, 4]), bf16([4, 4]), f32([4])],
    nodes: [
      node('matMul', { transposeA: false, transposeB: false }, [0, 1], [8, 4], 'bfloat16'), // %3
      node('cast', { dtype: 'float32' }, [3], [8, 4]), // %4 the widening
      node('reduce', { op: 'mean', axes: [0] }, [4], [4]), // %5
      node('binary', { op: 'sub' }, [4, 5], [8, 4]), // %6
      node('binary', { op: 'mul' }, [6, 2], [8, 4]), // %7
      node('matMul', { transposeA: true, transposeB: false }, [4, 7], [4, 4]), // %8
    ],
    outputs: [8],
  });

  it('gives each fused reader its own copy of the cast and keeps one stored copy for the kernel', () => {
    const { graph: out, duplicated } = duplicateWidenings(graph());
    expect(duplicated).toBe(2);
    const casts = out.nodes.filter((n) => n.prim === 'cast');
    expect(casts).toHaveLength(3);
    const I = out.inputs.length;
    const readers = (v: number) => out.nodes.filter((n) => n.inputs.includes(v)).map((n) => n.prim);
    for (const [k, n] of out.nodes.entries()) if (n.prim === 'cast') expect(readers(I + k)).toHaveLength(1);
    // fused, the mean and the normalisation read the bfloat16 matMul output: no float32 copy is
    // stored but the one the second matMul reads
    const { steps } = fuse(out);
    const stored = steps.flatMap((s) =>
      s.kind === 'fused' ? s.spec.stores.map((e) => s.spec.exprs[e].dtype) : [],
    );
    expect(steps.filter((s) => s.kind === 'fused')).toHaveLength(3);
    expect(stored.filter((d) => d === 'float32')).toHaveLength(2); // the kept cast and the mul
  });

  it('leaves a widening alone when fewer than two fused kernels read it, and narrowing casts always', () => {
    const one = graph();
    one.nodes[3] = node('binary', { op: 'sub' }, [2, 5], [8, 4]); // the normalisation no longer reads %4
    expect(duplicateWidenings(one).duplicated).toBe(0);
    const narrow: Graph = {
      inputs: [f32([8, 4]), f32([4, 4])],
      nodes: [
        node('matMul', { transposeA: false, transposeB: false }, [0, 1], [8, 4]),
        node('cast', { dtype: 'bfloat16' }, [2], [8, 4], 'bfloat16'),
        node('unary', { op: 'relu' }, [3], [8, 4], 'bfloat16'),
        node('unary', { op: 'neg' }, [3], [8, 4], 'bfloat16'),
      ],
      outputs: [4, 5],
    };
    expect(duplicateWidenings(narrow).duplicated).toBe(0);
  });
});

describe('fuse', () => {
  it('fuses an elementwise chain into one kernel storing only what is used outside', () => {
    const g: Graph = {
      inputs: [f32([2, 3]), f32([3])],
      nodes: [
        node('binary', { op: 'add' }, [0, 1], [2, 3]), // %2 bias add (broadcast input)
        node('unary', { op: 'relu' }, [2], [2, 3]), // %3
        node('unary', { op: 'square' }, [3], [2, 3]), // %4
      ],
      outputs: [3, 4],
    };
    const { steps, stats } = fuse(g);
    expect(steps).toHaveLength(1);
    expect(stats).toMatchObject({ groups: 1, fusedNodes: 3 });
    const s = steps[0];
    if (s.kind !== 'fused') throw new Error('expected a fused step');
    expect(s.inputs).toEqual([0, 1]);
    expect(s.outs).toEqual([3, 4]); // %2 lives only inside the kernel
  });

  it('attaches a reduction as the epilogue of its elementwise prologue', () => {
    const g: Graph = {
      inputs: [f32([4, 5])],
      nodes: [
        node('unary', { op: 'square' }, [0], [4, 5]),
        node('reduce', { op: 'sum', axes: [1] }, [1], [4]),
      ],
      outputs: [2],
    };
    const { steps, stats } = fuse(g);
    expect(steps).toHaveLength(1);
    expect(stats.reductionsFused).toBe(1);
  });

  it("does not fuse across a matMul or different shapes; a reduction joins its input's group, which also stores the input needed elsewhere", () => {
    const g: Graph = {
      inputs: [f32([2, 2]), f32([2, 2])],
      nodes: [
        node('unary', { op: 'exp' }, [0], [2, 2]), // %2
        node('matMul', { transposeA: false, transposeB: false }, [2, 1], [2, 2]), // %3
        node('unary', { op: 'relu' }, [3], [2, 2]), // %4 new group after the matMul
        node('reduce', { op: 'sum', axes: [1] }, [4], [2]), // %5: %4's group's epilogue (%4 an output too)
        node('binary', { op: 'add' }, [5, 5], [2]), // %6 different shape -> own group
      ],
      outputs: [4, 6],
    };
    const { steps } = fuse(g);
    expect(steps.map((s) => (s.kind === 'kernel' ? s.node.prim : `fused(${s.nodes})`))).toEqual([
      'fused(1)',
      'matMul',
      'fused(2)',
      'fused(1)',
    ]);
    const epilogue = steps[2];
    if (epilogue.kind !== 'fused') throw new Error('expected a fused step');
    expect(epilogue.spec.reduce?.op).toBe('sum');
    expect(epilogue.outs).toEqual([4, 5]); // relu stored (an output), then the sum
  });
});

describe('memory planning', () => {
  it('frees values after their last use and lets a bias+relu epilogue write over the dying matMul output', async () => {
    const { compilePlan, noDump } = await import('../../src/jit/plan.js');
    const { ENGINE } = await import('../../src/tensor/engine.js');
    await import('../../src/index.js');
    const g: Graph = {
      inputs: [f32([4, 3]), f32([3, 5]), f32([5])],
      nodes: [
        node('matMul', { transposeA: false, transposeB: false }, [0, 1], [4, 5]), // %3, dies in the epilogue
        node('binary', { op: 'add' }, [3, 2], [4, 5]), // %4
        node('unary', { op: 'relu' }, [4], [4, 5]), // %5
      ],
      outputs: [5],
    };
    const plan = compilePlan(g, ENGINE.backend, noDump);
    expect(plan.kernels).toBe(2);
    const [mm, epilogue] = plan.steps;
    expect(mm.step.kind).toBe('kernel');
    expect(epilogue.frees).toContain(3);
    expect(epilogue.reuse).toEqual([0]); // relu's output takes input 0's (the matMul result's) buffer
  });
});

describe("sameGraph (the compile cache's structural match before any key is built)", () => {
  const base = (): Graph => ({
    inputs: [f32([2, 3]), { shape: [3], dtype: 'bfloat16' }],
    nodes: [
      node('cast', { dtype: 'float32' }, [1], [3]),
      node('binary', { op: 'add' }, [0, 2], [2, 3]),
      node('pad', pad(Number.NEGATIVE_INFINITY), [3], [3, 5]),
      node('reduce', { op: 'sum', axes: [0, 1], keepDims: undefined }, [4], []),
    ],
    outputs: [4, 5],
  });
  const pad = (value: number, right = 2) => ({
    paddings: [
      [1, 0],
      [0, right],
    ],
    value,
  });
  // each variant changes one thing the compiled plan depends on
  const variants: [string, (g: Graph) => void][] = [
    ['an input shape', (g) => g.inputs.splice(0, 1, f32([3, 2]))],
    ['an input dtype', (g) => g.inputs.splice(1, 1, f32([3]))],
    ['a primitive', (g) => g.nodes.splice(1, 1, { ...g.nodes[1], prim: 'where' })],
    ['an operand', (g) => g.nodes.splice(1, 1, { ...g.nodes[1], inputs: [2, 0] })],
    ['an output dtype', (g) => g.nodes.splice(0, 1, { ...g.nodes[0], dtype: 'float16' })],
    ['an output shape', (g) => g.nodes.splice(2, 1, { ...g.nodes[2], shape: [5, 3] })],
    ['an attribute string', (g) => g.nodes.splice(1, 1, { ...g.nodes[1], attrs: { op: 'sub' } })],
    [
      'a nested attribute',
      (g) => g.nodes.splice(2, 1, { ...g.nodes[2], attrs: pad(Number.NEGATIVE_INFINITY, 1) }),
    ],
    [
      '+Infinity for -Infinity',
      (g) => g.nodes.splice(2, 1, { ...g.nodes[2], attrs: pad(Number.POSITIVE_INFINITY) }),
    ],
    ['NaN for -Infinity', (g) => g.nodes.splice(2, 1, { ...g.nodes[2], attrs: pad(Number.NaN) })],
    [
      'an extra attribute',
      (g) => g.nodes.splice(3, 1, { ...g.nodes[3], attrs: { op: 'sum', axes: [0, 1], keepDims: true } }),
    ],
    ['the outputs', (g) => g.outputs.splice(1, 1)],
    ['a node more', (g) => g.nodes.push(node('unary', { op: 'neg' }, [5], []))],
  ];

  it('matches an equal graph, also with attributes written in another order or with undefined members', () => {
    const a = base();
    const b = base();
    b.nodes[3].attrs = { axes: [0, 1], op: 'sum' };
    expect(sameGraph(a, b)).toBe(true);
    expect(graphKey(a)).toBe(graphKey(base()));
  });

  for (const [what, change] of variants)
    it(`tells graphs apart by ${what}, as the key does`, () => {
      const a = base();
      const b = base();
      change(b);
      expect(sameGraph(a, b)).toBe(false);
      expect(sameGraph(b, a)).toBe(false);
      expect(graphKey(a)).not.toBe(graphKey(b));
    });
});
