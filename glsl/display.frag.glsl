#version 300 es
// Draws an image texture into the current viewport, top row of the image at the top.
// Variant DENSE_RGB: the generator's output as tf.js hands it over from dataToGPU(): a
//   [1, S, S, 3] tensor densely packed, 4 consecutive values per RGBA texel, row-major, in
//   [-1, 1]. Texel (col, row) holds flat values 4 * (row * texShape.x + col) + 0..3.
// Otherwise: a single-channel [-1, 1] image in R (the preprocessed model input).
precision highp float;
precision highp int;

uniform sampler2D u_image;
uniform ivec2 u_imageSize;  // (width, height) of the logical image
uniform ivec2 u_texShape;   // (width, height) of the texture in texels
uniform vec4 u_viewport;    // (x, y, width, height) of the target viewport in pixels

out vec4 outColor;

#ifdef DENSE_RGB
float flatValue(int index) {
  int texel = index / 4;
  vec4 v = texelFetch(u_image, ivec2(texel % u_texShape.x, texel / u_texShape.x), 0);
  return v[index % 4];
}
#endif

void main() {
  vec2 p = (gl_FragCoord.xy - u_viewport.xy) / u_viewport.zw;  // 0..1, bottom-up
  ivec2 size = u_imageSize;
  ivec2 pixel = clamp(ivec2(p.x * float(size.x), (1.0 - p.y) * float(size.y)), ivec2(0), size - 1);
#ifdef DENSE_RGB
  int index = (pixel.y * size.x + pixel.x) * 3;
  vec3 rgb = vec3(flatValue(index), flatValue(index + 1), flatValue(index + 2));
#else
  vec3 rgb = vec3(texelFetch(u_image, pixel, 0).r);
#endif
  outColor = vec4(clamp(rgb * 0.5 + 0.5, 0.0, 1.0), 1.0);
}
