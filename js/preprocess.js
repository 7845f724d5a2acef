// The training input transform on the GPU, as three passes (one shader file each):
//   source (video/canvas/image) -> low_size^2 luma (area) -> 1x1 mean -> S^2 bicubic,
//   brightness, contrast, clip, [-1, 1].
// All numbers come from meta.transform / meta.input and the visitor's controls, as uniforms.

import vertexSource from '../glsl/fullscreen.vert.glsl';
import areaSource from '../glsl/preprocess_area.frag.glsl';
import meanSource from '../glsl/preprocess_mean.frag.glsl';
import upscaleSource from '../glsl/preprocess_upscale.frag.glsl';
import {
  bindTexture, createProgram, createTarget, createTexture, drawFullscreen, targetFormats,
  withCleanState,
} from './gl.js';

const VERTEX = { file: 'glsl/fullscreen.vert.glsl', source: vertexSource };

/** The pixel size of a video, canvas or image element (0 x 0 until it has a frame). */
export function sourceSize(element) {
  if (element instanceof HTMLVideoElement) return [element.videoWidth, element.videoHeight];
  if (element instanceof HTMLImageElement) return [element.naturalWidth, element.naturalHeight];
  return [element.width, element.height];
}

/** The centre square of a width x height frame, as (x0, y0, w, h) in texture coordinates. */
export function centreSquare(width, height) {
  const side = Math.min(width, height);
  return [(width - side) / 2 / width, (height - side) / 2 / height, side / width, side / height];
}

/**
 * Creates the preprocessing passes on `gl`. `size` is the model's input size S, `transform`
 * is meta.transform. With `pack16` (CPU backends) the S x S result is an RGBA8 image holding
 * 16-bit values, read back by readInto(); otherwise it is an R32F texture in [-1, 1] for
 * tf.tensor({texture}). Owns its programs, textures and framebuffers: dispose() frees them.
 */
export function createPreprocessor(gl, { size, transform, pack16 = false }) {
  const formats = targetFormats(gl);
  if (!pack16 && !formats.float) throw new Error('preprocess: float render targets are missing');
  const lowSize = transform.low_size;
  const area = createProgram(gl, VERTEX, { file: 'glsl/preprocess_area.frag.glsl', source: areaSource });
  const mean = createProgram(gl, VERTEX, { file: 'glsl/preprocess_mean.frag.glsl', source: meanSource });
  const upscale = createProgram(gl, VERTEX,
    { file: 'glsl/preprocess_upscale.frag.glsl', source: upscaleSource }, pack16 ? { PACK16: true } : {});
  const sourceTexture = createTexture(gl, 0, 0, [gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE], gl.LINEAR);
  const low = createTarget(gl, lowSize, lowSize, formats.scalar);
  const meanTarget = createTarget(gl, 1, 1, formats.scalar);
  const output = createTarget(gl, size, size,
    pack16 ? [gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE] : formats.scalar);
  const vao = gl.createVertexArray();
  const packed = pack16 ? new Uint8Array(size * size * 4) : null;
  let uploadedSize = [0, 0];

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

  function pass(target, { program, uniforms }, setUniforms) {
    gl.bindFramebuffer(gl.FRAMEBUFFER, target.framebuffer);
    gl.viewport(0, 0, target.width, target.height);
    gl.useProgram(program);
    setUniforms(uniforms);
    drawFullscreen(gl, vao);
  }

  return {
    size,
    /** The result of the last run(): R32F in [-1, 1] (or packed RGBA8); owned by this object. */
    texture: output.texture,
    lowTexture: low.texture,

    /** Runs the three passes on the element's current frame. params: {brightness, contrast, mirror}. */
    run(element, { brightness = 0, contrast = 1, mirror = false } = {}) {
      withCleanState(gl, () => {
        const [width, height] = upload(element);
        pass(low, area, (u) => {
          bindTexture(gl, 0, sourceTexture, u.u_source);
          gl.uniform4f(u.u_crop, ...centreSquare(width, height));
          gl.uniform3f(u.u_luma, ...transform.luma);
          gl.uniform1f(u.u_mirror, mirror ? 1 : 0);
          gl.uniform1f(u.u_lowSize, lowSize);
        });
        pass(meanTarget, mean, (u) => {
          bindTexture(gl, 0, low.texture, u.u_low);
          gl.uniform1i(u.u_lowSize, lowSize);
        });
        pass(output, upscale, (u) => {
          bindTexture(gl, 0, low.texture, u.u_low);
          bindTexture(gl, 1, meanTarget.texture, u.u_mean);
          gl.uniform1i(u.u_lowSize, lowSize);
          gl.uniform1f(u.u_outSize, size);
          gl.uniform1f(u.u_cubicA, transform.cubic_a);
          gl.uniform1f(u.u_brightness, brightness);
          gl.uniform1f(u.u_contrast, contrast);
        });
      });
      return output.texture;
    },

    /**
     * PACK16 only: reads the last result back (the one unavoidable readback of the CPU path)
     * into `dst`, a Float32Array of S*S values in [-1, 1], row 0 = top of the image.
     */
    readInto(dst) {
      withCleanState(gl, () => {
        gl.bindFramebuffer(gl.FRAMEBUFFER, output.framebuffer);
        gl.readPixels(0, 0, size, size, gl.RGBA, gl.UNSIGNED_BYTE, packed);
      });
      for (let i = 0, j = 0; i < dst.length; i++, j += 4) {
        dst[i] = ((packed[j] * 256 + packed[j + 1]) / 65535) * 2 - 1;
      }
      return dst;
    },

    dispose() {
      for (const p of [area, mean, upscale]) gl.deleteProgram(p.program);
      for (const t of [low, meanTarget, output]) t.dispose();
      gl.deleteTexture(sourceTexture);
      gl.deleteVertexArray(vao);
    },
  };
}
