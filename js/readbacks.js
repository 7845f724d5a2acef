// Counts GPU -> CPU transfers for real, so stats().readbacksPerFrame cannot flatter us:
// every gl.readPixels on any WebGL context of this page (ours and tf.js's, whose tensor
// downloads go through readPixels), plus tensor downloads (backend read/readSync) on the
// WebGPU backend, which has no GL. Tensor downloads on any backend are counted separately.

const counts = { readbacks: 0, downloads: 0 };

function wrapReadPixels(proto) {
  if (!proto || proto.readPixels.counted) return;
  const original = proto.readPixels;
  const counted = function readPixels(...args) {
    counts.readbacks++;
    return original.apply(this, args);
  };
  counted.counted = true;
  proto.readPixels = counted;
}

/** Installs the counters on the GL prototypes; call once, before any context exists. */
export function installReadbackCounters() {
  if (typeof WebGL2RenderingContext !== 'undefined') wrapReadPixels(WebGL2RenderingContext.prototype);
  if (typeof WebGLRenderingContext !== 'undefined') wrapReadPixels(WebGLRenderingContext.prototype);
}

/** Wraps a tf.js backend instance's read/readSync; on a GPU backend without GL they count as readbacks. */
export function countBackendReads(backend, name) {
  if (!backend || backend.readsCounted) return;
  backend.readsCounted = true;
  const gpuWithoutGL = name === 'webgpu';
  for (const method of ['read', 'readSync']) {
    const original = backend[method];
    if (typeof original !== 'function') continue;
    backend[method] = function countedRead(...args) {
      counts.downloads++;
      if (gpuWithoutGL) counts.readbacks++;
      return original.apply(this, args);
    };
  }
}

/** The running totals, {readbacks, downloads}, as a snapshot. */
export function readbackCounts() {
  return { ...counts };
}
