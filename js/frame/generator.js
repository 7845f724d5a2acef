// The pix2pix generator: a tf.js graph model, input [1, S, S, 1] in [-1, 1], output
// [1, S, S, 3] in [-1, 1]; a model with a noise texture also takes `noise_shift` (int32 [dy, dx]),
// where its pattern is moved to so that invented detail moves with the scene (motion.js, from
// each frame's motion map). createGenerator() builds it from artifacts (models.js fetches and
// checks those) and checks its shapes; the returned object owns the model's weight tensors
// until dispose().

import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModelSync } from '@tensorflow/tfjs-converter';
import { gpuIdle } from './gl.js';
import { createMotion, GRID } from './motion.js';

/** The side of a model's noise pattern in px, from meta.json's architecture.noise, or 0 for none. */
export function noiseSide(noise, size) {
  const divisor = { half: 2, quarter: 4 }[noise];
  return divisor ? size / divisor : 0;
}

/** The image input's (or the first output's) shape from the model's signature (-1 for "any"), or null. */
function signatureShape(artifacts, kind) {
  const entries = artifacts.signature?.[kind] || {};
  const first = entries.gray || Object.values(entries)[0];
  const dims = first?.tensorShape?.dim;
  return dims ? dims.map((d) => Number(d.size)) : null;
}

/** Checks one shape against [*, S, S, channels]; `what` names it in the error. */
function checkShape(shape, size, channels, what, label) {
  const ok = shape.length === 4 && shape[1] === size && shape[2] === size && shape[3] === channels;
  if (!ok) throw new Error(`model ${label}: ${what} shape is [${shape}], expected [1, ${size}, ${size}, ${channels}]`);
}

/** The model's input size S, checking the [*, S, S, 1] -> [*, S, S, 3] contract where it is declared. */
function checkShapes(model, artifacts, label) {
  const input = signatureShape(artifacts, 'inputs') || model.inputs.find((i) => i.name === 'gray')?.shape
    || model.inputs[0]?.shape || [];
  const size = input[1];
  if (!(size > 0)) throw new Error(`model ${label}: input shape is [${input}], expected [1, S, S, 1]`);
  checkShape(input, size, 1, 'input', label);
  const output = signatureShape(artifacts, 'outputs') || model.outputs[0]?.shape;
  if (output && output.length) checkShape(output, size, 3, 'output', label);
  return size;
}

/**
 * Builds a generator on the current tf.js backend from artifacts (the model record keeps
 * them, so the model can be rebuilt after a WebGL context loss without downloading it again).
 */
