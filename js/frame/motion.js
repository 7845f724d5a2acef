// How far the scene moved since the last frame, so that the generator's noise texture moves with
// it: the invented detail (stars, foam, embers) then travels with the scene as the camera pans,
// instead of staying on the screen like dirt on a window. builder/training/motion.py is the same
// computation in NumPy (the scorecard judges a model with it); read its docstring for the why.
//
// In tf.js ops on whichever backend runs the model, so on the WebGL device nothing is read back:
// the camera crop's luma, area-averaged to GRID x GRID by the preprocessor, is normalised and its
// centre matched against the next frame's map at every whole shift up to REACH grid px each way
// (one matrix product for the cross-correlation, sums of squares for the windows' energies), the best match
// refined by the quadratic surface through its neighbours, accumulated, and turned into the int32 [dy, dx] the graph's
// `noise_shift` input takes.

import * as tf from '@tensorflow/tfjs-core';

export const GRID = 64;  // = motion.py's constants
const REACH = 8;
const MIN_CONTRAST = 0.01;
const MIN_MATCH = 0.6;
const DEAD_ZONE = 0.05;
const SPAN = 2 * REACH + 1;
const INNER = GRID - 2 * REACH;

/** [1, G, G, 1] luma -> zero mean, unit std (all zeros without contrast). */
function normalised(map) {
  const centred = tf.sub(map, tf.mean(map));
  const std = tf.sqrt(tf.mean(tf.square(centred)));
  return tf.mul(centred, tf.where(tf.greaterEqual(std, MIN_CONTRAST), tf.div(1, std), tf.zerosLike(std)));
}

/** The vertex [dy, dx] of the quadratic surface through the 3 x 3 scores at(-1..1, -1..1) (motion.py's _refine). */
function refine(at) {
  const [gy, gx] = [tf.div(tf.sub(at(1, 0), at(-1, 0)), 2), tf.div(tf.sub(at(0, 1), at(0, -1)), 2)];
  const peak2 = tf.mul(at(0, 0), 2);
  const hyy = tf.add(tf.sub(at(1, 0), peak2), at(-1, 0));
  const hxx = tf.add(tf.sub(at(0, 1), peak2), at(0, -1));
  const hxy = tf.div(tf.add(tf.sub(tf.sub(at(1, 1), at(1, -1)), at(-1, 1)), at(-1, -1)), 4);
  const det = tf.sub(tf.mul(hyy, hxx), tf.square(hxy));
  const safe = tf.where(tf.greater(det, 0), det, tf.onesLike(det));
  const dy = tf.neg(tf.div(tf.sub(tf.mul(hxx, gy), tf.mul(hxy, gx)), safe));
  const dx = tf.neg(tf.div(tf.sub(tf.mul(hyy, gx), tf.mul(hxy, gy)), safe));
  const vertex = tf.clipByValue(tf.stack([dy, dx]), -0.5, 0.5);
  const maximum = tf.broadcastTo(tf.logicalAnd(tf.greater(det, 0), tf.less(hyy, 0)), [2]);
  return tf.where(maximum, vertex, tf.zerosLike(vertex));
}

/**
 * [SPAN, SPAN] normalised cross-correlation of `previous`'s centre with `current` at every shift
 * (motion.py's match), as one matrix product. A convolution with the 48 x 48 centre as its filter
 * is the direct form, but tf.js wasm runs a one-channel filter that large at 4.2 ms a frame (and
 * its gathers at ~55 ns an element): this form takes about 1 ms, in slices, a product and sums.
 * columns[:, j] = current[:, j : j + INNER] (the map's columns seen at column shift j); the product
 * with the centre gives, for each j, row r of the centre against row k of the map; summed along
 * the diagonals k = i + r (a reshape skews them into columns), the correlation at shift (i, j).
 * The windows' energies: each row's sum of squares at each j, summed over INNER rows by a cumsum.
 */
