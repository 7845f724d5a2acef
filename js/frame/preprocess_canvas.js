// The whole input transform on a 2D canvas: centre crop, luma, exact area downscale in JS, then
// the JS upscaler (upscale.js). For browsers with no WebGL2 at all, and inside the frame
// workers (frame/worker.js, on an OffscreenCanvas).

import { centreSquare, sourceSize } from './crop.js';
import { createUpscaler } from './upscale.js';

const MAX_CROP = 512;  // the crop is drawn at its own size (at most this), then box-averaged exactly

/** Exact box-overlap weights, [[first index, weights...]] per output, for n -> lowSize. */
function areaTaps(n, lowSize) {
  const scale = n / lowSize;
  const taps = [];
  for (let o = 0; o < lowSize; o++) {
    // (o + 1) * (n / lowSize) can round past n (11 * (400 / 11) = 400.00000000000006), and a tap
    // at index n reads past the row: NaN for every pixel. Multiply first, and never pass n.
    const lo = (o * n) / lowSize;
    const hi = Math.min(n, ((o + 1) * n) / lowSize);
    const first = Math.floor(lo);
    const weights = [];
    for (let i = first; i < Math.ceil(hi); i++) weights.push((Math.min(hi, i + 1) - Math.max(lo, i)) / scale);
    taps.push([first, weights]);
  }
  return taps;
}

const pageCanvas = () => document.createElement('canvas');

/**
 * size: the model's input size S; transform: meta.transform; createCanvas: where to draw (a
 * page canvas, or `() => new OffscreenCanvas(1, 1)` in a worker). run(element, params) returns
 * the model input, a Float32Array of S*S values in [-1, 1] (owned by this preprocessor, valid
 * until the next run). inputPixels() copies the last one.
 */
export function createCanvasPreprocessor({ size, transform, createCanvas = pageCanvas }) {
  const lowSize = transform.low_size;
  const canvas = createCanvas();
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const upscale = createUpscaler(lowSize, size, transform);
  const low = new Float32Array(lowSize * lowSize);
  const [wr, wg, wb] = transform.luma;
  let n = 0;
  let taps = null;
  let rows = null;  // n rows x lowSize columns after the horizontal pass
  let last = new Float32Array(size * size);

  return {
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
      last = upscale(low, { brightness, contrast });
      return last;
    },
    /** A copy of the last run's model input (S*S values in [-1, 1], row 0 = top). */
    inputPixels() {
      return last.slice();
    },
    dispose() {
      canvas.width = canvas.height = 0;
    },
  };
}
