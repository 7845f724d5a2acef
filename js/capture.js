// Keeping what the visitor made: a PNG of the generated picture at the model's own size, and a
// short WebM clip of the output canvas (MediaRecorder). Both read the canvas right after a frame
// was drawn (runtime.afterNextFrame), when even a WebGL canvas still holds its picture.

/** The canvas as a PNG Blob (called in the task that drew it). */
export function pictureBlob(canvas) {
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('the picture could not be encoded'))), 'image/png');
  });
}

/** A 2D copy of the canvas as it is now (called in the task that drew it). */
export function copyPicture(canvas) {
  const copy = document.createElement('canvas');
  copy.width = canvas.width;
  copy.height = canvas.height;
  copy.getContext('2d').drawImage(canvas, 0, 0);
  return copy;
}

const CLIP_TYPES = ['video/webm;codecs=vp9', 'video/webm;codecs=vp8', 'video/webm'];

/** Why this browser cannot record a clip, or null when it can. */
export function clipUnsupported(canvas) {
  if (typeof MediaRecorder === 'undefined' || !canvas.captureStream) return 'This browser cannot record the picture (no MediaRecorder); use a screen recorder instead.';
  if (!CLIP_TYPES.some((type) => MediaRecorder.isTypeSupported(type))) return 'This browser cannot record WebM video; use a screen recorder instead.';
  return null;
}

/** Records `seconds` of the canvas at up to 30 fps; resolves to a WebM Blob. */
export function recordClip(canvas, seconds) {
  const why = clipUnsupported(canvas);
  if (why) return Promise.reject(new Error(why));
  const mimeType = CLIP_TYPES.find((type) => MediaRecorder.isTypeSupported(type));
  const stream = canvas.captureStream(30);
  const recorder = new MediaRecorder(stream, { mimeType, videoBitsPerSecond: 4_000_000 });
  const parts = [];
  recorder.ondataavailable = (event) => { if (event.data.size) parts.push(event.data); };
  return new Promise((resolve, reject) => {
    recorder.onstop = () => {
      stream.getTracks().forEach((track) => track.stop());
      resolve(new Blob(parts, { type: 'video/webm' }));
    };
    recorder.onerror = (event) => reject(new Error(`recording failed: ${event.error?.message || 'unknown error'}`));
    recorder.start(250);
    setTimeout(() => recorder.state !== 'inactive' && recorder.stop(), seconds * 1000);
  });
}

/** Offers `blob` as a download called `name`. */
export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
