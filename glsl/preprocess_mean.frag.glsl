#version 300 es
// Pass 2: the low-resolution image's levels, into a 2x1 target: x = 0 its mean, x = 1 the gain
// of the input levels, sd / s within [gainMin, gainMax] (s: its own standard deviation), or 1
// for a model trained without levels. As training's relevel (builder/training/transform.py);
// the contrast control then pivots around the levelled mean, as in training.
precision highp float;

uniform sampler2D u_low;   // low_size x low_size, luma in R
uniform int u_lowSize;
uniform vec4 u_levels;     // (on 0/1, sd, gainMin, gainMax): meta.transform.levels

out vec4 outColor;

void main() {
  float sum = 0.0;
  float squares = 0.0;
  for (int y = 0; y < u_lowSize; ++y) {
    for (int x = 0; x < u_lowSize; ++x) {
      float v = texelFetch(u_low, ivec2(x, y), 0).r;
      sum += v;
      squares += v * v;
    }
  }
  float n = float(u_lowSize * u_lowSize);
  float mean = sum / n;
  float sd = sqrt(max(squares / n - mean * mean, 0.0));
  float gain = u_levels.x > 0.5 ? clamp(u_levels.y / max(sd, 1e-6), u_levels.z, u_levels.w) : 1.0;
  outColor = vec4(gl_FragCoord.x < 1.0 ? mean : gain, 0.0, 0.0, 1.0);
}
