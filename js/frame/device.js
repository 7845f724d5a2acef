// Where the work runs. chooseBackend() picks a tf.js backend; createDevice() sets it up with
// the matching preprocessing and display:
//   webgl  - the zero-copy device: preprocessing, generator and display all on ONE WebGL2
//            context (tf.js's backend is built on our output canvas), so frames never leave
//            the GPU;
//   wasm / cpu / webgpu - a readback device: the area pass on a separate WebGL2 canvas (or
//            everything on a 2D canvas without WebGL2), one readback of the low_size^2 image,
//            the upscale in JS, the S x S input handed to tf.js as a typed array, and the
//            output read back and drawn from a typed array.

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';
import { createContext, probeWebGL } from './gl.js';
import { createPreprocessor } from './preprocess.js';
import { createCanvasPreprocessor } from './preprocess_canvas.js';
import { createCanvasDisplay, createGLDisplay } from './display.js';
import { countBackendReads } from '../readbacks.js';

const BACKENDS = ['webgl', 'wasm', 'webgpu', 'cpu'];

/**
 * The backend to use and why: `requested` (from ?backend=) wins when it can run; otherwise
 * WebGL on a hardware GPU, else WebAssembly (SIMD), which beats a software WebGL renderer
 * (SwiftShader, llvmpipe) by about ten times.
 */
export function chooseBackend(requested, probe = probeWebGL()) {
  const gpuOk = probe.webgl2 && probe.floatTargets;
  if (requested === 'webgl' && !gpuOk) {
    return { name: 'wasm', probe, reason: 'WebGL2 with float render targets is not available here, so WebAssembly runs instead of the requested WebGL' };
  }
  if (BACKENDS.includes(requested)) return { name: requested, probe, reason: 'chosen in the address (?backend=)' };
  if (gpuOk && !probe.software) return { name: 'webgl', probe, reason: `GPU: ${probe.renderer}` };
  const why = !probe.webgl2 ? 'no WebGL2' : probe.software ? `software WebGL (${probe.renderer})` : 'no float render targets';
  return { name: 'wasm', probe, reason: `${why}, so WebAssembly runs the model` };
}

function absoluteUrls(paths) {
  return Object.fromEntries(Object.entries(paths).map(([name, path]) => [name, new URL(path, document.baseURI).href]));
}

let wasmPathsSet = false;

async function activate(name, factory) {
  if (factory) {
    if (tf.findBackendFactory(name)) tf.removeBackend(name);
    tf.registerBackend(name, factory, 2);
  }
  if (!(await tf.setBackend(name))) throw new Error(`the tf.js ${name} backend could not start`);
  await tf.ready();
  countBackendReads(tf.backend(), name);
}

/** Calls `onLost` when the context of `canvas` is lost (the device is then unusable); returns unwatch(). */
function watchContext(canvas, onLost) {
  const listener = (event) => {
    event.preventDefault();
    onLost();
  };
  canvas.addEventListener('webglcontextlost', listener, { once: true });
  return () => canvas.removeEventListener('webglcontextlost', listener);
}

async function createZeroCopyDevice(onLost) {
  const canvas = document.createElement('canvas');
  const gl = createContext(canvas);
  if (!gl) throw new Error('a WebGL2 context could not be created');
  const unwatch = watchContext(canvas, onLost);
  tf.env().set('WEBGL_VERSION', 2);
  // tf.js's WebGL backend on OUR canvas: its tensors live on the context we draw with.
  await activate('webgl', () => new MathBackendWebGL(canvas));
  const display = createGLDisplay(gl);
  return {
    name: 'webgl',
    zeroCopy: true,
    canvas,
    gl,
    createPreprocessor: (size, transform) => createPreprocessor(gl, { size, transform }),
    display,
    dispose() {
      unwatch();
      display.dispose();
      tf.removeBackend('webgl');  // frees tf.js's programs and textures on this context
    },
  };
}

async function createReadbackDevice(name, probe, wasmPaths, onLost) {
  if (name === 'wasm' && !wasmPathsSet) {
    setWasmPaths(absoluteUrls(wasmPaths));
    // The threaded build's workers importScripts() a blob: URL, which the page's CSP
    // (script-src 'self', no blob:) refuses, and the backend then waits forever. SIMD
    // without threads is the fastest build this CSP allows.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    wasmPathsSet = true;
  }
  await activate(name);
  const preCanvas = document.createElement('canvas');
  const gl = probe.webgl2 ? createContext(preCanvas) : null;
  const unwatch = gl ? watchContext(preCanvas, onLost) : () => {};
  const canvas = document.createElement('canvas');
  const display = createCanvasDisplay(canvas);
  return {
    name,
    zeroCopy: false,
    canvas,
    gl,
    createPreprocessor: (size, transform) => (gl
      ? createPreprocessor(gl, { size, transform, readback: true })
      : createCanvasPreprocessor({ size, transform })),
    display,
    dispose() {
      unwatch();
      display.dispose();
      gl?.getExtension('WEBGL_lose_context')?.loseContext();
    },
  };
}

/**
 * Sets up `choice.name` (from chooseBackend). onLost() is called if the WebGL context is lost;
 * the caller then disposes this device and creates a new one. dispose() frees the backend's
 * GPU resources; tensors must be disposed before.
 */
export async function createDevice(choice, { wasmPaths, onLost }) {
  if (choice.name === 'webgl') return createZeroCopyDevice(onLost);
  return createReadbackDevice(choice.name, choice.probe, wasmPaths, onLost);
}
