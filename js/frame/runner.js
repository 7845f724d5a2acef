// One frame through preprocess -> generator -> display, on either path:
//   zero-copy (WebGL): preprocess + generator are submitted in a task after the page's rendering
//     update, and the output is drawn on a later animation frame once a fence says the GPU
//     finished, so neither the compositor nor the page ever waits for inference, and nothing
//     is read back;
//   readback (wasm, cpu, webgpu): preprocess (one small readback), generator, await the
//     output's values (tf.js reads them back), draw.
// Owns the in-flight output and the previous output (temporal smoothing).

import { fenceSignalled } from './gl.js';

/** Runs fn in a task after this animation frame's rendering update; resolves when it ran. */
function afterRendering(fn) {
  return new Promise((resolve, reject) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      try { resolve(fn()); } catch (error) { reject(error); }
    };
    channel.port2.postMessage(null);
  });
}

/** stats: createStats(); onShown(shownAt) is called after each displayed frame. */
export function createFrameRunner({ stats, onShown }) {
  let previous = null;  // last output tensor, kept only while smoothing is on
  let inflight = null;  // zero-copy path: the submitted frame awaiting its fence

  /** The output of a shown frame: kept as `previous` while smoothing, else freed. */
  function keepOutput(out, smoothing) {
    if (previous && previous !== out) previous.dispose();
    previous = null;
    if (smoothing > 0) previous = out;
    else out.dispose();
  }

  function shown(stageMs, shownAt) {
    for (const [name, ms] of Object.entries(stageMs)) stats.stage(name, ms);
    onShown(shownAt);
  }

  function submitZeroCopy(device, running, element, frame) {
    stats.frameStart();
    const t0 = performance.now();
    const input = running.preprocessor.run(element, frame);  // R32F texture on tf.js's context
    const t1 = performance.now();
    const out = running.generator.predict(input, previous, previous ? frame.smoothing : 0, running.preprocessor.motionMap());
    const t2 = performance.now();
    const { gl } = device;
    inflight = {
      device, out, frame, size: running.size, inset: frame.showInput ? input : null,
      times: [t0, t1, t2], sync: gl.fenceSync(gl.SYNC_GPU_COMMANDS_COMPLETE, 0),
    };
    gl.flush();
  }

  /** Draws the in-flight frame if its fence has signalled; returns whether it did. */
  function drawInflightIfFinished() {
    const { device, out, frame, size, inset, times: [t0, t1, t2], sync } = inflight;
    if (!fenceSignalled(device.gl, sync)) return false;
    inflight = null;
    const t3 = performance.now();
    stats.gpu(t3 - t2);
    device.gl.deleteSync(sync);
    // The output texture, decoded densely by tf.js; we only draw it, then give it back.
    const gpuData = out.dataToGPU();
    device.display.draw(gpuData, size, inset);
    gpuData.tensorRef.dispose();
    keepOutput(out, frame.smoothing);
    const t4 = performance.now();
    shown({ preprocess: t1 - t0, inference: t2 - t1, display: t4 - t3 }, t4);
    return true;
  }

  function runReadback(device, running, element, frame) {
    stats.frameStart();
    const t0 = performance.now();
    const input = running.preprocessor.run(element, frame);  // Float32Array of S*S
    const t1 = performance.now();
    const out = running.generator.predict(input, previous, previous ? frame.smoothing : 0, running.preprocessor.motionMap());
    return out.data().then((values) => {
      const t2 = performance.now();
      device.display.draw(values, running.size, frame.showInput ? input : null);
      keepOutput(out, frame.smoothing);
      const t3 = performance.now();
      shown({ preprocess: t1 - t0, inference: t2 - t1, display: t3 - t2 }, t3);
    }, (error) => {
      out.dispose();
      throw error;
    });
  }

  return {
    /**
     * Zero-copy path: draws the in-flight frame once the GPU has finished it. Returns true
     * when no frame is in flight any more (a new one may start), false while the GPU is
     * still computing it. Always true on the readback path (nothing is ever left in flight).
     */
    finishInflight() {
      return inflight == null || drawInflightIfFinished();
    },

    /**
     * Starts a frame: `running` is {generator, preprocessor, size}; frame is {brightness,
     * contrast, mirror, smoothing, showInput}. Returns a Promise that settles when the
     * frame's work on the page's thread is done.
     */
    run(device, running, element, frame) {
      if (device.zeroCopy) return afterRendering(() => submitZeroCopy(device, running, element, frame));
      return runReadback(device, running, element, frame);
    },

    /** Frees the in-flight and previous outputs (before a model swap or after a context loss). */
    release() {
      try {
        inflight?.out.dispose();
        previous?.dispose();
      } catch { /* on a lost context the tensors go with it */ }
      inflight = null;
      previous = null;
    },
  };
}
