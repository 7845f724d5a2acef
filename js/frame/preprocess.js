// The training input transform on WebGL2, as three passes (one shader file each):
//   source (video/canvas/image) -> low_size^2 luma (area) -> its mean and the input levels' gain
//   (2x1) -> S^2 bicubic, input levels, brightness, contrast, clip, [-1, 1].
// On the readback path only the first pass runs here and upscale.js does the rest in JS.
// The area pass also makes the frame's motion map (GRID^2 luma, motion.js) from the same crop.
// All numbers come from meta.transform / meta.input and the visitor's controls, as uniforms.

import vertexSource from '../../glsl/fullscreen.vert.glsl';
import areaSource from '../../glsl/preprocess_area.frag.glsl';
import meanSource from '../../glsl/preprocess_mean.frag.glsl';
import upscaleSource from '../../glsl/preprocess_upscale.frag.glsl';
import { centreSquare, sourceSize } from './crop.js';
import {
  bindTexture, createProgram, createTarget, createTexture, drawFullscreen, targetFormats,
  withCleanState,
} from './gl.js';
import { createUpscaler } from './upscale.js';
import { GRID } from './motion.js';

const VERTEX = { file: 'glsl/fullscreen.vert.glsl', source: vertexSource };
const shader = (file, source) => ({ file: `glsl/${file}`, source });
const MAX_TAPS = 128;  // = MAX_TAPS in preprocess_area.frag.glsl

/**
 * Creates the preprocessing on `gl`. `size` is the model's input size S, `transform` is
 * meta.transform. run(element, params) returns:
 *   - default: an R32F S x S texture in [-1, 1] (row 0 = top), for tf.tensor({texture});
 *   - readback: true (wasm, cpu, webgpu): a Float32Array of S*S values. Only the area pass
 *     runs on the GPU; the low_size^2 image is read back (the one readback of that path, a few
 *     hundred bytes) and the mean/bicubic/brightness/contrast run in JS (upscale.js), which on
 *     a software renderer is far cheaper than a 256^2 bicubic pass plus a 256^2 readback.
 * inputPixels() copies the last run's model input into a new Float32Array; motionMap() is the
 * last run's motion map: a GRID x GRID R32F texture, or on the readback path a Float32Array
 * (read back with the low_size^2 image, in the same readPixels: both are drawn into one target).
 * Owns its programs, textures and framebuffers (and the returned texture/array): dispose().
 */
