// model.summary() in Keras' table format (tf.keras 2.x): sequential-like models get three columns
// (65 wide), graphs a fourth, "Connected to" (98 wide); totals split trainable / non-trainable.

import type { Layer } from '../layer.js';
import { InputLayer } from '../layers/input.js';
import { type Shape, shapeString } from '../symbolic.js';
import type { Functional } from './functional.js';

function printRow(fields: string[], positions: number[], out: string[]): void {
  const left = [...fields];
  while (left.some((s) => s.length > 0)) {
    let line = '';
    for (let col = 0; col < left.length; col++) {
      const start = col > 0 ? positions[col - 1] : 0;
      const end = positions[col];
      const space = col !== positions.length - 1 ? 2 : 0;
      let cutoff = end - start - space;
      let fit = left[col].slice(0, cutoff);
      // break long cells after the end of a tuple or list item, as Keras does
      const cuts = ['),', '},', '],', "',"]
        .filter((b) => fit.includes(b))
        .map((b) => fit.indexOf(b) + b.length);
      if (cuts.length > 0) {
        cutoff = Math.min(...cuts);
        fit = fit.slice(0, cutoff);
      }
      if (col === 0) line += ' ';
      line += fit + ' '.repeat(space);
      left[col] = left[col].slice(cutoff);
      line += ' '.repeat(Math.max(0, end - line.length));
    }
    out.push(line);
  }
}

function outputShapeText(model: Functional, layer: Layer): string {
  const nodes = layer.inboundNodes.filter((n) => model.ownsNode(n));
  const shapes: Shape[] = nodes.flatMap((n) => n.outputs.map((o) => o.shape));
  if (shapes.length === 0) return 'multiple';
  if (layer instanceof InputLayer) return `[${shapeString(shapes[0])}]`;
  const distinct = new Set(shapes.map((s) => shapeString(s)));
  if (distinct.size > 1) return 'multiple';
  return nodes[0].outputs.length > 1
    ? shapeString(nodes[0].outputs.map((o) => o.shape))
    : shapeString(shapes[0]);
}

function connections(model: Functional, layer: Layer): string {
  const items: string[] = [];
  for (const node of layer.inboundNodes) {
    if (!model.ownsNode(node)) continue;
    for (const t of node.inputs) {
      const src = t.node.layer;
      items.push(`'${src.name}[${Math.max(0, src.inboundNodes.indexOf(t.node))}][${t.index}]'`);
    }
  }
  return items.length ? `[${items.join(', ')}]` : '[]';
}

/**
 * The summary's lines. Keras' layout; when any layer has a policy other than float32 (mixed
 * precision), a "Policy" column after "Param #" shows each layer's policy.
 */
export function summaryLines(model: Functional, lineLength?: number, positions?: number[]): string[] {
  const seqLike = model.isSequentialLike();
  const layers = model.summaryLayers();
  const showPolicy = layers.some((l) => l.dtypePolicy.name !== 'float32');
  const width = lineLength ?? (seqLike ? (showPolicy ? 80 : 65) : showPolicy ? 114 : 98);
  const defaults = seqLike
    ? showPolicy
      ? [0.37, 0.69, 0.8, 1]
      : [0.45, 0.85, 1]
    : showPolicy
      ? [0.29, 0.47, 0.57, 0.71, 1]
      : [0.33, 0.55, 0.67, 1];
  const rel = positions ?? defaults;
  const pos = rel.map((p) => (p <= 1 ? Math.floor(width * p) : p));
  const header = [
    'Layer (type)',
    'Output Shape',
    'Param #',
    ...(showPolicy ? ['Policy'] : []),
    ...(seqLike ? [] : ['Connected to']),
  ];
  const out: string[] = [`Model: "${model.name}"`, '_'.repeat(width)];
  printRow(header, pos, out);
  out.push('='.repeat(width));
  layers.forEach((layer, i) => {
    const fields = [
      `${layer.name} (${layer.className})`,
      outputShapeText(model, layer),
      String(layer.countParams()),
    ];
    if (showPolicy) fields.push(layer.dtypePolicy.name);
    if (!seqLike) fields.push(connections(model, layer));
    printRow(fields, pos, out);
    out.push(i === layers.length - 1 ? '='.repeat(width) : ' '.repeat(width));
  });
  if (layers.length === 0) out.push('='.repeat(width));
  const trainable = model.trainableWeights.reduce((n, v) => n + v.size, 0);
  const total = model.weights.reduce((n, v) => n + v.size, 0);
  out.push(
    `Total params: ${total}`,
    `Trainable params: ${trainable}`,
    `Non-trainable params: ${total - trainable}`,
    '_'.repeat(width),
  );
  return out;
}
