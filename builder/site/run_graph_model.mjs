// Run a converted tf.js graph model in Node on raw float32 inputs, so the builder can measure
// the converted artefact itself (never an assumption about it).
//
//   node builder/run_graph_model.mjs MODEL_JSON INPUTS_F32 N SIZE OUTPUTS_F32 [wasm|cpu] [SHIFTS_I32]
//
// INPUTS_F32: N x SIZE x SIZE x 1 little-endian float32; OUTPUTS_F32 gets N x SIZE x SIZE x C.
// A model with a noise texture also takes `noise_shift` (int32 [dy, dx]): SHIFTS_I32 holds N x 2
// little-endian int32, one per input; without it the pattern stays where it was trained.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { loadGraphModel } from '@tensorflow/tfjs-converter';

const [modelPath, inputsPath, n, size, outputsPath, backend = 'wasm', shiftsPath] = process.argv.slice(2);

// Reads model.json and its shards from disk, in manifest order, as tf.io's HTTP loader would.
function fileHandler(path) {
  return {
    async load() {
      const json = JSON.parse(readFileSync(path, 'utf8'));
      const specs = [];
      const buffers = [];
      for (const group of json.weightsManifest) {
        specs.push(...group.weights);
        for (const shard of group.paths) buffers.push(readFileSync(join(dirname(path), shard)));
      }
      const all = Buffer.concat(buffers);
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        signature: json.signature,
        userDefinedMetadata: json.userDefinedMetadata,
        modelInitializer: json.modelInitializer,
        weightSpecs: specs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
      };
    },
  };
}

if (backend === 'wasm') {
  const require = createRequire(import.meta.url);
  const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')) + '/dist/';
  wasm.setWasmPaths(dist);
}
await tf.setBackend(backend);
const model = await loadGraphModel(fileHandler(modelPath));
const raw = readFileSync(inputsPath);
const inputs = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
const count = Number(n), side = Number(size), frame = side * side;
const takesShift = model.inputs.some((input) => input.name.startsWith('noise_shift'));
const shiftBytes = shiftsPath ? readFileSync(shiftsPath) : Buffer.alloc(8 * count);
const shifts = new Int32Array(shiftBytes.buffer, shiftBytes.byteOffset, shiftBytes.byteLength / 4);
const chunks = [];
for (let i = 0; i < count; i++) {
  const out = tf.tidy(() => {
    const gray = tf.tensor4d(inputs.subarray(i * frame, (i + 1) * frame), [1, side, side, 1]);
    const feeds = takesShift ? { gray, noise_shift: tf.tensor1d(shifts.subarray(2 * i, 2 * i + 2), 'int32') } : gray;
    return model.execute(feeds);
  });
  chunks.push(Buffer.from((await out.data()).buffer));
  out.dispose();
}
writeFileSync(outputsPath, Buffer.concat(chunks));
model.dispose();
