// Where a source frame is and which part of it the model sees (shared by the WebGL and 2D-canvas
// preprocessing).

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
