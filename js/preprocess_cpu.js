// The input transform's second half on the CPU (mean, bicubic upscale, brightness, contrast:
// the same steps and numbers as preprocess_upscale.frag.glsl), for the CPU backends, and the
// whole transform on a 2D canvas for browsers with no WebGL2 at all.

import { centreSquare, sourceSize } from './crop.js';

const MAX_CROP = 512;  // the crop is drawn at its own size (at most this), then box-averaged exactly

/** Keys cubic convolution weight for distance x (a = meta.transform.cubic_a). */
function keys(x, a) {
  const d = Math.abs(x);
  if (d <= 1) return ((a + 2) * d - (a + 3)) * d * d + 1;
  if (d < 2) return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a;
  return 0;
}

/** Exact box-overlap weights, [[first index, weights...]] per output, for n -> lowSize. */
function areaTaps(n, lowSize) {
  const scale = n / lowSize;
  const taps = [];
  for (let o = 0; o < lowSize; o++) {
    const lo = o * scale;
    const hi = (o + 1) * scale;
    const first = Math.floor(lo);
    const weights = [];
    for (let i = first; i < Math.ceil(hi); i++) weights.push((Math.min(hi, i + 1) - Math.max(lo, i)) / scale);
    taps.push([first, weights]);
  }
  return taps;
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
  const rows = new Float32Array(lowSize * size);  // horizontal pass: lowSize rows x S columns
  const result = new Float32Array(size * size);
  return function upscale(low, { brightness = 0, contrast = 1 } = {}) {
    let mean = 0;
    for (let i = 0; i < lowSize * lowSize; i++) mean += low[i];
    mean /= lowSize * lowSize;
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
        v = Math.min(Math.max((v - mean) * contrast + mean + brightness, 0), 1);
        result[y * size + x] = v * 2 - 1;
      }
    }
    return result;
  };
}

/** The whole transform on a 2D canvas (no WebGL2); run() returns the model input array. */
export function createCanvasPreprocessor({ size, transform }) {
  const lowSize = transform.low_size;
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const upscale = createUpscaler(lowSize, size, transform);
  const low = new Float32Array(lowSize * lowSize);
  const [wr, wg, wb] = transform.luma;
  let n = 0;
  let taps = null;
  let rows = null;  // n rows x lowSize columns after the horizontal pass

  return {
    size,
    run(element, { brightness = 0, contrast = 1, mirror = false } = {}) {
      const [width, height] = sourceSize(element);
      const [x0, y0, w, h] = centreSquare(width, height);
      const side = Math.min(MAX_CROP, Math.min(width, height));
      if (side !== n) {
        n = canvas.width = canvas.height = side;
        taps = areaTaps(n, lowSize);
        rows = new Float32Array(n * lowSize);
      }
      ctx.imageSmoothingEnabled = true;
      ctx.imageSmoothingQuality = 'high';
      ctx.setTransform(mirror ? -1 : 1, 0, 0, 1, mirror ? n : 0, 0);
      ctx.drawImage(element, x0 * width, y0 * height, w * width, h * height, 0, 0, n, n);
      const pixels = ctx.getImageData(0, 0, n, n).data;
      for (let y = 0; y < n; y++) {
        for (let o = 0; o < lowSize; o++) {
          const [first, weights] = taps[o];
          let sum = 0;
          for (let k = 0; k < weights.length; k++) {
            const i = (y * n + first + k) * 4;
            sum += weights[k] * (wr * pixels[i] + wg * pixels[i + 1] + wb * pixels[i + 2]);
          }
          rows[y * lowSize + o] = sum / 255;
        }
      }
      for (let oy = 0; oy < lowSize; oy++) {
        const [first, weights] = taps[oy];
        for (let ox = 0; ox < lowSize; ox++) {
          let sum = 0;
          for (let k = 0; k < weights.length; k++) sum += weights[k] * rows[(first + k) * lowSize + ox];
          low[oy * lowSize + ox] = sum;
        }
      }
      return upscale(low, { brightness, contrast });
    },
    dispose() {
      canvas.width = canvas.height = 0;
    },
  };
}
