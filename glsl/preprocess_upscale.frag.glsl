#version 300 es
// Pass 3: bicubic upscale low_size -> size (Keys kernel, half-pixel centres, clamp-to-edge),
// the input levels (x - mean) * gain + levels' mean (linear, so the same before or after the
// upscale), then brightness and contrast around that mean, clip to [0, 1], map to [-1, 1].
// js/frame/upscale.js (createUpscaler) is the same computation for the readback backends.
precision highp float;

uniform sampler2D u_low;     // low_size x low_size, luma in R, row 0 = top
uniform sampler2D u_mean;    // 2x1: R at x = 0 the low-res mean, at x = 1 the levels' gain
uniform float u_levelMean;   // meta.transform.levels.mean, or < 0 for a model without levels
uniform int u_lowSize;
uniform float u_outSize;     // model input size S
uniform float u_cubicA;      // meta.transform.cubic_a (-0.5)
uniform float u_brightness;  // delta added to every pixel (visitor control, default 0)
uniform float u_contrast;    // factor around the mean (visitor control, default 1)

out vec4 outColor;

// Keys cubic convolution weights for the 4 taps at offsets -1, 0, 1, 2 from floor(x).
vec4 keysWeights(float t, float a) {
  vec4 d = abs(vec4(t + 1.0, t, 1.0 - t, 2.0 - t));
  vec4 near = ((a + 2.0) * d - (a + 3.0)) * d * d + 1.0;         // |d| <= 1
  vec4 far = ((a * d - 5.0 * a) * d + 8.0 * a) * d - 4.0 * a;     // 1 < |d| < 2
  return mix(near, far, step(1.0, d));
}

float lowAt(int x, int y) {
  int last = u_lowSize - 1;
  return texelFetch(u_low, ivec2(clamp(x, 0, last), clamp(y, 0, last)), 0).r;
}

void main() {
  float scale = float(u_lowSize) / u_outSize;
  vec2 src = floor(gl_FragCoord.xy) * scale + 0.5 * scale - 0.5;  // half-pixel centres
  vec2 base = floor(src);
  vec2 t = src - base;
  vec4 wx = keysWeights(t.x, u_cubicA);
  vec4 wy = keysWeights(t.y, u_cubicA);
  ivec2 b = ivec2(base);
  float value = 0.0;
  for (int j = 0; j < 4; ++j) {
    vec4 row = vec4(lowAt(b.x - 1, b.y - 1 + j), lowAt(b.x, b.y - 1 + j),
                    lowAt(b.x + 1, b.y - 1 + j), lowAt(b.x + 2, b.y - 1 + j));
    value += wy[j] * dot(wx, row);
  }
  float mean = texelFetch(u_mean, ivec2(0, 0), 0).r;
  float gain = texelFetch(u_mean, ivec2(1, 0), 0).r;
  float centre = u_levelMean < 0.0 ? mean : u_levelMean;
  value = (value - mean) * gain + centre;
  value = clamp((value - centre) * u_contrast + centre + u_brightness, 0.0, 1.0);
  outColor = vec4(value * 2.0 - 1.0, 0.0, 0.0, 1.0);
}
