#version 300 es
// Pass 1: source image -> low_size x low_size luma, the training transform's area downscale.
// Centre square crop, grayscale with the model's luma weights, then each output texel is the
// mean over its whole footprint, from a u_taps x u_taps grid of bilinear samples, about one
// per source pixel (JS sets u_taps = ceil(footprint in pixels)): within 3e-4 of an exact
// box-overlap average for a 640x480 frame.
// Row 0 of the render target (gl_FragCoord.y = 0.5) is the TOP row of the image: the same
// order tf.js reads a texture into a tensor, so no flip is needed anywhere downstream.
// The same pass, at GRID x GRID, makes the motion map (js/frame/motion.js); u_origin is where
// in the render target this pass's viewport begins (the readback path draws both into one).
precision highp float;

#define MAX_TAPS 128  // loop bound: a 1440p frame's footprint at low_size 11

uniform sampler2D u_source;   // RGBA8, uploaded with row 0 = top of the frame, LINEAR, clamp
uniform vec4 u_crop;          // (x0, y0, width, height) of the square crop, in source UV
uniform vec3 u_luma;          // meta.transform.luma
uniform float u_mirror;       // 1.0 mirrors left-right (selfie view), 0.0 leaves it
uniform float u_lowSize;      // meta.transform.low_size
uniform int u_taps;           // samples per side of a footprint, 1..MAX_TAPS
uniform vec2 u_origin;        // the viewport's lower-left corner in the render target, px

out vec4 outColor;

void main() {
  vec2 cell = floor(gl_FragCoord.xy - u_origin);  // (column, row-from-top) of this low-res texel
  float sum = 0.0;
  float taps = float(u_taps);
  for (int j = 0; j < MAX_TAPS; ++j) {
    if (j >= u_taps) break;
    for (int i = 0; i < MAX_TAPS; ++i) {
      if (i >= u_taps) break;
      vec2 sub = (vec2(float(i), float(j)) + 0.5) / taps;
      vec2 p = (cell + sub) / u_lowSize;          // position inside the crop, 0..1
      p.x = mix(p.x, 1.0 - p.x, u_mirror);
      vec3 rgb = texture(u_source, u_crop.xy + p * u_crop.zw).rgb;
      sum += dot(rgb, u_luma);
    }
  }
  outColor = vec4(sum / (taps * taps), 0.0, 0.0, 1.0);
}
