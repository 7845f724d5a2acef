// For galleries and phones: installation mode (with model cycling and a camera that comes back
// by itself), the camera switch, the snapshot and the clip. Wires installation.js and capture.js
// to the runtime and the app's own setModel / setSource.

import { listCameras } from './camera.js';
import { clipUnsupported, copyPicture, download, pictureBlob, recordClip } from './capture.js';
import { createInstallation } from './installation.js';

const CLIP_SECONDS = 5;
const CAMERA_RETRY_MS = 5000;

const stamp = () => new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');

/** The camera to ask for first: the rear one on phones (this artwork looks at a table). */
export function preferredFacing(nav = navigator) {
  const mobile = nav.userAgentData?.mobile || /Android|iPhone|iPad|iPod|Mobi/i.test(nav.userAgent || '');
  return mobile ? 'environment' : 'user';
}

/** settings: the runtime config's installation block; query: the page's URLSearchParams. */
export function createGallery({ settings = {}, query, runtime, ui, library, setModel, setSource }) {
  const cycleMinutes = Number(query.get('cycle') ?? settings.cycleMinutes ?? 0);
  let cycleTimer = 0;
  let retryTimer = 0;
  let recording = null;

  async function cycleModel() {
    const names = library.entries.map((entry) => entry.name);
    const current = runtime.snapshot().model;
    const next = names[(names.indexOf(current) + 1) % names.length];
    if (!next || next === current) return;
    const fadeOut = ui.showFade(await runtime.afterNextFrame(copyPicture));
    try {
      await setModel(next);
    } finally {
      fadeOut();  // a GPU-composited opacity transition from the old picture to the new
    }
  }

  const installation = createInstallation({
    fit: settings.fit === 'cover' ? 'cover' : 'contain',
    onChange(active) {
      clearInterval(cycleTimer);
      clearTimeout(retryTimer);
      if (active && cycleMinutes > 0) cycleTimer = setInterval(() => cycleModel().catch(() => {}), cycleMinutes * 60000);
    },
  });

  /** In installation mode nobody is there to choose Camera again: try it every few seconds. */
  function cameraLost() {
    if (!installation.active) return;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(async () => {
      const kind = await setSource('camera').catch(() => null);
      if (kind !== 'camera') cameraLost();
    }, CAMERA_RETRY_MS);
  }

  const snapshot = () => runtime.afterNextFrame(pictureBlob);

  async function clip(seconds = CLIP_SECONDS) {
    const canvas = runtime.outputCanvas();
    if (!canvas) throw new Error('nothing to record yet: the demo has not started');
    return recordClip(canvas, seconds);
  }

  async function savePicture() {
    try {
      download(await snapshot(), `learning-to-see-${runtime.snapshot().model}-${stamp()}.png`);
    } catch (error) {
      ui.setError(`The picture could not be saved: ${error.message}`);
    }
  }

  async function saveClip() {
    if (recording) return;
    const why = runtime.outputCanvas() && clipUnsupported(runtime.outputCanvas());
    if (why) { ui.setError(why); return; }
    ui.setRecording(true);
    ui.setStatus(`Recording ${CLIP_SECONDS} seconds…`);
    recording = clip();
    try {
      download(await recording, `learning-to-see-${runtime.snapshot().model}-${stamp()}.webm`);
      ui.setStatus('The clip is saved.');
    } catch (error) {
      ui.setError(error.message);
    } finally {
      recording = null;
      ui.setRecording(false);
    }
  }

  async function switchCamera() {
    const cameras = await listCameras();
    if (cameras.length < 2) return;
    const current = cameras.findIndex((camera) => camera.deviceId === runtime.snapshot().cameraId);
    await setSource('camera', cameras[(current + 1) % cameras.length].deviceId);
  }

  if (query.get('mode') === 'installation') installation.enter();

  return {
    handlers: {
      snapshot: savePicture,
      record: saveClip,
      installation: () => (installation.active ? installation.leave() : installation.enter({ fullscreen: true })),
      switchCamera: () => switchCamera().catch((error) => ui.setError(error.message)),
    },
    cameraLost,
    /** For window.demo. */
    api: {
      snapshot,
      recordClip: clip,
      installation: { enter: () => installation.enter(), leave: () => installation.leave(), active: () => installation.active },
    },
  };
}
