// Running a model in the page itself (the WebGL device and the in-page readback devices): the
// generator on the page's tf.js backend and the device's preprocessor, warmed up once.

import * as tf from '@tensorflow/tfjs-core';
import { createGenerator } from './generator.js';
import { gpuIdle } from './gl.js';

/** Builds generator + preprocessor for `record` on `device` and warms them up: a `running`. */
export async function loadInPage(device, record) {
  const generator = createGenerator(record.artifacts, { label: `"${record.title}"` });
  let preprocessor;
  try {
    const { input, transform } = record.meta;  // transform.low_size is made for input.size
    if (generator.size !== input.size) {
      throw new Error(`model "${record.title}" takes ${generator.size} px inputs, but its meta.json transform is for ${input.size} px; choose a model made for ${input.size} px inputs`);
    }
    preprocessor = device.createPreprocessor(generator.size, transform);
    const warm = generator.warmUpSync();
    if (device.zeroCopy) {
      warm.dispose();
      await gpuIdle(device.gl);  // wait for the GPU without reading anything back
    } else {
      await warm.data();
      warm.dispose();
    }
  } catch (error) {
    generator.dispose();
    preprocessor?.dispose();
    throw error;
  }
  return {
    record,
    generator,
    preprocessor,
    size: generator.size,
    inputPixels: () => preprocessor.inputPixels(),
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
