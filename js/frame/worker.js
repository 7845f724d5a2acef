// A frame worker (a module worker; frame/workers.js starts one per frame that may be in flight):
// its own tf.js on the WebAssembly backend and its own copy of each model. A frame comes in as
// a transferred ImageBitmap; the whole input transform (crop, luma, exact area downscale, the
// bicubic upscale: preprocess_canvas.js) and the generator run here, off the page's thread, and
// the output and the input go back as transferred Float32Arrays.
//
// Messages in:  {type: 'init', wasmPaths}
//               {type: 'load', id, artifacts, size, transform, noise, label, warmUp}
//               {type: 'unload', id}
//               {type: 'frame', id, seq, bitmap, params: {brightness, contrast, mirror}, anchor}
// Messages out: {type: 'ready'} | {type: 'loaded', id, memory, warmUpMs} |
//               {type: 'unloaded', id, memory} | {type: 'anchor', seq, anchor} |
//               {type: 'frame', seq, output, input, travelled, ms, memory} |
//               {type: 'error', id?, seq?, message}
// `anchor` ({map, travelled} or null): the motion's state after the latest frame measured,
// wherever it ran, so that the noise texture follows one chain of measurements across the
// workers. A frame's own goes out as soon as it is measured, ahead of its inference.

import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createWarmModel } from './generator.js';
import { createCanvasPreprocessor } from './preprocess_canvas.js';

const models = new Map();  // id -> {generator, preprocessor}
const offscreen = () => new OffscreenCanvas(1, 1);

async function init({ wasmPaths }) {
  setWasmPaths(wasmPaths);
  // One thread per worker: frames run in parallel across workers instead (the threaded build
  // would also need blob: workers, which the CSP refuses).
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (!(await tf.setBackend('wasm'))) throw new Error('the tf.js wasm backend could not start in a worker');
  await tf.ready();
}

async function load({ id, artifacts, size, transform, noise, label, warmUp }) {
  const createPreprocessor = (s) => createCanvasPreprocessor({ size: s, transform, createCanvas: offscreen });
  models.set(id, await createWarmModel(artifacts, { label, size, noise, createPreprocessor, warmUp }));
}

function unload({ id }) {
  const model = models.get(id);
  models.delete(id);
  model?.generator.dispose();
  model?.preprocessor.dispose();
}

async function frame({ id, seq, bitmap, params, anchor }) {
  const model = models.get(id);
  try {
    if (!model) throw new Error('the model was replaced before this frame ran');
    const t0 = performance.now();
    const input = model.preprocessor.run(bitmap, params).slice();  // ours to transfer
    const t1 = performance.now();
    model.generator.setMotionAnchor(anchor);
    const shift = model.generator.noiseShift(model.preprocessor.motionMap());
    const next = await model.generator.motionAnchor();
    // Out before the inference: the next frame, dealt to another worker meanwhile, is measured
    // from this one. Measured from the last frame back instead, every other frame followed a
    // chain of its own, and the noise jumped between the two chains' places frame by frame.
    if (next) self.postMessage({ type: 'anchor', seq, anchor: next });
    let out;
    try {
      out = model.generator.predict(input, null, 0, shift);
    } finally {
      shift?.dispose();  // the wasm graph has run: it holds nothing of it
    }
    let output;
    try {
      output = await out.data();
    } finally {
      out.dispose();
    }
    const t2 = performance.now();
    const ms = { preprocess: t1 - t0, inference: t2 - t1 };
    const travelled = next ? next.travelled : null;  // the anchor itself went out above
    self.postMessage({ type: 'frame', seq, output, input, travelled, ms, memory: tf.memory() },
      [output.buffer, input.buffer]);
  } finally {
    bitmap.close();
  }
}

const HANDLERS = { init, load, unload, frame };
const REPLIES = {
  init: () => ({ type: 'ready' }),
  load: ({ id }) => ({ type: 'loaded', id, memory: tf.memory(), warmUpMs: models.get(id).warmUpMs }),
  unload: ({ id }) => ({ type: 'unloaded', id, memory: tf.memory() }),  // so the page's count is current
};

// One message at a time, in order: a frame never overlaps a load or another frame.
let queue = Promise.resolve();
self.onmessage = ({ data }) => {
  queue = queue.then(async () => {
    try {
      await HANDLERS[data.type](data);
      const reply = REPLIES[data.type]?.(data);
      if (reply) self.postMessage(reply);
    } catch (error) {
      self.postMessage({ type: 'error', id: data.id, seq: data.seq, message: error.message || String(error) });
    }
  });
};
