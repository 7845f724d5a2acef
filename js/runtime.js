// The live pipeline: source -> preprocess -> generator -> display, once per new frame.
// Owns the device (backend), the current generator and preprocessor, the previous output
// (temporal smoothing) and the source; swaps models and sources between frames, and rebuilds
// everything on a new context when WebGL loses its context.

import * as tf from '@tensorflow/tfjs-core';
import { chooseBackend, createDevice } from './device.js';
import { createGenerator } from './generator.js';
import { startLoop } from './loop.js';
import { transformFor } from './models.js';
import { sourceSize } from './frame.js';
import { createStats } from './stats.js';
import { fenceSignalled, gpuIdle } from './gl.js';

/**
 * options: {library, wasmPaths, requestedBackend, events}; events: {state(state, message),
 * output(canvas), model(record), error(message)}. Call start(), then setModel / setSource.
 */
export function createRuntime({ library, wasmPaths, requestedBackend, events }) {
  const stats = createStats();
  const params = { brightness: 0, contrast: 1, smoothing: 0, showInput: true, mirror: null };
  let choice = null;
  let device = null;
  let running = null;   // {record, generator, preprocessor, size}
  let pending = null;   // the next model, swapped in at the start of a frame
  let source = null;
  let previous = null;  // last output tensor, kept only while smoothing is on
  let fence = null;
  let dirty = true;
  let state = 'starting';
  let lastError = null;
  let epoch = 0;        // bumps with every new device; generators from an older one are stale
  let resolveFirstFrame;
  const firstFrame = new Promise((resolve) => { resolveFirstFrame = resolve; });

  function setState(next, message = '') {
    state = next;
    events.state(next, message);
  }
  function reportError(message) {
    if (message !== lastError) console.error(message);
    lastError = message;
    events.error(message);
  }

  async function openDevice() {
    const onLost = () => recover();
    for (const name of [choice.name, 'wasm', 'cpu']) {
      try {
        device = await createDevice(name === choice.name ? choice : { ...choice, name }, { wasmPaths, onLost });
        if (name !== choice.name) choice = { ...choice, name, reason: `${choice.name} failed to start` };
        break;
      } catch (error) {
        console.warn(`backend ${name} failed: ${error.message}`);
      }
    }
    if (!device) throw new Error('no tf.js backend could start in this browser');
    epoch++;
    events.output(device.canvas, device.name);
  }

  /** Builds generator + preprocessor for `record` on the current device and warms them up. */
  async function build(record) {
    const generator = createGenerator(record.artifacts, { label: `"${record.title}"` });
    let preprocessor;
    try {
      preprocessor = device.createPreprocessor(generator.size, transformFor(record.meta, generator.size));
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
    return { record, generator, preprocessor, size: generator.size, epoch };
  }

  function releaseRunning() {
    previous?.dispose();
    previous = null;
    if (running) {
      running.generator.dispose();
      running.preprocessor.dispose();
    }
    running = null;
  }

  function swapIn(next) {
    releaseRunning();
    running = next;
    dirty = true;
    stats.resetWindow();
    events.model(next.record);
  }

  /** Loads, builds and warms a model, then swaps it in; resolves when its first frame shows. */
  function discard(built) {
    try {
      built.generator.dispose();
      built.preprocessor.dispose();
    } catch { /* built on a context that is gone */ }
  }

  async function setModel(record) {
    if (!running) setState('warming', `Warming up ${record.title}…`);
    const built = await build(record);
    if (pending) {
      discard(pending.built);
      pending.reject(new Error('replaced by a newer model choice'));
    }
    return new Promise((resolve, reject) => {
      pending = { built, resolve, reject };
    });
  }

  function takePending() {
    if (!pending) return null;
    const { built, resolve, reject } = pending;
    pending = null;
    if (built.epoch !== epoch) {  // built on a lost context: rebuild, try again next frame
      discard(built);
      setModel(built.record).then(resolve, reject);
      return null;
    }
    swapIn(built);
    return resolve;
  }

  function keepOutput(out) {
    if (params.smoothing > 0) {
      if (previous !== out) previous?.dispose();
      previous = out;
    } else {
      previous?.dispose();
      previous = null;
      out.dispose();
    }
  }

  function frameShown(resolveSwap, t) {
    stats.frameDisplayed(t);
    if (state !== 'running') setState('running');
    if (resolveSwap) resolveSwap(running.record.name);
    resolveFirstFrame();
  }

  function step(now) {
    if (state === 'recovering' || !device) return undefined;
    if (fence) {
      if (!fenceSignalled(device.gl, fence.sync)) return undefined;  // previous frame still on the GPU
      stats.gpu(performance.now() - fence.submitted);
      device.gl.deleteSync(fence.sync);
      fence = null;
    }
    const resolveSwap = takePending();
    if (!running || !source) return undefined;
    const fresh = source.nextFrame(now);
    if (!fresh && !dirty && !resolveSwap) return undefined;
    if (sourceSize(source.element)[0] === 0) return undefined;
    dirty = false;
    const { generator, preprocessor, size } = running;
    const mirror = params.mirror ?? source.mirror;
    const smoothing = previous ? params.smoothing : 0;
    stats.frameStart();
    const t0 = performance.now();
    // GPU path: a texture on tf.js's context; CPU path: a Float32Array (after one readback).
    const input = preprocessor.run(source.element, { brightness: params.brightness, contrast: params.contrast, mirror });
    const t1 = performance.now();
    const out = generator.predict(input, previous, smoothing);
    const inset = params.showInput ? input : null;
    if (device.zeroCopy) {
      const t2 = performance.now();
      // The output texture, decoded densely by tf.js; we only draw it, then give it back.
      const gpuData = out.dataToGPU();
      device.display.draw(gpuData, size, inset);
      gpuData.tensorRef.dispose();
      keepOutput(out);
      const t3 = performance.now();
      fence = { sync: device.gl.fenceSync(device.gl.SYNC_GPU_COMMANDS_COMPLETE, 0), submitted: t3 };
      device.gl.flush();
      recordFrame(resolveSwap, t0, t1, t2, t3);
      return undefined;
    }
    const shownOn = device;
    return out.data().then((values) => {
      const t2 = performance.now();
      shownOn.display.draw(values, size, inset);
      recordFrame(resolveSwap, t0, t1, t2, performance.now());
    }).finally(() => keepOutput(out));
  }

  function recordFrame(resolveSwap, t0, t1, t2, t3) {
    stats.stage('preprocess', t1 - t0);
    stats.stage('inference', t2 - t1);
    stats.stage('display', t3 - t2);
    frameShown(resolveSwap, t3);
  }

  /** After a lost WebGL context: a new device (fresh canvas), the same models rebuilt from memory. */
  async function recover() {
    if (state === 'recovering') return;
    const record = running?.record;
    setState('recovering', 'The graphics context was lost; restarting it…');
    await new Promise((resolve) => setTimeout(resolve, 0));  // leave the contextlost handler first
    fence = null;
    try { releaseRunning(); } catch { /* the context is gone; its objects go with it */ }
    try { device.dispose(); } catch { /* same */ }
    device = null;
    try {
      await openDevice();
      if (record) swapIn(await build(record));
      setState(running ? 'running' : 'loading');
    } catch (error) {
      reportError(`could not recover from the lost graphics context: ${error.message}`);
      setState('error', lastError);
    }
  }

  return {
    params,

    /** Picks and starts the backend; returns {name, reason}. */
    async start() {
      choice = chooseBackend(requestedBackend);
      await openDevice();
      startLoop(step, {
        onError: (error) => {
          console.error(error);
          reportError(`frame failed: ${error.message || error}`);
        },
      });
      return { name: device.name, reason: choice.reason };
    },

    /** Resolves when the first generated frame is displayed. */
    firstFrame,

    /** Builds `record` (from the model library), swaps it in; resolves with its name once shown. */
    async setModel(record) {
      try {
        const name = await setModel(record);
        lastError = null;
        return name;
      } catch (error) {
        reportError(error.message);
        if (!running) setState('error', error.message);
        throw error;
      }
    },

    /** A model download failed before it reached the runtime: the running one stays. */
    modelFailed(message) {
      reportError(message);
      if (!running) setState('error', message);
    },

    /** Replaces the frame source (the old one is stopped once the new one is in place). */
    setSource(next) {
      const old = source;
      source = next;
      dirty = true;
      if (old && old !== next) old.stop();
    },

    /** Marks the current frame as needing a rerun (a control changed on a still image). */
    touch() { dirty = true; },

    /** Before the first model: shows the loading state. */
    setLoading(message) { if (!running) setState('loading', message); },

    snapshot() {
      const memory = device ? tf.memory() : { numTensors: null, numBytes: null };
      return {
        ...stats.snapshot(),
        backend: device ? device.name : null,
        backendReason: choice ? choice.reason : null,
        numTensors: memory.numTensors,
        numBytes: memory.numBytes,
        model: running ? running.record.name : null,
        source: source ? source.kind : null,
        state,
        error: lastError,
      };
    },
  };
}
