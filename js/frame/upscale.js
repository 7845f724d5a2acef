// The input transform's second half in JS (mean, bicubic upscale, input levels, brightness,
// contrast: the same steps and numbers as preprocess_mean and preprocess_upscale.frag.glsl).
// The readback path (wasm, cpu, webgpu: preprocess.js with readback: true) and the 2D-canvas
// fallback (preprocess_canvas.js) both end here; only the WebGL backend upscales in the shader.

/** Keys cubic convolution weight for distance x (a = meta.transform.cubic_a). */
function keys(x, a) {
  const d = Math.abs(x);
  if (d <= 1) return ((a + 2) * d - (a + 3)) * d * d + 1;
  if (d < 2) return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a;
  return 0;
}

/** Bicubic weights and clamped source indices for each of `outSize` output positions. */
function cubicTaps(lowSize, outSize, a) {
  const scale = lowSize / outSize;
  const taps = [];
  for (let o = 0; o < outSize; o++) {
    const src = (o + 0.5) * scale - 0.5;  // half-pixel centres
    const base = Math.floor(src);
    const t = src - base;
    const entry = [];
    for (let k = -1; k <= 2; k++) {
      entry.push(Math.min(Math.max(base + k, 0), lowSize - 1), keys(t - k, a));  // clamp-to-edge
    }
    taps.push(entry);
  }
  return taps;
}

/**
 * low (lowSize^2 luma in [0, 1], row 0 = top) -> the model input: S*S values in [-1, 1].
 * Returns upscale(low, {brightness, contrast}) writing into its own Float32Array (owned by
 * the returned function; valid until the next call).
 */
export function createUpscaler(lowSize, size, transform) {
  const taps = cubicTaps(lowSize, size, transform.cubic_a);
  const levels = transform.levels;  // absent or null: a model trained without input levels
  const rows = new Float32Array(lowSize * size);  // horizontal pass: lowSize rows x S columns
  const result = new Float32Array(size * size);
  return function upscale(low, { brightness = 0, contrast = 1 } = {}) {
    const n = lowSize * lowSize;
    let mean = 0;
    let squares = 0;
    for (let i = 0; i < n; i++) {
      mean += low[i];
      squares += low[i] * low[i];
    }
    mean /= n;
    const sd = Math.sqrt(Math.max(squares / n - mean * mean, 0));
    const gain = levels ? Math.min(Math.max(levels.sd / Math.max(sd, 1e-6), levels.gain[0]), levels.gain[1]) : 1;
    const centre = levels ? levels.mean : mean;
    for (let y = 0; y < lowSize; y++) {
      const r = y * lowSize;
      for (let x = 0; x < size; x++) {
        const t = taps[x];
        rows[y * size + x] = low[r + t[0]] * t[1] + low[r + t[2]] * t[3] + low[r + t[4]] * t[5] + low[r + t[6]] * t[7];
      }
    }
    for (let y = 0; y < size; y++) {
      const t = taps[y];
      for (let x = 0; x < size; x++) {
        let v = rows[t[0] * size + x] * t[1] + rows[t[2] * size + x] * t[3]
          + rows[t[4] * size + x] * t[5] + rows[t[6] * size + x] * t[7];
        v = (v - mean) * gain + centre;
        v = Math.min(Math.max((v - centre) * contrast + centre + brightness, 0), 1);
        result[y * size + x] = v * 2 - 1;
      }
    }
    return result;
  };
}
