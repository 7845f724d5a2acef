#version 300 es
// Pass 2: mean of the low-resolution image, into a 1x1 target. The contrast control pivots
// around this mean, as in training (x - mean) * c + mean.
precision highp float;

uniform sampler2D u_low;  // low_size x low_size, luma in R
uniform int u_lowSize;

out vec4 outColor;

void main() {
  float sum = 0.0;
  for (int y = 0; y < u_lowSize; ++y) {
    for (int x = 0; x < u_lowSize; ++x) {
      sum += texelFetch(u_low, ivec2(x, y), 0).r;
    }
  }
  outColor = vec4(sum / float(u_lowSize * u_lowSize), 0.0, 0.0, 1.0);
}
