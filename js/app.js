// What the visitor does, in order: pick a source, pick a model, change the controls.
// Connects the UI, the model library, the sources and the runtime, and builds window.demo.

import { CameraError, listCameras } from './camera.js';
import { createModelLibrary } from './models.js';
import { createRuntime } from './runtime.js';
import { cameraSource, demoSource, fileSource } from './sources.js';
import { createGallery, preferredFacing } from './gallery.js';

/** config: the runtime config; ui: createUI() result; query: URLSearchParams of the page. */
export function createApp(config, ui, query) {
  const library = createModelLibrary(config);
  let loadingModel = null;
  let modelRequest = 0;
  let sourceRequest = 0;
  let fallbackReason = null;

  const runtime = createRuntime({
    wasmPaths: config.wasmPaths || {},
    workerUrl: config.workerUrl || null,
    requestedBackend: query.get('backend'),
    requestedWorkers: query.get('workers'),
    events: {
      state: (state, message) => ui.setOverlay(state === 'running' ? null : message),
      output: (canvas, backend) => ui.mountOutput(canvas, backend),
      model(record) {
        ui.addModelOption(record.name, record.title);
        ui.setTransformRanges(record.meta.transform);
        applyParams();
      },
      error: (message) => ui.setError(message),
    },
  });

  function applyParams() {
    Object.assign(runtime.params, ui.params());
    ui.setMirrored(runtime.params.mirror);
    runtime.touch();
  }

  async function useSource(source, reason = null) {
    runtime.setSource(source);
    ui.mountSource(source);
    applyParams();
    fallbackReason = reason;
    if (reason) ui.setStatus(`${reason} Showing the demo animation instead.`);
    else if (source.kind === 'camera') ui.setStatus(`Camera: ${source.label}.`);
    else if (source.kind === 'demo') ui.setStatus('Showing the demo animation.');
    else ui.setStatus(`Showing your file ${source.label} (it stays on this device).`);
    if (source.kind === 'camera') {
      ui.setCameras(await listCameras(), source.deviceId);
      source.track.addEventListener('ended', () => {
        if (runtime.snapshot().source !== 'camera') return;
        useSource(demoSource(), 'The camera stopped sending pictures.');
        gallery.cameraLost();
      });
    }
    return source.kind;
  }

  /** kind: 'camera' | 'demo' | 'file' (with a File). A camera failure falls back to the demo. */
  async function setSource(kind, detail = null) {
    const request = ++sourceRequest;
    let source;
    try {
      if (kind === 'camera') source = await cameraSource(detail ? { deviceId: detail } : { facingMode: preferredFacing() });
      else if (kind === 'demo') source = demoSource();
      else if (kind === 'file' || kind === 'image' || kind === 'video') {
        if (!(detail instanceof Blob)) throw new Error(`setSource("${kind}", file) needs the File to show`);
        source = await fileSource(detail);
      }
      else throw new Error(`unknown source "${kind}" (use camera, demo or file)`);
    } catch (error) {
      if (request !== sourceRequest) return runtime.snapshot().source;
      if (error instanceof CameraError) {
        gallery.cameraLost();
        return useSource(demoSource(), error.message);
      }
      ui.setError(error.message);
      throw error;
    }
    if (request !== sourceRequest) {  // a newer choice won while this one was opening
      source.stop();
      return runtime.snapshot().source;
    }
    return useSource(source);
  }

  async function install(loadRecord, title, name) {
    const request = ++modelRequest;
    loadingModel = name;
    ui.setError(null);
    const first = runtime.snapshot().model == null;
    let announced = -1;  // the status line (read out by screen readers) moves in 10 % steps
    const progress = (fraction) => {
      if (first) ui.setOverlay(`Loading ${title}…`, fraction);
      ui.setProgress(fraction);
      const step = Math.floor(fraction * 10);
      if (step !== announced) ui.setStatus(`Loading ${title}: ${step * 10} %`);
      announced = step;
    };
    try {
      runtime.setLoading(`Loading ${title}…`);
      progress(0);
      const record = await loadRecord(progress);
      ui.setProgress(null);
      if (request !== modelRequest) return runtime.snapshot().model;
      ui.setStatus(`Warming up ${title}…`);
      if (first) ui.setOverlay(`Warming up ${title}…`);
      const shown = await runtime.setModel(record);
      ui.setStatus(fallbackReason ? `${fallbackReason} Showing the demo animation instead.` : `${record.title} is running.`);
      return shown;
    } catch (error) {
      if (request !== modelRequest) return runtime.snapshot().model;  // a newer choice took over
      ui.setProgress(null);
      const current = runtime.snapshot().model;
      ui.setModel(current ?? '');
      ui.setStatus(current ? 'The previous model keeps running.' : '');
      runtime.modelFailed(error.message);
      throw error;
    } finally {
      if (request === modelRequest) loadingModel = null;
    }
  }

  const setModel = (name) => {
    const entry = library.entries.find((m) => m.name === name);
    return install((progress) => library.load(name, progress), entry ? entry.title : name, name);
  };
  const setModelFiles = (files) => install(() => library.loadFiles(files), 'your model', 'custom');

  const quiet = (promise) => promise.catch(() => {});  // errors are already on the page
  const gallery = createGallery({ settings: config.installation, query, runtime, ui, library, setModel, setSource });
  ui.setStatsSource(() => ({ ...runtime.snapshot(), loadingModel }));

  return {
    handlers: {
      model: (name) => quiet(setModel(name)),
      source: (kind) => quiet(setSource(kind)),
      sourceFile: (file) => quiet(setSource('file', file)),
      camera: (deviceId) => quiet(setSource('camera', deviceId)),
      modelFiles: (files) => quiet(setModelFiles(files)),
      params: applyParams,
      ...gallery.handlers,
    },

    /**
     * Starts everything; resolves when the first generated frame is on screen and every frame
     * worker has joined (the others start only after the first frame: frame/workers.js).
     */
    async start() {
      // The model's download, the camera and the backend's start (its code, its wasm, its
      // workers) all begin at once: none needs another, and the first frame waits for all three.
      const modelName = query.get('model') || library.defaultName;
      quiet(library.load(modelName));  // a failure is reported by setModel below, which shares it
      const wanted = query.get('source') === 'demo' ? 'demo' : 'camera';
      const sourceReady = setSource(wanted);
      let backend;
      try {
        backend = await runtime.start();
      } catch (error) {
        sourceReady.then(() => runtime.setSource(null), () => {});  // no camera left on for nothing
        throw error;
      }
      console.info(`Learning to See: ${backend.name} backend (${backend.reason})`);
      await Promise.all([sourceReady, setModel(modelName)]);
      await runtime.firstFrame;
      await runtime.complete();
    },

    /** window.demo: the page's status object, for people and tests alike. */
    demoApi(ready) {
      return {
        ready,
        stats: () => ({ ...runtime.snapshot(), loadingModel }),
        setModel,
        setModelFiles,
        setSource,
        /**
         * The preprocessed input of the last frame: a Float32Array of S*S values in [-1, 1],
         * row 0 = top (null before a model runs). For checking the preprocessing against
         * training's transform; on WebGL it reads the texture back (one counted readback).
         */
        inputPixels: () => runtime.inputPixels(),
        /**
         * A Promise of [dy, dx]: how far the last frame's noise texture had moved with the scene
         * (model-input px, mod its size; js/frame/motion.js), or null for a model without one.
         * In the page it reads two small tensors back (counted readbacks).
         */
        noiseTravelled: () => runtime.noiseTravelled(),
        /** The generated picture as shown, a PNG Blob at the model's size (after the next frame). */
        snapshot: gallery.api.snapshot,
        /** A WebM Blob of `seconds` of the output. */
        recordClip: gallery.api.recordClip,
        installation: gallery.api.installation,
      };
    },
  };
}
