// Where the work runs. chooseBackend() picks a tf.js backend; createDevice() loads only that
// backend's code (a separate chunk, fetched on demand; the frame workers' is in their script)
// and sets it up with the matching preprocessing and display:
//   webgl   - the zero-copy device (device_webgl.js): preprocessing, generator and display on
//             ONE WebGL2 context, so frames never leave the GPU;
//   wasm    - frame workers (workers.js): whole frames in parallel, one per worker, the page's
//             thread only captures and draws; or, with ?workers=0 or where module workers or
//             OffscreenCanvas are missing, in the page (device_readback.js);
//   cpu / webgpu - a readback device in the page (device_readback.js).
// Every device: {name, zeroCopy, canvas, gl, workers, load(record, {warmUp}) -> running,
// createRunner(), memory(), dispose()}, and the frame workers' complete(); `running` is
// {record, size, inputPixels(), noiseTravelled(), dispose()}. (warmUp: false lets the frame workers skip the
// warm-up run; the other devices always warm up.)

import { probeWebGL } from './gl.js';
// The frame workers' page side is small (no tf.js: that is in each worker's own script) and
// imported with the page: a dynamic import of it waited on the page's busy thread, and the first
// worker, whose start is the first frame's critical path, began 110-180 ms later.
import { createWorkerDevice } from './workers.js';

const BACKENDS = ['webgl', 'wasm', 'webgpu', 'cpu'];
const MAX_WORKERS = 4;  // beyond this, a visitor's cores run other things (and each holds a model)

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

/** How many frame workers: ?workers=N (0: none, in the page), else one per core up to MAX_WORKERS. */
export function workerCount(requested, cores = navigator.hardwareConcurrency || 2) {
  const asked = Number.parseInt(requested ?? '', 10);
  if (Number.isFinite(asked) && asked >= 0) return Math.min(asked, 16);
  return Math.min(MAX_WORKERS, Math.max(1, cores));
}

function absoluteUrls(paths) {
  return Object.fromEntries(Object.entries(paths).map(([name, path]) => [name, new URL(path, document.baseURI).href]));
}

const workersRun = () => typeof Worker !== 'undefined' && typeof OffscreenCanvas !== 'undefined'
  && typeof createImageBitmap !== 'undefined';

/**
 * Sets up `choice.name` (from chooseBackend). onLost() is called if a WebGL context is lost;
 * the caller then disposes this device and creates a new one. dispose() frees the backend's
 * resources; every `running` must be disposed before.
 */
export async function createDevice(choice, { wasmPaths, workerUrl, workers, onLost }) {
  if (choice.name === 'webgl') return (await import('./device_webgl.js')).createZeroCopyDevice(onLost);
  const paths = absoluteUrls(wasmPaths);
  if (choice.name === 'wasm' && workers > 0 && workerUrl && workersRun()) {
    try {
      const url = new URL(workerUrl, document.baseURI).href;
      return await createWorkerDevice({ count: workers, url, wasmPaths: paths });
    } catch (error) {
      console.warn(`frame workers could not start (${error.message}); WebAssembly runs in the page instead`);
    }
  }
  return (await import('./device_readback.js')).createReadbackDevice(choice.name, choice.probe, paths, onLost);
}