function correlation(previous, current) {
  const across = tf.transpose(tf.reshape(current, [GRID, GRID]));  // [column, row]
  const centre = tf.reshape(tf.slice(previous, [0, REACH, REACH, 0], [1, INNER, INNER, 1]), [INNER, INNER]);
  // [c, j, k] = map[k][j + c]; laid out for a product without a transposed operand (5x slower in wasm).
  const columns = tf.stack(Array.from({ length: SPAN }, (_, j) => tf.slice(across, [j, 0], [INNER, GRID])), 1);
  const products = tf.matMul(centre, tf.reshape(columns, [INNER, SPAN * GRID]));  // [r, (j, k)]
  const perShift = tf.reshape(tf.transpose(tf.reshape(products, [INNER, SPAN, GRID]), [1, 0, 2]), [SPAN, INNER * GRID]);
  // Row r of [r, k] flattened at a stride of GRID + 1 instead of GRID: entry (r, i) is (r, k = i + r).
  const skewed = tf.reshape(tf.pad(perShift, [[0, 0], [0, INNER]]), [SPAN, INNER, GRID + 1]);
  const cross = tf.sum(tf.slice(skewed, [0, 0, 0], [SPAN, INNER, SPAN]), 1);  // [j, i]
  const rowEnergy = tf.pad(tf.cumsum(tf.sum(tf.square(columns), 0), 1), [[0, 0], [1, 0]]);  // [j, 1 + k]
  const energy = tf.sub(tf.slice(rowEnergy, [0, INNER], [SPAN, SPAN]), tf.slice(rowEnergy, [0, 0], [SPAN, SPAN]));
  const scores = tf.div(cross, tf.sqrt(tf.maximum(tf.mul(energy, tf.sum(tf.square(centre))), 1e-12)));
  return tf.transpose(scores);  // [i, j]
}

/** [dy, dx] in model-input px: how far the content moved from `previous` to `current` (both normalised). */
function moved(previous, current, size) {
  const scores = correlation(previous, current);
  const best = tf.argMax(tf.reshape(scores, [-1]));
  const int = (n) => tf.scalar(n, 'int32');  // a bare number would make the sum float32
  const [i, j] = [tf.floorDiv(best, int(SPAN)), tf.mod(best, int(SPAN))];
  const padded = tf.reshape(tf.pad(scores, [[1, 1], [1, 1]]), [-1]);
  const at = (di, dj) => tf.gather(padded, tf.add(tf.mul(tf.add(i, int(1 + di)), int(SPAN + 2)), tf.add(j, int(1 + dj))));
  const peak = at(0, 0);
  const inside = (k) => tf.logicalAnd(tf.greater(k, int(0)), tf.less(k, int(SPAN - 1)));
  const whole = tf.sub(tf.cast(tf.stack([i, j]), 'float32'), REACH);
  const refined = tf.where(tf.broadcastTo(tf.logicalAnd(inside(i), inside(j)), [2]), refine(at), tf.zeros([2]));
  const step = tf.add(whole, refined);  // at the search's edge, whole steps only
  const matched = tf.greaterEqual(tf.broadcastTo(peak, [2]), MIN_MATCH);
  const kept = tf.where(tf.logicalAnd(tf.greaterEqual(tf.abs(step), DEAD_ZONE), matched), step, tf.zerosLike(step));
  return tf.mul(kept, size / GRID);
}

/**
 * The motion of one stream of frames for a `size`-px model whose noise pattern is side x side.
 * next(map) takes the frame's [1, GRID, GRID, 1] map (a tensor, freed by the caller) and returns
 * the int32 [2] noise_shift for it (a new tensor, the caller's). Between frames it keeps the last
 * map and the distance travelled (mod size: the pattern tiles the plane); anchor() reads them
 * and setAnchor() takes them, so that frame workers, each seeing every Nth frame, follow one
 * chain: each frame is measured from the last frame shown, wherever it ran. dispose() frees them.
 */
export function createMotion({ size, side }) {
  // The last frame's normalised map (before the first: all zeros, which matches nothing, so the
  // first frame does not move; and the tensor count stays the same from the first frame on).
  let previous = tf.keep(tf.zeros([1, GRID, GRID, 1]));
  let travelled = tf.keep(tf.zeros([2]));  // px, mod size
  // Before the first frame there is nothing to measure from (the zeros match nothing), so the first
  // frame skips the measurement, whose ops would run there for the first time: 0.1-0.25 s of a
  // cold first frame's critical path on a 2-core machine, for a step of zero.
  let first = true;

  function replace(map, distance) {
    previous.dispose();
    travelled.dispose();
    previous = tf.keep(map);
    travelled = tf.keep(distance);
  }

  return {
    next(map) {
      return tf.tidy(() => {
        const now = normalised(tf.reshape(map, [1, GRID, GRID, 1]));
        const step = first ? tf.zerosLike(travelled) : moved(previous, now, size);
        first = false;
        replace(now, tf.mod(tf.add(travelled, step), size));
        return tf.cast(tf.mod(tf.round(tf.div(travelled, size / side)), side), 'int32');
      });
    },
    async anchor() {
      return { map: await previous.data(), travelled: await travelled.data() };
    },
    setAnchor({ map, travelled: distance }) {
      replace(tf.tensor4d(map, [1, GRID, GRID, 1]), tf.tensor1d(distance));
      first = false;
    },
    dispose() {
      previous.dispose();
      travelled.dispose();
    },
  };
}
