// The whole input transform on a 2D canvas: centre crop, luma, exact area downscale in JS, then
// the JS upscaler (upscale.js). For browsers with no WebGL2 at all, and inside the frame
// workers (frame/worker.js, on an OffscreenCanvas).

import { centreSquare, sourceSize } from './crop.js';
import { GRID } from './motion.js';
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

/** The n x n RGBA pixels' luma in [0, 1], into `out` (n * n). */
function lumaOf(pixels, [wr, wg, wb], out) {
  for (let p = 0, i = 0; p < out.length; p++, i += 4) {
    out[p] = (wr * pixels[i] + wg * pixels[i + 1] + wb * pixels[i + 2]) / 255;
  }
}

/** An exact area average of an n x n luma plane to side x side, through `rows` (n x side). */
function areaAverage(gray, n, [taps, side], rows, out) {
  for (let y = 0; y < n; y++) {
    for (let o = 0; o < side; o++) {
      const [first, weights] = taps[o];
      let sum = 0;
      for (let k = 0; k < weights.length; k++) sum += weights[k] * gray[y * n + first + k];
      rows[y * side + o] = sum;
    }
  }
  for (let oy = 0; oy < side; oy++) {
    const [first, weights] = taps[oy];
    for (let ox = 0; ox < side; ox++) {
      let sum = 0;
      for (let k = 0; k < weights.length; k++) sum += weights[k] * rows[(first + k) * side + ox];
      out[oy * side + ox] = sum;
    }
  }
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
  const motion = new Float32Array(GRID * GRID);  // the frame's motion map (motion.js)
  let n = 0;
  let sizes = null;  // [taps, side] for the low image and for the motion map
  let gray = null;   // the crop's luma, once for both averages
  let rows = null;   // n rows x side columns after the horizontal pass
  let last = new Float32Array(size * size);

  return {
    run(element, { brightness = 0, contrast = 1, mirror = false } = {}) {
      const [width, height] = sourceSize(element);
      const [x0, y0, w, h] = centreSquare(width, height);
      const side = Math.min(MAX_CROP, Math.min(width, height));
      if (side !== n) {
        n = canvas.width = canvas.height = side;
        sizes = { low: [areaTaps(n, lowSize), lowSize], motion: [areaTaps(n, GRID), GRID] };
        gray = new Float32Array(n * n);
        rows = new Float32Array(n * Math.max(lowSize, GRID));
      }
      ctx.imageSmoothingEnabled = true;
      ctx.imageSmoothingQuality = 'high';
      ctx.setTransform(mirror ? -1 : 1, 0, 0, 1, mirror ? n : 0, 0);
      ctx.drawImage(element, x0 * width, y0 * height, w * width, h * height, 0, 0, n, n);
      const pixels = ctx.getImageData(0, 0, n, n).data;
      lumaOf(pixels, transform.luma, gray);
      areaAverage(gray, n, sizes.low, rows, low);
      areaAverage(gray, n, sizes.motion, rows, motion);
      last = upscale(low, { brightness, contrast });
      return last;
    },
    /** The last run's motion map: GRID x GRID luma in [0, 1] (owned here, valid until the next run). */
    motionMap() {
      return motion;
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
