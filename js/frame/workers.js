// The frame-worker device: whole frames in parallel on the CPU. N module workers (frame/worker.js,
// a same-origin file, so the CSP stays `worker-src 'self'`), each with its own tf.js wasm and its
// own copy of the model; each frame goes to a free worker, one in flight per worker, and frames are
// shown in the order they were taken. The page's thread only captures (an ImageBitmap,
// transferred, not copied) and draws; the input transform and the generator run in the workers.

import { createCanvasDisplay } from './display.js';

const START_TIMEOUT_MS = 30000;

/** One worker and its replies; resolves once its tf.js wasm backend is ready. */
function startWorker(url, wasmPaths, onFrame) {
  const worker = new Worker(url, { type: 'module' });
  const waiting = new Map();  // 'ready' or a model id -> {resolve, reject}
  const handle = { worker, busy: false, memory: { numTensors: 0, numBytes: 0 }, failed: null, seq: -1 };

  function settle(key, error) {
    const entry = waiting.get(key);
    waiting.delete(key);
    if (entry) (error ? entry.reject(new Error(error)) : entry.resolve());
  }
  worker.onmessage = ({ data }) => {
    if (data.type === 'ready') settle('ready');
    else if (data.type === 'loaded' || data.type === 'unloaded') {
      handle.memory = data.memory;
      settle(data.id);
    }
    else if (data.type === 'frame' || data.seq !== undefined) onFrame(handle, data);
    else settle(data.id ?? 'ready', data.message);
  };
  worker.onerror = (event) => {
    event.preventDefault();
    handle.failed = `a frame worker failed: ${event.message || 'its script could not run'}`;
    for (const key of [...waiting.keys()]) settle(key, handle.failed);
    onFrame(handle, { type: 'error', message: handle.failed });
  };
  handle.request = (key, message) => new Promise((resolve, reject) => {
    if (handle.failed) { reject(new Error(handle.failed)); return; }
    waiting.set(key, { resolve, reject });
    worker.postMessage(message);
  });
  const timeout = setTimeout(() => settle('ready', `a frame worker did not start within ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS);
  return handle.request('ready', { type: 'init', wasmPaths })
    .then(() => handle, (error) => { worker.terminate(); throw error; })
    .finally(() => clearTimeout(timeout));
}

/**
 * count: workers to run; url: the worker script; wasmPaths: absolute URLs of the .wasm files.
 * Resolves once ONE worker is ready: the first frame needs only one, and on a 2-core machine the
 * others, starting at the same time (compiling tf.js, building and warming the model), took the
 * CPU it needed (first frame 2.0 s with one worker, 2.5 s with two). The others start when the
 * first frame is shown, load every live model, then take their turns; `complete` resolves then.
 */
export async function createWorkerDevice({ count, url, wasmPaths }) {
  let deliver = () => {};  // the runner's: a worker's frame reply
  const onFrame = (handle, data) => deliver(handle, data);
  const start = () => startWorker(url, wasmPaths, onFrame);
  const handles = [await start()];  // in the rotation: each holds every live model
  const joining = new Set();  // started and loading the live models, not yet dealt frames
  const live = new Map();     // model id -> its load message, until that model is disposed
  let starting = 0;           // workers asked to start that are not ready yet
  let joined = null;          // join()'s promise, once called
  let disposed = false;

  /** One more worker: started, given every live model (warmed), then put in the rotation. */
  async function joinOne() {
    let handle;
    try {
      handle = await start();
    } catch (error) {
      console.warn(`a frame worker could not start (${error.message}); ${handles.length} run the frames`);
      return;
    } finally {
      starting--;
    }
    if (disposed) { handle.worker.terminate(); return; }
    // Taken together, so a load() or dispose() from now on reaches this worker itself, in order.
    joining.add(handle);
    const replay = [...live].map(([id, message]) => handle.request(id, { ...message, warmUp: true }));
    const loads = await Promise.allSettled(replay);
    joining.delete(handle);
    const failed = loads.find((l) => l.status === 'rejected');
    if (disposed || failed || handle.failed) {
      if (failed && !disposed) console.warn(`a frame worker could not load the model (${failed.reason.message}); ${handles.length} run the frames`);
      handle.worker.terminate();
      return;
    }
    handles.push(handle);
  }

  /** Starts the other count - 1 workers (once); resolves when each has joined or failed. */
  function join() {
    if (!joined) {
      starting = count - 1;
      joined = Promise.all(Array.from({ length: count - 1 }, joinOne)).then(() => {});
    }
    return joined;
  }

  const everyWorker = () => [...handles, ...joining];
  const canvas = document.createElement('canvas');
  const display = createCanvasDisplay(canvas);
  let nextModelId = 0;
  let lastInput = null;  // the model input of the last frame shown
  let lastTravelled = null;  // how far its noise texture had moved with the scene (motion.js), or null

  const device = {
    name: 'wasm',
    zeroCopy: false,
    canvas,
    gl: null,
    /** Workers taking frames or on their way (started, loading the model). */
    get workers() { return handles.length + joining.size + starting; },
    display,

    /**
     * Resolves when every worker has joined the rotation (or failed to, and was let go); starts
     * them if the first frame has not already.
     */
    complete: () => join(),

    /**
     * Builds `record` in every worker (and warms it, unless warmUp is false: see
     * createWarmModel); a `running` whose frames name its id.
     */
    async load(record, { warmUp = true } = {}) {
      const id = nextModelId++;
      const { input, transform } = record.meta;
      const message = { type: 'load', id, artifacts: record.artifacts, size: input.size, transform,
        noise: record.meta.architecture?.noise, label: `"${record.title}"`, warmUp };
      live.set(id, message);
      const loads = await Promise.allSettled(everyWorker().map((h) => h.request(id, message)));
      const failed = loads.find((l) => l.status === 'rejected');
      const running = {
        record,
        id,
        size: input.size,
        inputPixels: () => (lastInput ? lastInput.slice() : null),
        noiseTravelled: async () => (lastTravelled ? Array.from(lastTravelled) : null),
        dispose: () => {
          live.delete(id);
          everyWorker().forEach((h) => h.worker.postMessage({ type: 'unload', id }));
        },
      };
      if (failed) {
        running.dispose();
        throw failed.reason;
      }
      return running;
    },

    /** onFree(): a worker's reply is in (a frame to show, a worker free); runs outside animation frames. */
    createRunner({ stats, onShown, onError, onFree = () => {} }) {
      let turn = 0;          // where the search for a free worker starts: frames go round in turn
      let nextSeq = 0;       // the next frame's number
      let nextShown = 0;     // the frame to show next: frames are shown in the order taken
      let dropBelow = 0;     // frames numbered below this were released, never shown
      let previous = null;   // the last output shown, while smoothing is on
      let anchor = null;     // the motion's state after the latest frame measured (worker.js), and its number
      let anchorSeq = -1;
      const sent = new Map();  // seq -> {frame, size, t0}
      const done = new Map();  // seq -> a worker's reply, or null (failed)

      deliver = (handle, data) => {
        if (data.type === 'anchor') {  // a frame measured, its inference still running (worker.js)
          if (data.seq > anchorSeq) [anchor, anchorSeq] = [data.anchor, data.seq];
          return;
        }
        if (data.seq === undefined) {
          if (handle.failed) retire(handle);
          onError(data.message);
        } else {
          handle.busy = false;
          if (data.memory) handle.memory = data.memory;
          if (data.type !== 'frame') onError(data.message);
          done.set(data.seq, data.type === 'frame' ? data : null);
        }
        // Show it and hand this worker its next frame now: waiting for the next animation frame
        // left each worker idle for up to a display frame (plus the capture) after every frame.
        onFree();
      };

      /** A worker that failed leaves the rotation; its frame in flight will never come back. */
      function retire(handle) {
        const index = handles.indexOf(handle);
        if (index < 0) return;  // still joining: joinOne lets it go
        handles.splice(index, 1);
        if (turn > index) turn--;
        if (turn >= handles.length) turn = 0;
        if (handle.busy) done.set(handle.seq, null);
        handle.busy = false;
        handle.worker.terminate();
        if (handles.length) console.warn(`${handle.failed}; ${handles.length} frame worker(s) go on`);
      }

      /**
       * The first free worker from `turn` on, or null. Not strictly the worker in turn: one that
       * finished early would wait for a slower one to be handed its frame first, and the two would
       * idle in step. Shown frames keep their order.
       */
      function freeWorker() {
        for (let i = 0; i < handles.length; i++) {
          const handle = handles[(turn + i) % handles.length];
          if (!handle.busy && !handle.failed) return handle;
        }
        return null;
      }

      function show(reply, { frame, size }) {
        const t0 = performance.now();
        const { output } = reply;
        if (frame.smoothing > 0 && previous && previous.length === output.length) {
          const s = frame.smoothing;
          for (let i = 0; i < output.length; i++) output[i] = previous[i] * s + output[i] * (1 - s);
        }
        previous = frame.smoothing > 0 ? output : null;
        lastInput = reply.input;
        lastTravelled = reply.travelled;
        display.draw(output, size, frame.showInput ? reply.input : null);
        const t1 = performance.now();
        stats.stage('preprocess', reply.ms.preprocess);
        stats.stage('inference', reply.ms.inference);
        stats.stage('display', t1 - t0);
        onShown(t1);
        join();  // the first frame is out: now the other workers may take the CPU to start
      }

      return {
        /** Shows the next frame in order if it is back; true when a worker is free. */
        finishInflight() {
          if (done.has(nextShown)) {
            const reply = done.get(nextShown);
            const meta = sent.get(nextShown);
            done.delete(nextShown);
            sent.delete(nextShown);
            if (reply && nextShown >= dropBelow) show(reply, meta);
            nextShown++;
          }
          return freeWorker() !== null;
        },

        /** Captures `element` and hands it to a free worker; resolves once it is sent. */
        async run(_device, running, element, frame) {
          const handle = freeWorker();
          turn = (handles.indexOf(handle) + 1) % handles.length;
          const seq = nextSeq++;
          handle.busy = true;
          handle.seq = seq;
          stats.frameStart();
          let bitmap;
          try {
            bitmap = await createImageBitmap(element);
          } catch (error) {
            handle.busy = false;
            done.set(seq, null);
            throw error;
          }
          sent.set(seq, { frame, size: running.size });
          const params = { brightness: frame.brightness, contrast: frame.contrast, mirror: frame.mirror };
          handle.worker.postMessage({ type: 'frame', id: running.id, seq, bitmap, params, anchor }, [bitmap]);
        },

        /** Frames in flight are dropped when they come back (a model swap). */
        release() {
          dropBelow = nextSeq;
          previous = null;
        },
      };
    },

    /** Tensors and bytes over all workers, as each last reported after a frame. */
    memory() {
      return everyWorker().reduce((sum, h) => ({
        numTensors: sum.numTensors + h.memory.numTensors,
        numBytes: sum.numBytes + h.memory.numBytes,
      }), { numTensors: 0, numBytes: 0 });
    },

    dispose() {
      disposed = true;
      everyWorker().forEach((h) => h.worker.terminate());
      display.dispose();
    },
  };
  return device;
}
