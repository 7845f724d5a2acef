// Frame sources: the camera, a built-in animated demo, or a visitor's image/video file.
// Each is {kind, label, element, mirror, nextFrame(now) -> bool, stop()}: `element` is what
// the page shows and the preprocessor reads; nextFrame() says whether it holds a frame not
// yet processed (the loop skips the frame otherwise); stop() releases what it holds.

import { openCamera } from './camera.js';

/** The visitor's camera; mirrored when it faces them. */
export async function cameraSource(options = {}) {
  const camera = await openCamera(options);
  const { video } = camera;
  let lastTime = -1;
  return {
    kind: 'camera',
    label: camera.label || 'camera',
    deviceId: camera.deviceId,
    element: video,
    mirror: camera.facingMode !== 'environment',
    track: camera.track,
    nextFrame() {
      if (video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA || video.currentTime === lastTime) return false;
      lastTime = video.currentTime;
      return true;
    },
    stop: () => camera.stop(),
  };
}

const DEMO_FPS = 30;

/** Draws one frame of the demo: soft shapes drifting over a dim desk, like objects under a camera. */
function drawDemo(ctx, width, height, t) {
  const bg = ctx.createLinearGradient(0, 0, width, height);
  bg.addColorStop(0, '#2a2a2e');
  bg.addColorStop(1, '#0c0c10');
  ctx.fillStyle = bg;
  ctx.fillRect(0, 0, width, height);
  const blobs = [
    [0.5, 0.5, 0.22, 0.31, 0.23, '#f2efe6'],
    [0.3, 0.35, 0.12, 0.53, 0.41, '#b8b2a8'],
    [0.7, 0.65, 0.16, 0.37, 0.29, '#ddd8cc'],
    [0.45, 0.75, 0.09, 0.71, 0.61, '#8d877f'],
  ];
  for (const [cx, cy, r, fx, fy, colour] of blobs) {
    const x = (cx + 0.25 * Math.sin(t * fx + r * 10)) * width;
    const y = (cy + 0.2 * Math.cos(t * fy + cx * 7)) * height;
    const radius = r * height * (1 + 0.25 * Math.sin(t * (fx + fy)));
    const glow = ctx.createRadialGradient(x, y, radius * 0.1, x, y, radius);
    glow.addColorStop(0, colour);
    glow.addColorStop(1, 'rgba(0,0,0,0)');
    ctx.fillStyle = glow;
    ctx.beginPath();
    ctx.arc(x, y, radius, 0, Math.PI * 2);
    ctx.fill();
  }
  // A slow sweeping bar, like a cable or a hand crossing the table.
  ctx.save();
  ctx.translate(width / 2, height / 2);
  ctx.rotate(t * 0.2);
  ctx.fillStyle = 'rgba(230, 226, 218, 0.55)';
  ctx.fillRect(-width, -height * 0.03, width * 2, height * 0.06);
  ctx.restore();
}

/** The built-in animated source; needs no permission and no file. */
export function demoSource() {
  const canvas = document.createElement('canvas');
  canvas.width = 320;
  canvas.height = 240;
  const ctx = canvas.getContext('2d');
  const start = performance.now();
  let last = -Infinity;
  return {
    kind: 'demo',
    label: 'animated demo',
    element: canvas,
    mirror: false,
    nextFrame(now = performance.now()) {
      if (now - last < 1000 / DEMO_FPS) return false;
      last = now;
      drawDemo(ctx, canvas.width, canvas.height, (now - start) / 1000);
      return true;
    },
    stop() {},
  };
}

/** A visitor's image or video file (shown and processed locally; nothing is uploaded). */
export async function fileSource(file) {
  const url = URL.createObjectURL(file);
  const isVideo = file.type.startsWith('video/');
  let element;
  try {
    if (isVideo) {
      element = document.createElement('video');
      element.muted = true;
      element.loop = true;
      element.playsInline = true;
      element.src = url;
      await element.play();
    } else {
      element = new Image();
      element.src = url;
      await element.decode();
    }
  } catch {
    URL.revokeObjectURL(url);
    throw new Error(`${file.name || 'the file'} could not be opened as an image or a video this browser plays`);
  }
  let lastTime = -1;
  let shown = false;
  return {
    kind: isVideo ? 'video' : 'image',
    label: file.name || 'your file',
    element,
    mirror: false,
    nextFrame() {
      if (!isVideo) {
        if (shown) return false;
        shown = true;
        return true;
      }
      if (element.readyState < HTMLMediaElement.HAVE_CURRENT_DATA || element.currentTime === lastTime) return false;
      lastTime = element.currentTime;
      return true;
    },
    stop() {
      if (isVideo) element.pause();
      URL.revokeObjectURL(url);
    },
  };
}
