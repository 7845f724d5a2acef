// The tf.js-defaults baseline of `python -m builder bench` (served at /baseline/ beside the site):
// the obvious tf.js program, every step a tf op on the default backend, the output read back to
// the CPU by toPixels. It exposes the same status object as the site, so one harness measures both.
// Query: model (model.json URL), size and low (meta.json's input.size and transform.low_size),
// luma (meta.json's transform.luma, a JSON array).

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgl';
import {loadGraphModel} from '@tensorflow/tfjs-converter';

const query = new URLSearchParams(location.search);
const modelUrl = query.get('model');
const size = Number(query.get('size'));
const lowSize = Number(query.get('low'));
const luma = JSON.parse(query.get('luma'));
const canvas = document.getElementById('output');

let frames = 0, firstFrameMs = 0, frameMs = 0, fps = 0, state = 'loading', error = '';
let resolveReady, rejectReady;
const ready = new Promise((resolve, reject) => { resolveReady = resolve; rejectReady = reject; });
window.demo = {
  ready,
  stats: () => {
    const memory = tf.memory();
    return {frames, fps, backend: tf.getBackend(), numTensors: memory.numTensors, numBytes: memory.numBytes,
            readbacksPerFrame: 1, model: 'baseline', source: 'camera', stageMs: {'all stages': frameMs},
            firstFrameMs, state, error};
  },
};

function firstTensor(output) {
  if (output instanceof tf.Tensor) return output;
  return Array.isArray(output) ? output[0] : Object.values(output)[0];
}

async function main() {
  const stream = await navigator.mediaDevices.getUserMedia({video: {width: 640, height: 480}});
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.srcObject = stream;
  await video.play();
  await tf.ready();
  const model = await loadGraphModel(modelUrl);
  const lumaWeights = tf.tensor1d(luma);
  let lastVideoTime = -1, fpsSince = performance.now(), fpsFrames = 0;
  state = 'running';
  for (;;) {
    await new Promise((resolve) => requestAnimationFrame(resolve));
    if (video.currentTime === lastVideoTime) continue;
    lastVideoTime = video.currentTime;
    const start = performance.now();
    const image = tf.tidy(() => {  // tfjs-core alone has no chained ops: call them as functions
      const rgb = tf.div(tf.cast(tf.browser.fromPixels(video), 'float32'), 255);  // (h, w, 3)
      const [h, w] = rgb.shape;
      const side = Math.min(h, w);
      const square = tf.slice(rgb, [(h - side) >> 1, (w - side) >> 1, 0], [side, side, 3]);
      const gray = tf.sum(tf.mul(square, lumaWeights), -1, true);  // (side, side, 1)
      const low = tf.image.resizeBilinear(gray, [lowSize, lowSize]);
      const up = tf.image.resizeBilinear(low, [size, size]);  // (size, size, 1)
      const input = tf.expandDims(tf.sub(tf.mul(up, 2), 1), 0);
      // A model with a noise texture also takes where it goes: left where it was trained.
      const feeds = model.inputs.length > 1 ? { gray: input, noise_shift: tf.zeros([2], 'int32') } : input;
      const output = firstTensor(model.execute(feeds));  // (1, size, size, 3) in [-1, 1]
      return tf.clipByValue(tf.div(tf.add(tf.squeeze(output, [0]), 1), 2), 0, 1);
    });
    await tf.browser.toPixels(image, canvas);
    image.dispose();
    frames += 1;
    fpsFrames += 1;
    frameMs = performance.now() - start;
    if (frames === 1) {
      firstFrameMs = performance.now();
      resolveReady();
    }
    if (performance.now() - fpsSince >= 1000) {
      fps = fpsFrames * 1000 / (performance.now() - fpsSince);
      fpsSince = performance.now();
      fpsFrames = 0;
    }
  }
}

main().catch((e) => { state = 'error'; error = String(e); rejectReady(e); });