export function createPreprocessor(gl, { size, transform, readback = false }) {
  const formats = targetFormats(gl);
  if (!readback && !formats.float) throw new Error('preprocess: float render targets are missing');
  const lowSize = transform.low_size;
  const vao = gl.createVertexArray();
  const sourceTexture = createTexture(gl, 0, 0, [gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE], gl.LINEAR);
  const area = createProgram(gl, VERTEX, shader('preprocess_area.frag.glsl', areaSource));
  // Shader path: the low image and the motion map each in a target of its own (the upscale pass
  // samples `low` whole); readback path: both in one, low_size^2 to the right of the map.
  const low = createTarget(gl, readback ? GRID + lowSize : lowSize, readback ? Math.max(GRID, lowSize) : lowSize,
    formats.scalar);
  const motion = readback ? low : createTarget(gl, GRID, GRID, formats.scalar);
  const lowOrigin = readback ? GRID : 0;
  let uploadedSize = [0, 0];

  const inShader = readback ? null : {  // the second half in GLSL (WebGL backend)
    mean: createProgram(gl, VERTEX, shader('preprocess_mean.frag.glsl', meanSource)),
    upscale: createProgram(gl, VERTEX, shader('preprocess_upscale.frag.glsl', upscaleSource)),
    meanTarget: createTarget(gl, 2, 1, formats.scalar),  // the low image's mean and levels' gain
    output: createTarget(gl, size, size, formats.scalar),
  };
  const inJS = !readback ? null : {  // the second half in JS, after reading back low_size^2
    upscale: createUpscaler(lowSize, size, transform),
    pixels: formats.float ? new Float32Array(low.width * low.height * 4) : new Uint8Array(low.width * low.height * 4),
    low: new Float32Array(lowSize * lowSize),
    motion: new Float32Array(GRID * GRID),
    last: new Float32Array(size * size),  // the upscaler's array from the last run
  };

  function upload(element) {
    const [width, height] = sourceSize(element);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, sourceTexture);
    if (width !== uploadedSize[0] || height !== uploadedSize[1]) {
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, element);
      uploadedSize = [width, height];
    } else {
      gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, gl.RGBA, gl.UNSIGNED_BYTE, element);
    }
    return [width, height];
  }

  function pass(target, { program, uniforms }, setUniforms, [x, y, width, height] = [0, 0, target.width, target.height]) {
    gl.bindFramebuffer(gl.FRAMEBUFFER, target.framebuffer);
    gl.viewport(x, y, width, height);
    gl.useProgram(program);
    setUniforms(uniforms);
    drawFullscreen(gl, vao);
  }

  /** The frame's crop, area-averaged to side^2 at `origin` (x) in `target`. */
  function areaPass([width, height], mirror, target, side, origin) {
    pass(target, area, (u) => {
      bindTexture(gl, 0, sourceTexture, u.u_source);
      gl.uniform4f(u.u_crop, ...centreSquare(width, height));
      gl.uniform3f(u.u_luma, ...transform.luma);
      gl.uniform1f(u.u_mirror, mirror ? 1 : 0);
      gl.uniform1f(u.u_lowSize, side);
      gl.uniform2f(u.u_origin, origin, 0);
      const footprintPx = Math.min(width, height) / side;
      gl.uniform1i(u.u_taps, Math.min(MAX_TAPS, Math.max(1, Math.ceil(footprintPx))));
    }, [origin, 0, side, side]);
  }

  function upscaleInShader({ brightness, contrast }) {
    const levels = transform.levels;
    pass(inShader.meanTarget, inShader.mean, (u) => {
      bindTexture(gl, 0, low.texture, u.u_low);
      gl.uniform1i(u.u_lowSize, lowSize);
      gl.uniform4f(u.u_levels, levels ? 1 : 0, levels ? levels.sd : 0, ...(levels ? levels.gain : [1, 1]));
    });
    pass(inShader.output, inShader.upscale, (u) => {
      bindTexture(gl, 0, low.texture, u.u_low);
      bindTexture(gl, 1, inShader.meanTarget.texture, u.u_mean);
      gl.uniform1i(u.u_lowSize, lowSize);
      gl.uniform1f(u.u_outSize, size);
      gl.uniform1f(u.u_cubicA, transform.cubic_a);
      gl.uniform1f(u.u_levelMean, levels ? levels.mean : -1);
      gl.uniform1f(u.u_brightness, brightness);
      gl.uniform1f(u.u_contrast, contrast);
    });
    return inShader.output.texture;
  }

  function readBackAndUpscale(params) {
    gl.bindFramebuffer(gl.FRAMEBUFFER, low.framebuffer);
    const type = formats.float ? gl.FLOAT : gl.UNSIGNED_BYTE;
    gl.readPixels(0, 0, low.width, low.height, gl.RGBA, type, inJS.pixels);
    const scale = formats.float ? 1 : 1 / 255;
    const at = (x, y) => inJS.pixels[(y * low.width + x) * 4] * scale;
    for (let y = 0; y < lowSize; y++) for (let x = 0; x < lowSize; x++) inJS.low[y * lowSize + x] = at(lowOrigin + x, y);
    for (let y = 0; y < GRID; y++) for (let x = 0; x < GRID; x++) inJS.motion[y * GRID + x] = at(x, y);
    inJS.last = inJS.upscale(inJS.low, params);
    return inJS.last;
  }

  /** The shader's output texture read back (RGBA float, R holds the value): one readPixels. */
  function readShaderOutput() {
    const rgba = new Float32Array(size * size * 4);
    withCleanState(gl, () => {
      gl.bindFramebuffer(gl.FRAMEBUFFER, inShader.output.framebuffer);
      gl.readPixels(0, 0, size, size, gl.RGBA, gl.FLOAT, rgba);
    });
    const values = new Float32Array(size * size);
    for (let i = 0; i < values.length; i++) values[i] = rgba[i * 4];
    return values;
  }

  return {
    /** Runs the transform on the element's current frame. params: {brightness, contrast, mirror}. */
    run(element, { brightness = 0, contrast = 1, mirror = false } = {}) {
      return withCleanState(gl, () => {
        const frameSize = upload(element);
        areaPass(frameSize, mirror, low, lowSize, lowOrigin);
        areaPass(frameSize, mirror, motion, GRID, 0);
        return readback ? readBackAndUpscale({ brightness, contrast }) : upscaleInShader({ brightness, contrast });
      });
    },
    /**
     * A copy of the last run's model input: S*S values in [-1, 1], row 0 = top. On the WebGL
     * backend this reads the texture back (one readPixels, counted in readbacksPerFrame).
     */
    inputPixels() {
      return readback ? inJS.last.slice() : readShaderOutput();
    },
    motionMap() {
      return readback ? inJS.motion : motion.texture;
    },
    dispose() {
      gl.deleteProgram(area.program);
      low.dispose();
      if (motion !== low) motion.dispose();
      gl.deleteTexture(sourceTexture);
      gl.deleteVertexArray(vao);
      if (inShader) {
        gl.deleteProgram(inShader.mean.program);
        gl.deleteProgram(inShader.upscale.program);
        inShader.meanTarget.dispose();
        inShader.output.dispose();
      }
    },
  };
}
