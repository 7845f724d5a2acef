// Frame statistics behind demo.stats() and the stats overlay: fps over the last second,
// smoothed per-stage times, and readbacks per frame measured between frame starts (so a
// readback anywhere, not only inside our own code, is counted).

import { readbackCounts } from './readbacks.js';

const WINDOW_FRAMES = 30;  // readbacks are averaged over this many frames
const SMOOTHING = 0.9;     // exponential moving average weight of stage times

export function createStats() {
  const displayTimes = [];
  const readbackDeltas = [];
  const downloadDeltas = [];
  const stageMs = { preprocess: 0, inference: 0, display: 0 };
  let frames = 0;
  let firstFrameMs = null;
  let gpuMs = null;
  let lastCounts = null;

  function push(list, value) {
    list.push(value);
    if (list.length > WINDOW_FRAMES) list.shift();
  }
  const mean = (list) => (list.length ? list.reduce((a, b) => a + b, 0) / list.length : 0);

  return {
    /** Marks the start of a processed frame. */
    frameStart() {
      const counts = readbackCounts();
      if (lastCounts) {
        push(readbackDeltas, counts.readbacks - lastCounts.readbacks);
        push(downloadDeltas, counts.downloads - lastCounts.downloads);
      }
      lastCounts = counts;
    },
    /** Records the time of one stage of the current frame, in ms. */
    stage(name, ms) {
      stageMs[name] = frames === 0 ? ms : SMOOTHING * stageMs[name] + (1 - SMOOTHING) * ms;
    },
    /** Time from submitting a frame to the GPU finishing it (WebGL only), in ms. */
    gpu(ms) {
      gpuMs = gpuMs == null ? ms : SMOOTHING * gpuMs + (1 - SMOOTHING) * ms;
    },
    /** Marks a generated frame as displayed. */
    frameDisplayed(now = performance.now()) {
      frames++;
      if (firstFrameMs == null) firstFrameMs = now;
      displayTimes.push(now);
      while (displayTimes.length && displayTimes[0] < now - 1000) displayTimes.shift();
    },
    /** Forgets the window (after a model or backend change, old frames say nothing). */
    resetWindow() {
      readbackDeltas.length = 0;
      downloadDeltas.length = 0;
      lastCounts = null;
      gpuMs = null;
    },
    snapshot(now = performance.now()) {
      const recent = displayTimes.filter((t) => t >= now - 1000);
      return {
        frames,
        fps: recent.length,
        readbacksPerFrame: Math.round(mean(readbackDeltas) * 100) / 100,
        downloadsPerFrame: Math.round(mean(downloadDeltas) * 100) / 100,
        stageMs: {
          preprocess: Math.round(stageMs.preprocess * 100) / 100,
          inference: Math.round(stageMs.inference * 100) / 100,
          display: Math.round(stageMs.display * 100) / 100,
        },
        gpuMs: gpuMs == null ? null : Math.round(gpuMs * 10) / 10,
        firstFrameMs: firstFrameMs == null ? null : Math.round(firstFrameMs),
      };
    },
  };
}
