#!/usr/bin/env node
// Builds Keel's optional native CPU kernels (native/*.cc -> build/keel_native.node) with the
// system C++ compiler against Node's own headers. It never fails the install: without a compiler
// or headers Keel falls back to its JavaScript kernels (slower, single-threaded).
// KEEL_NO_NATIVE_BUILD=1 skips the build.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const sources = existsSync(join(root, 'native'))
  ? readdirSync(join(root, 'native'))
      .filter((f) => f.endsWith('.cc'))
      .map((f) => join(root, 'native', f))
  : [];

function headerDir() {
  const candidates = [
    process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node'),
    join(dirname(process.execPath), '..', 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
  ].filter(Boolean);
  return candidates.find((d) => existsSync(join(d, 'node_api.h')));
}

function main() {
  if (process.env.KEEL_NO_NATIVE_BUILD) {
    console.log('keel: KEEL_NO_NATIVE_BUILD set, skipping native kernels (JavaScript fallback).');
    return;
  }
  if (sources.length === 0) return;
  const include = headerDir();
  if (!include) {
    console.warn('keel: Node headers (node_api.h) not found; using the JavaScript kernels.');
    return;
  }
  const cxx = process.env.CXX || 'g++';
  const out = join(root, 'build', 'keel_native.node');
  mkdirSync(dirname(out), { recursive: true });
  // -fno-math-errno: Keel never reads errno, and without it sqrt cannot vectorise (each element
  // would need a scalar check and a libm call to set errno for negatives); results are unchanged
  const args = [
    '-O3', '-std=c++17', '-shared', '-fPIC', '-fno-exceptions', '-fno-math-errno', '-pthread',
    '-Wall', '-Wno-unused-function', `-I${include}`, '-DNAPI_VERSION=8',
    ...sources, '-ldl', '-o', out,
  ];
  const t0 = Date.now();
  try {
    console.log(`keel: building native kernels (${sources.length} files) ...`);
    execFileSync(cxx, args, { stdio: 'inherit' });
    console.log(`keel: built ${out} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } catch (err) {
    console.warn(`keel: native build failed (${err.message}); using the JavaScript kernels.`);
  }
}

main();
