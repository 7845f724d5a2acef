#version 300 es
// One triangle that covers the viewport; no vertex buffers (positions come from gl_VertexID).
// Counter-clockwise, so it survives the CULL_FACE(BACK) that tf.js leaves enabled.
// v_uv runs 0..1 left to right and bottom to top of the render target.

out vec2 v_uv;

void main() {
  vec2 corner = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));  // (0,0) (2,0) (0,2)
  v_uv = corner;
  gl_Position = vec4(corner * 2.0 - 1.0, 0.0, 1.0);
}
