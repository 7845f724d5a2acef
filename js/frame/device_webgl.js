// The zero-copy device: tf.js's WebGL backend on our own canvas, so preprocessing (GLSL),
// generator and display share one WebGL2 context and frames never leave the GPU.

import * as tf from '@tensorflow/tfjs-core';
import { MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import { activate, watchContext } from './backend.js';
import { createContext } from './gl.js';
import { createPreprocessor } from './preprocess.js';
import { createGLDisplay } from './display.js';
import { loadInPage, pageMemory } from './in_page.js';
import { createFrameRunner } from './runner.js';

export async function createZeroCopyDevice(onLost) {
  const canvas = document.createElement('canvas');
  const gl = createContext(canvas);
  if (!gl) throw new Error('a WebGL2 context could not be created');
  const unwatch = watchContext(canvas, onLost);
  tf.env().set('WEBGL_VERSION', 2);
  // tf.js's WebGL backend on OUR canvas: its tensors live on the context we draw with.
  await activate('webgl', () => new MathBackendWebGL(canvas));
  const display = createGLDisplay(gl);
  const device = {
    name: 'webgl',
    zeroCopy: true,
    canvas,
    gl,
    workers: 0,
    createPreprocessor: (size, transform) => createPreprocessor(gl, { size, transform }),
    display,
    load: (record) => loadInPage(device, record),
    createRunner: (options) => createFrameRunner(options),
    memory: pageMemory,
    dispose() {
      unwatch();
      display.dispose();
      tf.removeBackend('webgl');  // frees tf.js's programs and textures on this context
    },
  };
  return device;
}
