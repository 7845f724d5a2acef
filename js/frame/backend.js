// Starting a tf.js backend in the page, with tensor downloads counted (readbacks.js).

import * as tf from '@tensorflow/tfjs-core';
import { countBackendReads } from '../readbacks.js';

/** Registers `factory` as backend `name` (when given), makes it current and waits for it. */
export async function activate(name, factory) {
  if (factory) {
    if (tf.findBackendFactory(name)) tf.removeBackend(name);
    tf.registerBackend(name, factory, 2);
  }
  if (!(await tf.setBackend(name))) throw new Error(`the tf.js ${name} backend could not start`);
  await tf.ready();
  countBackendReads(tf.backend(), name);
}

/** Calls `onLost` when the context of `canvas` is lost (the device is then unusable); returns unwatch(). */
export function watchContext(canvas, onLost) {
  const listener = (event) => {
    event.preventDefault();
    onLost();
  };
  canvas.addEventListener('webglcontextlost', listener, { once: true });
  return () => canvas.removeEventListener('webglcontextlost', listener);
}
