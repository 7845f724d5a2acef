// Where a source frame is and which part of it the model sees (shared by the WebGL and 2D-canvas
// preprocessing).

/** The pixel size of a video, image, canvas or ImageBitmap (0 x 0 until it has a frame). */
export function sourceSize(element) {
  if (element.videoWidth !== undefined) return [element.videoWidth, element.videoHeight];  // <video>
  if (element.naturalWidth !== undefined) return [element.naturalWidth, element.naturalHeight];  // <img>
  return [element.width, element.height];  // a canvas or an ImageBitmap (also inside a worker)
}

/** The centre square of a width x height frame, as (x0, y0, w, h) in texture coordinates. */
export function centreSquare(width, height) {
  const side = Math.min(width, height);
  return [(width - side) / 2 / width, (height - side) / 2 / height, side / width, side / height];
}
