// The live pipeline's lifecycle: picks and owns the device (backend, frame/device.js), the
// running model and the source; runs a frame (the device's runner) whenever the source has a
// new one, swaps models and sources between frames, and rebuilds everything on a new context
// when WebGL loses its context. No tf.js here: the device owns it (and loads it on demand).

import { chooseBackend, createDevice, workerCount } from './frame/device.js';
import { startLoop } from './frame/loop.js';
import { sourceSize } from './frame/crop.js';
import { createStats } from './stats.js';

/**
 * options: {wasmPaths, workerUrl, requestedBackend, requestedWorkers, events}; events:
 * {state(state, message), output(canvas), model(record), error(message)}. Call start(), then
 * setModel / setSource.
 */
export function createRuntime({ wasmPaths, workerUrl, requestedBackend, requestedWorkers, events }) {
  const stats = createStats();
  const params = { brightness: 0, contrast: 1, smoothing: 0, showInput: true, mirror: null };
  let choice = null;
  let device = null;
  let running = null;   // the device's {record, size, inputPixels(), dispose(), epoch}
  let pending = null;   // the next model, swapped in at the start of a frame
  let source = null;
  let betweenFrames = null;  // tf.memory() when the last frame was shown
  let dirty = true;
  let state = 'starting';
  let lastError = null;
  let epoch = 0;        // bumps with every new device; generators from an older one are stale
  let resolveFirstFrame;
  const firstFrame = new Promise((resolve) => { resolveFirstFrame = resolve; });
  const awaitingFrame = [];  // resolvers of setModel() calls whose model is in, until a frame shows
  const frameHooks = [];     // afterNextFrame() callbacks: run in the task that drew the frame
  let frames = null;    // the device's frame runner
  let loop = null;      // the frame loop (startLoop), once started

  function setState(next, message = '') {
    state = next;
    events.state(next, message);
  }
  /** Shows `message` (once in the console per distinct message, with `error`'s stack if given). */
  function reportError(message, error = null) {
    if (message !== lastError) console.error(error || message);
    lastError = message;
    events.error(message);
  }

  async function openDevice() {
    const onLost = () => recover();
    for (const name of [choice.name, 'wasm', 'cpu']) {
      try {
        device = await createDevice(name === choice.name ? choice : { ...choice, name },
          { wasmPaths, workerUrl, workers: workerCount(requestedWorkers), onLost });
        if (name !== choice.name) choice = { ...choice, name, reason: `${choice.name} failed to start` };
        break;
      } catch (error) {
        console.warn(`backend ${name} failed: ${error.message}`);
      }
    }
    if (!device) throw new Error('no tf.js backend could start in this browser');
    epoch++;
    frames = device.createRunner({
      stats,
      onShown: (t) => frameShown(t),
      onError: (message) => reportError(`frame failed: ${message}`),
      onFree: () => loop?.poke(),
    });
    events.output(device.canvas, device.name);
  }

  /**
   * Builds `record` on the current device and warms it up. The first model (nothing on screen
   * to keep showing meanwhile) skips the warm-up where the device allows it if a picture is
   * already waiting, so its first frame is not one whole inference late; with no picture yet
   * (the visitor still answering the camera's prompt) the warm-up costs nothing and the first
   * frame after the answer runs warm (on the CPU, tf.js's first run is 3-4 times a warm one).
   */
  async function build(record) {
    if (!device) throw new Error('the graphics context is being restored; choose the model again in a moment');
    return { ...(await device.load(record, { warmUp: running !== null || source === null })), epoch };
  }

  function releaseRunning() {
    frames?.release();
    running?.dispose();
    running = null;
  }

  function swapIn(next) {
    releaseRunning();
    running = next;
    betweenFrames = null;
    dirty = true;
    stats.resetWindow();
    events.model(next.record);
  }

  function discard(built) {
    try {
      built.dispose();
    } catch { /* built on a context that is gone */ }
  }

  /** Builds and warms a model, then queues it for the next frame; resolves when it shows. */
  async function queueModel(record) {
    if (!running) setState('warming', `Warming up ${record.title}…`);
    const built = await build(record);
    if (pending) {
      discard(pending.built);
      pending.reject(Object.assign(new Error('replaced by a newer model choice'), { superseded: true }));
    }
    return new Promise((resolve, reject) => {
      pending = { built, resolve, reject };
    });
  }

  /** Swaps in the queued model, if any; its setModel() resolves when its first frame shows. */
  function takePending() {
    if (!pending) return;
    const { built, resolve, reject } = pending;
    pending = null;
    if (built.epoch !== epoch) {  // built on a lost context: rebuild, try again next frame
      discard(built);
      queueModel(built.record).then(resolve, reject);
      return;
    }
    swapIn(built);
    awaitingFrame.push(resolve);
  }

  function frameShown(t) {
    stats.frameDisplayed(t);
    // Tensors alive between frames (this frame's output already released or kept for
    // smoothing, the next not yet made): steady unless something leaks.
    betweenFrames = device.memory();
    if (state !== 'running') setState('running');
    for (const resolve of awaitingFrame.splice(0)) resolve(running.record.name);
    for (const hook of frameHooks.splice(0)) hook(device.canvas);
    resolveFirstFrame();
  }

  function step(now) {
    if (state === 'recovering' || !device) return undefined;
    if (device.gl && device.gl.isContextLost()) return undefined;  // 'webglcontextlost' will follow
    if (!frames.finishInflight()) return undefined;  // the last frame is still on the GPU
    takePending();
    if (!running || !source) return undefined;
    const fresh = source.nextFrame(now);
    if (!fresh && !dirty) return undefined;
    if (sourceSize(source.element)[0] === 0) return undefined;
    dirty = false;
    const { brightness, contrast, smoothing, showInput } = params;
    const frame = { brightness, contrast, smoothing, showInput, mirror: params.mirror ?? source.mirror };
    return frames.run(device, running, source.element, frame);
  }

  /** After a lost WebGL context: a new device (fresh canvas), the same models rebuilt from memory. */
  async function recover() {
    if (state === 'recovering') return;
    const record = running?.record;
    setState('recovering', 'The graphics context was lost; restarting it…');
    await new Promise((resolve) => setTimeout(resolve, 0));  // leave the contextlost handler first
    betweenFrames = null;
    try { releaseRunning(); } catch { /* the context is gone; its objects go with it */ }
    try { device.dispose(); } catch { /* same */ }
    device = null;
    try {
      await openDevice();
      if (record) swapIn(await build(record));
      lastError = null;
      events.error(null);
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
      loop = startLoop(step, {
        onError: (error) => reportError(`frame failed: ${error.message || error}`, error),
      });
      return { name: device.name, reason: choice.reason };
    },

    /** Resolves when the first generated frame is displayed. */
    firstFrame,

    /** Resolves once the device runs at full strength: every frame worker taking frames. */
    async complete() {
      if (!device?.complete) return;
      await device.complete();
      // The workers that joined since the last frame hold their models' tensors too: count them
      // now, not a frame later (stats() reads the count taken when the last frame was shown).
      if (betweenFrames) betweenFrames = device.memory();
    },

    /** Builds `record` (from the model library), swaps it in; resolves with its name once shown. */
    async setModel(record) {
      try {
        const name = await queueModel(record);
        lastError = null;
        return name;
      } catch (error) {
        if (!error.superseded) {
          reportError(error.message);
          if (!running) setState('error', error.message);
        }
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

    /**
     * Resolves to fn(outputCanvas), called right after the next frame is drawn, in the same task
     * (so even a WebGL canvas still holds the picture); a still source is rerun for it.
     */
    afterNextFrame(fn) {
      dirty = true;
      return new Promise((resolve, reject) => {
        frameHooks.push((canvas) => {
          try { resolve(fn(canvas)); } catch (error) { reject(error); }
        });
      });
    },

    /** The canvas the generated picture is drawn on (null before the backend started). */
    outputCanvas() { return device ? device.canvas : null; },

    /** Before the first model: shows the loading state. */
    setLoading(message) { if (!running) setState('loading', message); },

    /** A copy of the running model's last input (S*S floats in [-1, 1], row 0 = top), or null. */
    inputPixels() { return running ? running.inputPixels() : null; },

    /** How far the running model's noise texture has moved with the scene: Promise of [dy, dx] or null. */
    noiseTravelled() { return running ? running.noiseTravelled() : Promise.resolve(null); },

    snapshot() {
      const memory = betweenFrames || (device ? device.memory() : { numTensors: null, numBytes: null });
      return {
        ...stats.snapshot(),
        backend: device ? device.name : null,
        workers: device ? device.workers : 0,
        backendReason: choice ? choice.reason : null,
        numTensors: memory.numTensors,
        numBytes: memory.numBytes,
        model: running ? running.record.name : null,
        source: source ? source.kind : null,
        cameraId: source?.deviceId ?? null,
        state,
        error: lastError,
      };
    },
  };
}
