// Small WebGL2 helpers: context creation, shader compilation with file:line errors,
// render targets, and saving/restoring the GL state that tf.js relies on.

const SOFTWARE_RENDERERS = /swiftshader|llvmpipe|softpipe|software|basic render|microsoft basic/i;

/** Creates a WebGL2 context on `canvas` with the attributes both we and tf.js want; null if none. */
export function createContext(canvas) {
  // Creating the context ourselves (before tf.js asks for it) decides its attributes:
  // failIfMajorPerformanceCaveat stays false so a software renderer is reported, not hidden.
  return canvas.getContext('webgl2', {
    alpha: false, antialias: false, depth: false, stencil: false,
    premultipliedAlpha: false, preserveDrawingBuffer: false,
    failIfMajorPerformanceCaveat: false, powerPreference: 'high-performance',
  });
}

/** Describes what WebGL2 this browser has: {webgl2, renderer, software, floatTargets}. */
export function probeWebGL() {
  const canvas = document.createElement('canvas');
  const gl = createContext(canvas);
  if (!gl) return { webgl2: false, renderer: 'none', software: true, floatTargets: false };
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  const floatTargets = gl.getExtension('EXT_color_buffer_float') != null;
  gl.getExtension('WEBGL_lose_context')?.loseContext();  // give the probe context back now
  return { webgl2: true, renderer, software: SOFTWARE_RENDERERS.test(renderer), floatTargets };
}

/** Splices `#define`s in after `#version`, keeping the file's own line numbers (#line). */
function withDefines(source, defines) {
  const names = Object.entries(defines);
  if (names.length === 0) return source;
  const newline = source.indexOf('\n');
  const lines = names.map(([name, value]) => `#define ${name} ${value === true ? '' : value}`);
  return `${source.slice(0, newline + 1)}${lines.join('\n')}\n#line 2\n${source.slice(newline + 1)}`;
}

/** Turns a driver's compile log into "file:line: message  | source line" lines. */
function describeCompileError(file, source, log) {
  const lines = source.split('\n');
  const out = [];
  for (const entry of log.split('\n').map((line) => line.replace(/\0/g, '').trim()).filter(Boolean)) {
    const match = /^(?:ERROR|WARNING):\s*\d+:(\d+):\s*(.*)$/.exec(entry.trim());
    if (!match) { out.push(`${file}: ${entry.trim()}`); continue; }
    const line = Number(match[1]);
    out.push(`${file}:${line}: ${match[2]}  | ${(lines[line - 1] ?? '').trim()}`);
  }
  return out.join('\n');
}

/** `source` is the file's text (error lines refer to it); `defines` are spliced in. */
function compileShader(gl, type, file, source, defines = {}) {
  const shader = gl.createShader(type);
  gl.shaderSource(shader, withDefines(source, defines));
  gl.compileShader(shader);
  if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS) && !gl.isContextLost()) {
    const message = describeCompileError(file, source, gl.getShaderInfoLog(shader) || '');
    gl.deleteShader(shader);
    throw new Error(`shader compile failed: ${message}`);
  }
  return shader;
}

/**
 * Compiles and links a program; the caller owns it (gl.deleteProgram).
 * `vertex`/`fragment` are {file, source}; `defines` selects a variant (never runtime numbers).
 */
export function createProgram(gl, vertex, fragment, defines = {}) {
  const vs = compileShader(gl, gl.VERTEX_SHADER, vertex.file, vertex.source);
  const fs = compileShader(gl, gl.FRAGMENT_SHADER, fragment.file, fragment.source, defines);
  const program = gl.createProgram();
  gl.attachShader(program, vs);
  gl.attachShader(program, fs);
  gl.linkProgram(program);
  gl.deleteShader(vs);
  gl.deleteShader(fs);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS) && !gl.isContextLost()) {
    const log = gl.getProgramInfoLog(program);
    gl.deleteProgram(program);
    throw new Error(`shader link failed (${vertex.file} + ${fragment.file}): ${log}`);
  }
  const uniforms = {};
  const count = gl.getProgramParameter(program, gl.ACTIVE_UNIFORMS) || 0;
  for (let i = 0; i < count; i++) {
    const { name } = gl.getActiveUniform(program, i);
    uniforms[name] = gl.getUniformLocation(program, name);
  }
  return { program, uniforms };
}

/**
 * The texture formats a render target can use on this context, best first:
 * 32-bit float where EXT_color_buffer_float exists, else 8-bit normalized.
 */
export function targetFormats(gl) {
  const float = gl.getExtension('EXT_color_buffer_float') != null;
  return float
    ? { scalar: [gl.R32F, gl.RED, gl.FLOAT], float: true }
    : { scalar: [gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE], float: false };
}

/** A texture with NEAREST sampling and clamp-to-edge; the caller owns it (gl.deleteTexture). */
export function createTexture(gl, width, height, [internalFormat, format, type], filter = gl.NEAREST) {
  const texture = gl.createTexture();
  gl.bindTexture(gl.TEXTURE_2D, texture);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, filter);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, filter);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
  if (width > 0 && height > 0) {
    gl.texImage2D(gl.TEXTURE_2D, 0, internalFormat, width, height, 0, format, type, null);
  }
  return texture;
}

