// The visitor's camera: openCamera() -> {video, stop()}, plus the list of cameras to choose
// from. Failures become CameraError with a reason ('insecure', 'unsupported', 'denied',
// 'absent', 'busy') and a message a visitor can act on.

export class CameraError extends Error {
  constructor(reason, message) {
    super(message);
    this.name = 'CameraError';
    this.reason = reason;
  }
}

function describe(error) {
  switch (error && error.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return new CameraError('denied',
        'Camera access was refused. To use it, allow the camera for this site (the icon in the address bar) and choose Camera again.');
    case 'NotFoundError':
    case 'OverconstrainedError':
      return new CameraError('absent', 'No camera was found on this device.');
    case 'NotReadableError':
    case 'AbortError':
      return new CameraError('busy',
        'The camera could not be started; another app may be using it. Close it and choose Camera again.');
    default:
      return new CameraError('busy', `The camera could not be started (${error && (error.message || error.name)}).`);
  }
}

function checkAvailable() {
  if (!window.isSecureContext) {
    throw new CameraError('insecure',
      'Browsers only share a camera with secure pages: open this page over https:// (or on localhost).');
  }
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new CameraError('unsupported', 'This browser cannot share a camera with web pages.');
  }
}

/** Resolves once the video has a frame to show, or rejects on error / after timeoutMs. */
function firstFrame(video, timeoutMs = 10000) {
  if (video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new CameraError('busy', 'The camera started but sent no picture.')), timeoutMs);
    video.addEventListener('loadeddata', () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

/**
 * Opens a camera: `deviceId` picks one from listCameras(); otherwise `facingMode` ('user' is
 * the selfie camera, 'environment' the rear one on phones). Returns
 * {video, deviceId, facingMode, label, stop()}; stop() ends every track of the stream.
 */
export async function openCamera({ deviceId = null, facingMode = 'user' } = {}) {
  checkAvailable();
  const video = { width: { ideal: 640 }, height: { ideal: 480 } };
  if (deviceId) video.deviceId = { exact: deviceId };
  else video.facingMode = { ideal: facingMode };
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: false, video });
  } catch (error) {
    throw describe(error);
  }
  const stop = () => stream.getTracks().forEach((track) => track.stop());
  const element = document.createElement('video');
  element.muted = true;
  element.playsInline = true;
  element.setAttribute('playsinline', '');
  element.srcObject = stream;
  try {
    await element.play();
    await firstFrame(element);
  } catch (error) {
    stop();
    throw error instanceof CameraError ? error : describe(error);
  }
  const track = stream.getVideoTracks()[0];
  const settings = track.getSettings ? track.getSettings() : {};
  return {
    video: element,
    track,
    deviceId: settings.deviceId || deviceId,
    facingMode: settings.facingMode || null,
    label: track.label,
    stop() {
      stop();
      element.srcObject = null;
    },
  };
}

/** The video inputs, [{deviceId, label}]; labels are only known once permission was given. */
export async function listCameras() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return [];
  const devices = await navigator.mediaDevices.enumerateDevices();
  return devices
    .filter((device) => device.kind === 'videoinput')
    .map((device, i) => ({ deviceId: device.deviceId, label: device.label || `Camera ${i + 1}` }));
}
