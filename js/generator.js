// The pix2pix generator: a tf.js graph model, input [1, S, S, 1] in [-1, 1], output
// [1, S, S, 3] in [-1, 1]. loadGenerator() fetches and checks it; the returned object owns
// the model's weight tensors until dispose().

import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModelSync } from '@tensorflow/tfjs-converter';

const BYTES_PER_ELEMENT = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

function weightBytes(specs) {
  let total = 0;
  for (const spec of specs) {
    const dtype = spec.quantization ? spec.quantization.dtype : spec.dtype;
    const count = spec.shape.reduce((a, b) => a * b, 1);
    total += count * (BYTES_PER_ELEMENT[dtype] ?? 4);
  }
  return total;
}

function dataBytes(weightData) {
  const parts = Array.isArray(weightData) ? weightData : [weightData];
  return parts.reduce((sum, part) => sum + (part ? part.byteLength : 0), 0);
}

/**
 * Fetches a model's artifacts: `source` is a model.json URL or a list of Files (model.json
 * plus its weight shards, from a file input). Throws one-line errors naming the model.
 */
export async function loadArtifacts(source, { label, fetchFunc, onProgress } = {}) {
  let handler;
  if (typeof source === 'string') {
    handler = tf.io.http(source, { fetchFunc, onProgress });
  } else {
    const files = Array.from(source);
    const json = files.find((file) => file.name.endsWith('.json'));
    if (!json) throw new Error(`model ${label}: choose the model.json file together with its .bin shard files`);
    handler = tf.io.browserFiles([json, ...files.filter((file) => file !== json)]);
  }
  let artifacts;
  try {
    artifacts = await handler.load();
  } catch (error) {
    throw new Error(`model ${label} could not be loaded: ${error.message || error}`);
  }
  if (!artifacts || !artifacts.modelTopology) {
    throw new Error(`model ${label}: model.json has no modelTopology (is it a tf.js graph model?)`);
  }
  if (!artifacts.weightSpecs || !artifacts.weightData) {
    throw new Error(`model ${label}: no weights came with model.json; choose its .bin shard files too`);
  }
  const expected = weightBytes(artifacts.weightSpecs || []);
  const actual = dataBytes(artifacts.weightData);
  if (actual !== expected) {
    throw new Error(`model ${label}: weight shards hold ${actual} bytes but model.json describes ${expected}; `
      + 'a shard is damaged or missing (rebuild the site, or choose every .bin file)');
  }
  return artifacts;
}

/** The first input's or output's shape from the model's signature (-1 for "any"), or null. */
function signatureShape(artifacts, kind) {
  const first = Object.values(artifacts.signature?.[kind] || {})[0];
  const dims = first?.tensorShape?.dim;
  return dims ? dims.map((d) => Number(d.size)) : null;
}

/** Checks one shape against [*, S, S, channels]; `what` names it in the error. */
function checkShape(shape, size, channels, what, label) {
  const ok = shape.length === 4 && shape[1] === size && shape[2] === size && shape[3] === channels;
  if (!ok) throw new Error(`model ${label}: ${what} shape is [${shape}], expected [1, ${size}, ${size}, ${channels}]`);
}

/** The model's input size S, checking the [*, S, S, 1] -> [*, S, S, 3] contract where it is declared. */
function checkShapes(model, artifacts, label) {
  const input = signatureShape(artifacts, 'inputs') || model.inputs[0]?.shape || [];
  const size = input[1];
  if (!(size > 0)) throw new Error(`model ${label}: input shape is [${input}], expected [1, S, S, 1]`);
  checkShape(input, size, 1, 'input', label);
  const output = signatureShape(artifacts, 'outputs') || model.outputs[0]?.shape;
  if (output && output.length) checkShape(output, size, 3, 'output', label);
  return size;
}

/**
 * Builds a generator on the current tf.js backend from artifacts (kept, so the model can be
 * rebuilt after a WebGL context loss without downloading it again).
 */
export function createGenerator(artifacts, { label = 'model' } = {}) {
  let model;
  try {
    model = loadGraphModelSync(artifacts);
  } catch (error) {
    throw new Error(`model ${label} could not be built: ${error.message || error}`);
  }
  let size;
  try {
    size = checkShapes(model, artifacts, label);
  } catch (error) {
    model.dispose();
    throw error;
  }
  const shape = [1, size, size, 1];

  function inputTensor(input) {
    if (input instanceof tf.Tensor) return input;
    if (input instanceof Float32Array) return tf.tensor4d(input, shape);
    // A WebGLTexture on tf.js's own context (R32F, S x S, row 0 = top): tf.js copies the R
    // channel into a new tensor texture; the texture itself stays ours.
    return tf.tensor({ texture: input, height: size, width: size, channels: 'R' }, shape, 'float32');
  }

  return {
    size,
    artifacts,

    /**
     * One frame: input is a WebGLTexture (WebGL backend), a Float32Array of S*S values, or a
     * tensor. With `previous` and smoothing > 0 the result is blended with the previous
     * output. Everything else is freed by tf.tidy; the returned [1, S, S, 3] tensor leaves
     * it and is owned by the caller.
     */
    predict(input, previous = null, smoothing = 0) {
      return tf.tidy(() => {
        const y = model.execute(inputTensor(input));
        if (!previous || smoothing <= 0) return y;
        return tf.add(tf.mul(previous, smoothing), tf.mul(y, 1 - smoothing));
      });
    },

    /**
     * Runs the model once on a blank image so shaders and kernels exist before the first
     * frame, and checks the output shape. The caller waits for the returned tensor (without
     * reading it back on the GPU) and disposes it.
     */
    warmUpSync() {
      const blank = tf.zeros(shape);
      const out = this.predict(blank);
      blank.dispose();
      try {
        checkShape(out.shape, size, 3, 'output', label);
      } catch (error) {
        out.dispose();
        throw error;
      }
      return out;
    },

    dispose() {
      model.dispose();
    },
  };
}

/** loadArtifacts + createGenerator: `source` is a model.json URL or Files. */
export async function loadGenerator(source, options = {}) {
  const artifacts = await loadArtifacts(source, options);
  return createGenerator(artifacts, options);
}
