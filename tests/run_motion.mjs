// js/frame/motion.js in Node on the tf.js wasm backend, for tests/test_motion.py:
//   node tests/run_motion.mjs MAPS_F32 FRAMES SIZE SIDE OUT_JSON
// MAPS_F32: FRAMES x 64 x 64 little-endian float32 motion maps of consecutive frames; OUT_JSON
// gets {shifts: [[dy, dx], ...], travelled: [[dy, dx], ...]}, one per frame, and `anchored`: the
// shifts again with each frame measured in a fresh motion given the one before's anchor (the
// frame workers' chain).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { createMotion, GRID } from '../js/frame/motion.js';

const [mapsPath, frames, size, side, outPath] = process.argv.slice(2);
const require = createRequire(import.meta.url);
wasm.setWasmPaths(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')) + '/dist/');
await tf.setBackend('wasm');
const raw = readFileSync(mapsPath);
const maps = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
const cell = GRID * GRID;
const mapOf = (t) => tf.tensor4d(maps.subarray(t * cell, (t + 1) * cell), [1, GRID, GRID, 1]);

const motion = createMotion({ size: Number(size), side: Number(side) });
const result = { shifts: [], travelled: [], anchored: [] };
let anchor = null;
for (let t = 0; t < Number(frames); t++) {
  const map = mapOf(t);
  const shift = motion.next(map);
  result.shifts.push(Array.from(await shift.data()));
  const here = await motion.anchor();
  result.travelled.push(Array.from(here.travelled));
  shift.dispose();

  const fresh = createMotion({ size: Number(size), side: Number(side) });
  if (anchor) fresh.setAnchor(anchor);
  const again = fresh.next(map);
  result.anchored.push(Array.from(await again.data()));
  anchor = await fresh.anchor();
  again.dispose();
  fresh.dispose();
  map.dispose();
}
motion.dispose();
result.tensors_left = tf.memory().numTensors;
writeFileSync(outPath, JSON.stringify(result));