/** A texture plus the framebuffer that renders into it; dispose() frees both. */
export function createTarget(gl, width, height, format) {
  const texture = createTexture(gl, width, height, format);
  const framebuffer = gl.createFramebuffer();
  gl.bindFramebuffer(gl.FRAMEBUFFER, framebuffer);
  gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, texture, 0);
  const status = gl.checkFramebufferStatus(gl.FRAMEBUFFER);
  if (status !== gl.FRAMEBUFFER_COMPLETE && !gl.isContextLost()) {
    throw new Error(`render target ${width}x${height} is incomplete (status 0x${status.toString(16)})`);
  }
  return {
    texture, framebuffer, width, height,
    dispose() { gl.deleteFramebuffer(framebuffer); gl.deleteTexture(texture); },
  };
}

const CAPS = ['SCISSOR_TEST', 'CULL_FACE', 'BLEND', 'DEPTH_TEST', 'STENCIL_TEST', 'DITHER'];
const UNITS = 3;  // texture units our passes bind (0..2)

/**
 * Runs `draw` with a clean GL state and puts back everything it may touch, so tf.js (which
 * shares the context and leaves SCISSOR_TEST, CULL_FACE, its own program/VAO/framebuffer
 * bound) finds the state it left.
 */
export function withCleanState(gl, draw) {
  const saved = {
    caps: CAPS.map((cap) => gl.isEnabled(gl[cap])),
    viewport: gl.getParameter(gl.VIEWPORT),
    scissor: gl.getParameter(gl.SCISSOR_BOX),
    program: gl.getParameter(gl.CURRENT_PROGRAM),
    vao: gl.getParameter(gl.VERTEX_ARRAY_BINDING),
    drawFb: gl.getParameter(gl.DRAW_FRAMEBUFFER_BINDING),
    readFb: gl.getParameter(gl.READ_FRAMEBUFFER_BINDING),
    activeTexture: gl.getParameter(gl.ACTIVE_TEXTURE),
    textures: [],
    flipY: gl.getParameter(gl.UNPACK_FLIP_Y_WEBGL),
    premultiply: gl.getParameter(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL),
    unpackAlign: gl.getParameter(gl.UNPACK_ALIGNMENT),
    packAlign: gl.getParameter(gl.PACK_ALIGNMENT),
    unpackBuffer: gl.getParameter(gl.PIXEL_UNPACK_BUFFER_BINDING),
    packBuffer: gl.getParameter(gl.PIXEL_PACK_BUFFER_BINDING),
  };
  for (let unit = 0; unit < UNITS; unit++) {
    gl.activeTexture(gl.TEXTURE0 + unit);
    saved.textures.push(gl.getParameter(gl.TEXTURE_BINDING_2D));
  }
  for (const cap of CAPS) gl.disable(gl[cap]);
  gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
  gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
  gl.pixelStorei(gl.UNPACK_ALIGNMENT, 4);
  gl.pixelStorei(gl.PACK_ALIGNMENT, 4);
  gl.bindBuffer(gl.PIXEL_UNPACK_BUFFER, null);
  gl.bindBuffer(gl.PIXEL_PACK_BUFFER, null);
  try {
    return draw();
  } finally {
    CAPS.forEach((cap, i) => (saved.caps[i] ? gl.enable(gl[cap]) : gl.disable(gl[cap])));
    gl.viewport(...saved.viewport);
    gl.scissor(...saved.scissor);
    gl.useProgram(saved.program);
    gl.bindVertexArray(saved.vao);
    gl.bindFramebuffer(gl.DRAW_FRAMEBUFFER, saved.drawFb);
    gl.bindFramebuffer(gl.READ_FRAMEBUFFER, saved.readFb);
    saved.textures.forEach((texture, unit) => {
      gl.activeTexture(gl.TEXTURE0 + unit);
      gl.bindTexture(gl.TEXTURE_2D, texture);
    });
    gl.activeTexture(saved.activeTexture);
    gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, saved.flipY);
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, saved.premultiply);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, saved.unpackAlign);
    gl.pixelStorei(gl.PACK_ALIGNMENT, saved.packAlign);
    gl.bindBuffer(gl.PIXEL_UNPACK_BUFFER, saved.unpackBuffer);
    gl.bindBuffer(gl.PIXEL_PACK_BUFFER, saved.packBuffer);
  }
}

/** Binds `texture` to texture unit `unit` and points sampler uniform `location` at it. */
export function bindTexture(gl, unit, texture, location) {
  gl.activeTexture(gl.TEXTURE0 + unit);
  gl.bindTexture(gl.TEXTURE_2D, texture);
  gl.uniform1i(location, unit);
}

/** Draws the fullscreen triangle (fullscreen.vert.glsl) with `vao` (an empty VAO we own). */
export function drawFullscreen(gl, vao) {
  gl.bindVertexArray(vao);
  gl.drawArrays(gl.TRIANGLES, 0, 3);
}

/** True once the GPU has finished the commands before `sync` (a status query, not a readback). */
export function fenceSignalled(gl, sync) {
  return gl.isContextLost() || gl.getSyncParameter(sync, gl.SYNC_STATUS) === gl.SIGNALED;
}

/** Resolves when the GPU has finished everything submitted so far on `gl`, without a readback. */
export function gpuIdle(gl, pollMs = 4) {
  const sync = gl.fenceSync(gl.SYNC_GPU_COMMANDS_COMPLETE, 0);
  gl.flush();
  return new Promise((resolve) => {
    const poll = () => {
      if (!sync || fenceSignalled(gl, sync)) {
        if (sync && !gl.isContextLost()) gl.deleteSync(sync);
        resolve();
      } else {
        setTimeout(poll, pollMs);
      }
    };
    poll();
  });
}
