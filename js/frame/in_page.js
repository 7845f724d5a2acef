// Running a model in the page itself (the WebGL device and the in-page readback devices): the
// generator on the page's tf.js backend and the device's preprocessor, warmed up once.

import * as tf from '@tensorflow/tfjs-core';
import { createWarmModel } from './generator.js';

/** Builds generator + preprocessor for `record` on `device` and warms them up: a `running`. */
export async function loadInPage(device, record) {
  const { input, transform, architecture } = record.meta;  // transform.low_size is made for input.size
  const { generator, preprocessor } = await createWarmModel(record.artifacts, {
    label: `"${record.title}"`,
    size: input.size,
    noise: architecture?.noise,
    createPreprocessor: (size) => device.createPreprocessor(size, transform),
    gl: device.zeroCopy ? device.gl : null,
  });
  return {
    record,
    generator,
    preprocessor,
    size: generator.size,
    inputPixels: () => preprocessor.inputPixels(),
    noiseTravelled: async () => {  // reads the motion's two small tensors back
      const anchor = await generator.motionAnchor();
      return anchor ? Array.from(anchor.travelled) : null;
    },
    dispose() {
      generator.dispose();
      preprocessor.dispose();
    },
  };
}

/** tf.js's tensor count and bytes on the page's backend. */
export function pageMemory() {
  const { numTensors, numBytes } = tf.memory();
  return { numTensors, numBytes };
}