export function createGenerator(artifacts, { label = 'model', noise = null } = {}) {
  let model;
  try {
    model = loadGraphModelSync(artifacts);
  } catch (error) {
    throw new Error(`model ${label} could not be built: ${error.message || error}`);
  }
  let size;
  try {
    size = checkShapes(model, artifacts, label);
  } catch (error) {
    model.dispose();
    throw error;
  }
  const shape = [1, size, size, 1];
  let outputChecked = false;  // the first execution checks what the graph really returns
  const takesShift = model.inputs.some((i) => i.name === 'noise_shift');
  const side = noiseSide(noise, size);
  if (takesShift && !side) {
    model.dispose();
    throw new Error(`model ${label} moves a noise texture, but its meta.json architecture.noise is "${noise}", not half or quarter; export it again`);
  }
  const motion = takesShift ? createMotion({ size, side }) : null;

  /**
   * The graph's inputs: the image, and where the noise goes (`map`: this frame's motion map,
   * the noise_shift noiseShift() already made of it, or null: where it is).
   */
  function feeds(gray, map) {
    if (!motion) return gray;
    if (map instanceof tf.Tensor) return { gray, noise_shift: map };
    return { gray, noise_shift: map ? motion.next(mapTensor(map)) : tf.zeros([2], 'int32') };
  }

  function inputTensor(input) {
    if (input instanceof tf.Tensor) return input;
    if (input instanceof Float32Array) return tf.tensor4d(input, shape);
    // A WebGLTexture on tf.js's own context (R32F, S x S, row 0 = top): tf.js copies the R
    // channel into a new tensor texture; the texture itself stays ours.
    return tf.tensor({ texture: input, height: size, width: size, channels: 'R' }, shape, 'float32');
  }

  function mapTensor(map) {  // a GRID^2 Float32Array, or an R32F texture on tf.js's context
    if (map instanceof Float32Array) return tf.tensor4d(map, [1, GRID, GRID, 1]);
    return tf.tensor({ texture: map, height: GRID, width: GRID, channels: 'R' }, [1, GRID, GRID, 1], 'float32');
  }

  return {
    size,

    /**
     * One frame: input is a WebGLTexture (WebGL backend), a Float32Array of S*S values, or a
     * tensor; `map` is the frame's motion map (the preprocessor's motionMap()), which moves
     * the noise texture on from the last frame's, or the noise_shift noiseShift() already made
     * of it (null: the noise stays). With `previous` and
     * smoothing > 0 the result is blended with the previous output. Everything else is freed
     * by tf.tidy; the returned [1, S, S, 3] tensor leaves it and is owned by the caller.
     */
    predict(input, previous = null, smoothing = 0, map = null) {
      return tf.tidy(() => {
        const y = model.execute(feeds(inputTensor(input), map));
        if (!outputChecked) {
          checkShape(y.shape, size, 3, 'output', label);
          outputChecked = true;
        }
        if (!previous || smoothing <= 0) return y;
        return tf.add(tf.mul(previous, smoothing), tf.mul(y, 1 - smoothing));
      });
    },

    /**
     * Runs the model once on a blank image so shaders and kernels exist before the first
     * frame (and its output shape is checked), the motion's too (a first map, then a second
     * measured from it: a blank map has no contrast, matches nothing and leaves the motion where
     * it was). The caller waits for the returned tensor (without reading it back on the GPU)
     * and disposes it.
     */
    warmUpSync() {
      const blank = tf.zeros(shape);
      const map = motion ? new Float32Array(GRID * GRID) : null;
      try {
        if (motion) this.noiseShift(map).dispose();
        return this.predict(blank, null, 0, map);
      } finally {
        blank.dispose();
      }
    },

    /**
     * Moves the noise on by this frame's motion map now, ahead of predict(), so that the
     * motion's new state (motionAnchor()) can go to the next frame's worker while this frame's
     * inference runs. The int32 [2] noise_shift it returns is the caller's, for predict's `map`;
     * null without noise.
     */
    noiseShift(map) {
      return motion ? tf.tidy(() => motion.next(mapTensor(map))) : null;
    },

    /** The motion's state after the last frame ({map, travelled}), for the next frame elsewhere; null without noise. */
    motionAnchor: () => (motion ? motion.anchor() : Promise.resolve(null)),
    /** Measures the next frame from this state (another worker's last frame) instead of this one's own. */
    setMotionAnchor(anchor) {
      if (motion && anchor) motion.setAnchor(anchor);
    },

    dispose() {
      motion?.dispose();
      model.dispose();
    },
  };
}

/**
 * A generator and its preprocessor (createPreprocessor(size)) for a model whose meta.json
 * transform is made for `size` px inputs, both warmed up: on a zero-copy device (`gl`) by waiting
 * for the GPU, else by reading the warm-up output. In the page and in the frame workers alike.
 * warmUp: false skips the warm-up run, so the first frame is the warm-up (for a first model,
 * where no running model is kept on screen meanwhile and a warm-up only delays the first frame
 * by one whole inference; its output shape is then checked by that frame). warmUpMs: how long
 * the warm-up took (a cold first run), or null without one.
 */
export async function createWarmModel(artifacts, { label, size, noise, createPreprocessor, gl = null, warmUp = true }) {
  const generator = createGenerator(artifacts, { label, noise });
  let preprocessor;
  let warmUpMs;
  try {
    if (generator.size !== size) {
      throw new Error(`model ${label} takes ${generator.size} px inputs, but its meta.json transform is for ${size} px; choose a model made for ${size} px inputs`);
    }
    preprocessor = createPreprocessor(generator.size);
    if (!warmUp) return { generator, preprocessor, warmUpMs: null };
    const t0 = performance.now();
    const warm = generator.warmUpSync();
    if (gl) {
      warm.dispose();
      await gpuIdle(gl);  // wait for the GPU without reading anything back
    } else {
      await warm.data();
      warm.dispose();
    }
    warmUpMs = performance.now() - t0;
  } catch (error) {
    generator.dispose();
    preprocessor?.dispose();
    throw error;
  }
  return { generator, preprocessor, warmUpMs };
}
