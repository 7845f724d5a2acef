// Puts the generated image (and, inset, the model's input) on the page.
// GL display: draws tf.js's output texture with display.frag.glsl on tf.js's own context,
// so the image never leaves the GPU. Canvas display: for the readback backends
// (wasm, cpu, webgpu), from typed arrays.

import vertexSource from '../../glsl/fullscreen.vert.glsl';
import displaySource from '../../glsl/display.frag.glsl';
import { bindTexture, createProgram, drawFullscreen, withCleanState } from './gl.js';

const VERTEX = { file: 'glsl/fullscreen.vert.glsl', source: vertexSource };
const FRAGMENT = { file: 'glsl/display.frag.glsl', source: displaySource };
const INSET = 0.25;  // the model-input inset covers a quarter of the width, top-left

/** Draws on the default framebuffer of `gl`'s canvas; owns two programs and a VAO. */
export function createGLDisplay(gl) {
  const rgb = createProgram(gl, VERTEX, FRAGMENT, { DENSE_RGB: true });
  const gray = createProgram(gl, VERTEX, FRAGMENT);
  const vao = gl.createVertexArray();

  function draw({ program, uniforms }, texture, imageSize, texShape, viewport) {
    gl.viewport(...viewport);
    gl.useProgram(program);
    bindTexture(gl, 0, texture, uniforms.u_image);
    gl.uniform2i(uniforms.u_imageSize, imageSize, imageSize);
    if (uniforms.u_texShape) gl.uniform2i(uniforms.u_texShape, texShape[1], texShape[0]);
    gl.uniform4f(uniforms.u_viewport, ...viewport);
    drawFullscreen(gl, vao);
  }

  return {
    /**
     * output: {texture, texShape: [rows, cols]} from tensor.dataToGPU() of a [1, S, S, 3]
     * tensor (borrowed: the caller disposes its tensorRef after this returns).
     * input: our preprocessed S x S texture, or null for no inset.
     */
    draw(output, size, input) {
      const canvas = gl.canvas;
      if (canvas.width !== size || canvas.height !== size) canvas.width = canvas.height = size;
      withCleanState(gl, () => {
        gl.bindFramebuffer(gl.FRAMEBUFFER, null);
        draw(rgb, output.texture, size, output.texShape, [0, 0, size, size]);
        if (input) {
          const inset = Math.round(size * INSET);
          draw(gray, input, size, [size, size], [0, size - inset, inset, inset]);
        }
      });
    },
    dispose() {
      gl.deleteProgram(rgb.program);
      gl.deleteProgram(gray.program);
      gl.deleteVertexArray(vao);
    },
  };
}

/** Draws typed arrays on a 2D canvas (readback backends); owns a scratch canvas for the inset. */
export function createCanvasDisplay(canvas) {
  const ctx = canvas.getContext('2d');
  const scratch = document.createElement('canvas');
  const scratchCtx = scratch.getContext('2d');
  let image = null;
  let inputImage = null;

  return {
    /** output: Float32Array of S*S*3 in [-1, 1]; input: Float32Array of S*S in [-1, 1] or null. */
    draw(output, size, input) {
      if (canvas.width !== size || canvas.height !== size || !image) {
        canvas.width = canvas.height = scratch.width = scratch.height = size;
        image = ctx.createImageData(size, size);
        inputImage = scratchCtx.createImageData(size, size);
      }
      const px = image.data;
      for (let i = 0, j = 0; i < output.length; i += 3, j += 4) {
        px[j] = (output[i] + 1) * 127.5;
        px[j + 1] = (output[i + 1] + 1) * 127.5;
        px[j + 2] = (output[i + 2] + 1) * 127.5;
        px[j + 3] = 255;
      }
      ctx.putImageData(image, 0, 0);
      if (input) {
        const q = inputImage.data;
        for (let i = 0, j = 0; i < input.length; i++, j += 4) {
          q[j] = q[j + 1] = q[j + 2] = (input[i] + 1) * 127.5;
          q[j + 3] = 255;
        }
        scratchCtx.putImageData(inputImage, 0, 0);
        const inset = Math.round(size * INSET);
        ctx.drawImage(scratch, 0, 0, inset, inset);
      }
    },
    dispose() {
      scratch.width = scratch.height = 0;
    },
  };
}
