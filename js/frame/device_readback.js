// A readback device in the page (wasm with ?workers=0, cpu, webgpu): the area pass on a separate
// WebGL2 canvas (or everything on a 2D canvas without WebGL2), one readback of the low_size^2
// image, the upscale in JS, the S x S input handed to tf.js as a typed array, and the output
// read back and drawn from a typed array. Only the chosen backend's code is fetched.

import * as tf from '@tensorflow/tfjs-core';
import { activate, watchContext } from './backend.js';
import { createContext } from './gl.js';
import { createPreprocessor } from './preprocess.js';
import { createCanvasPreprocessor } from './preprocess_canvas.js';
import { createCanvasDisplay } from './display.js';
import { loadInPage, pageMemory } from './in_page.js';
import { createFrameRunner } from './runner.js';

let wasmPathsSet = false;

async function loadBackend(name, wasmPaths) {
  if (name === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
  if (name === 'webgpu') await import('@tensorflow/tfjs-backend-webgpu');
  if (name === 'wasm') {
    const { setWasmPaths } = await import('@tensorflow/tfjs-backend-wasm');
    if (!wasmPathsSet) {
      setWasmPaths(wasmPaths);
      // The threaded build's workers importScripts() a blob: URL, which the page's CSP
      // (script-src 'self', no blob:) refuses, and the backend then waits forever. SIMD
      // without threads is the fastest build this CSP allows (frame workers run frames in
      // parallel instead: workers.js).
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      wasmPathsSet = true;
    }
  }
}

export async function createReadbackDevice(name, probe, wasmPaths, onLost) {
  await loadBackend(name, wasmPaths);
  await activate(name);
  const preCanvas = document.createElement('canvas');
  const gl = probe.webgl2 ? createContext(preCanvas) : null;
  const unwatch = gl ? watchContext(preCanvas, onLost) : () => {};
  const canvas = document.createElement('canvas');
  const display = createCanvasDisplay(canvas);
  const device = {
    name,
    zeroCopy: false,
    canvas,
    gl,
    workers: 0,
    createPreprocessor: (size, transform) => (gl
      ? createPreprocessor(gl, { size, transform, readback: true })
      : createCanvasPreprocessor({ size, transform })),
    display,
    load: (record) => loadInPage(device, record),
    createRunner: (options) => createFrameRunner(options),
    memory: pageMemory,
    dispose() {
      unwatch();
      display.dispose();
      gl?.getExtension('WEBGL_lose_context')?.loseContext();
    },
  };
  return device;
}
