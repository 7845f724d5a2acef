// The page's controls and messages. Reads the elements templates/index.html renders, turns
// visitor input into callbacks, and shows state; holds no pipeline logic.

const $ = (id) => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`templates/index.html: element #${id} is missing`);
  return element;
};

/** One choice of the model picker, as the template writes it, for a model without a picture. */
function modelChoice(name, title) {
  const label = document.createElement('label');
  label.className = 'model-choice';
  const radio = Object.assign(document.createElement('input'), { type: 'radio', name: 'model', value: name });
  const blank = Object.assign(document.createElement('span'), { className: 'no-thumb' });
  blank.setAttribute('aria-hidden', 'true');
  const text = Object.assign(document.createElement('span'), { className: 'model-title', textContent: title });
  label.append(radio, blank, text);
  return label;
}

function formatBytes(bytes) {
  if (bytes == null) return '–';
  return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : `${(bytes / 1024).toFixed(1)} KB`;
}

function formatStats(s) {
  const ms = (v) => (v == null ? '–' : `${v.toFixed(1)} ms`);
  return [
    `state      ${s.state}${s.loadingModel ? ` (loading ${s.loadingModel})` : ''}`,
    `backend    ${s.backend}`,
    `model      ${s.model}`,
    `source     ${s.source}`,
    `fps        ${s.fps}`,
    `frames     ${s.frames}`,
    `preprocess ${ms(s.stageMs.preprocess)}`,
    `inference  ${ms(s.stageMs.inference)}`,
    `display    ${ms(s.stageMs.display)}`,
    `gpu frame  ${ms(s.gpuMs)}`,
    `readbacks  ${s.readbacksPerFrame} / frame`,
    `tensors    ${s.numTensors}`,
    `memory     ${formatBytes(s.numBytes)}`,
  ].join('\n');
}

/**
 * handlers: {model(name), source(kind), sourceFile(file), camera(deviceId), switchCamera(),
 * modelFiles(files), params(), snapshot(), record(), installation()}.
 */
export function createUI(handlers) {
  const el = {
    sourceView: $('source-view'), outputView: $('output-view'), sourceCaption: $('source-caption'),
    overlay: $('overlay'), overlayText: $('overlay-text'), progress: $('model-progress'),
    loadProgress: $('load-progress'),
    status: $('status'), error: $('error'), modelPicker: $('model-picker'),
    cameraChoice: $('camera-choice'), cameraSelect: $('camera-select'), sourceFile: $('source-file'),
    brightness: $('brightness'), contrast: $('contrast'), smoothing: $('smoothing'),
    showInput: $('show-input'), mirror: $('mirror'), modelFiles: $('model-files'),
    statsToggle: $('stats-toggle'), stats: $('stats'), controls: $('controls'),
    cameraSwitch: $('camera-switch'), snapshot: $('snapshot'), record: $('record'),
    installationToggle: $('installation-toggle'),
  };
  const sourceButtons = Array.from(el.controls.querySelectorAll('[data-source]'));
  const modelRadios = () => Array.from(el.modelPicker.querySelectorAll('input[name="model"]'));
  const modelRadio = (name) => modelRadios().find((radio) => radio.value === name);
  const checkModel = (name) => { for (const radio of modelRadios()) radio.checked = radio.value === name; };
  let statsTimer = 0;
  let statsSource = () => null;

  const outputFor = (input) => document.querySelector(`output[for="${input.id}"]`);
  function showValue(input) {
    const out = outputFor(input);
    if (out) out.value = Number(input.value).toFixed(2);
  }

  el.controls.addEventListener('submit', (event) => event.preventDefault());
  el.modelPicker.addEventListener('change', (event) => handlers.model(event.target.value));
  for (const button of sourceButtons) {
    button.addEventListener('click', () => handlers.source(button.dataset.source));
  }
  el.sourceFile.addEventListener('change', () => {
    if (el.sourceFile.files.length) handlers.sourceFile(el.sourceFile.files[0]);
    el.sourceFile.value = '';
  });
  el.cameraSelect.addEventListener('change', () => handlers.camera(el.cameraSelect.value));
  el.cameraSwitch.addEventListener('click', () => handlers.switchCamera());
  el.snapshot.addEventListener('click', () => handlers.snapshot());
  el.record.addEventListener('click', () => handlers.record());
  el.installationToggle.addEventListener('click', () => handlers.installation());
  el.modelFiles.addEventListener('change', () => {
    if (el.modelFiles.files.length) handlers.modelFiles(Array.from(el.modelFiles.files));
    el.modelFiles.value = '';
  });
  for (const input of [el.brightness, el.contrast, el.smoothing]) {
    input.addEventListener('input', () => { showValue(input); handlers.params(); });
    showValue(input);
  }
  for (const input of [el.showInput, el.mirror]) input.addEventListener('change', () => handlers.params());

  function setStatsVisible(visible) {
    el.stats.hidden = !visible;
    el.statsToggle.setAttribute('aria-pressed', String(visible));
    el.statsToggle.textContent = visible ? 'Hide stats' : 'Show stats';
    clearInterval(statsTimer);
    if (visible) {
      const update = () => {
        const snapshot = statsSource();
        if (snapshot) el.stats.textContent = formatStats(snapshot);
      };
      update();
      statsTimer = setInterval(update, 250);
    }
  }
  el.statsToggle.addEventListener('click', () => setStatsVisible(el.stats.hidden));
  document.addEventListener('keydown', (event) => {
    const typing = event.target.closest && event.target.closest('input, select, textarea');
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === 's' || event.key === 'S') setStatsVisible(el.stats.hidden);
  });

  function mount(view, element) {
    for (const child of Array.from(view.children)) {
      if (child.classList.contains('media')) child.remove();
    }
    element.classList.add('media');
    view.prepend(element);
  }

  return {
    /** The visitor's settings for the pipeline. */
    params() {
      return {
        brightness: Number(el.brightness.value),
        contrast: Number(el.contrast.value),
        smoothing: Number(el.smoothing.value),
        showInput: el.showInput.checked,
        mirror: el.mirror.checked,
      };
    },
    setStatsSource(fn) { statsSource = fn; },
    setStatus(text) { el.status.textContent = text; },
    /** The download bar beside the status line (model switches); null hides it. */
    setProgress(fraction) {
      el.loadProgress.hidden = fraction == null;
      if (fraction != null) el.loadProgress.value = fraction;
    },
    setError(text) {
      el.error.hidden = !text;
      el.error.textContent = text || '';
    },
    /** The loading / warming-up cover over the output; progress is 0..1, or null for none. */
    setOverlay(text, progress = null) {
      el.overlay.hidden = !text;
      el.outputView.setAttribute('aria-busy', String(Boolean(text)));
      el.overlayText.textContent = text || '';
      el.progress.hidden = progress == null;
      if (progress != null) el.progress.value = progress;
    },
    mountOutput(canvas, backend) {
      canvas.setAttribute('role', 'img');
      canvas.setAttribute('aria-label', 'The generated image');
      mount(el.outputView, canvas);
      el.outputView.dataset.backend = backend;
    },
    mountSource(source) {
      source.element.setAttribute('aria-label', `Input: ${source.label}`);
      mount(el.sourceView, source.element);
      el.sourceCaption.textContent = source.kind === 'camera' ? 'What the camera sees'
        : source.kind === 'demo' ? 'The demo animation (no camera)' : `Your file: ${source.label}`;
      for (const button of sourceButtons) {
        button.setAttribute('aria-pressed', String(button.dataset.source === source.kind));
      }
      el.mirror.checked = source.mirror;
      el.sourceView.classList.toggle('mirrored', source.mirror);
    },
    /** Mirrors the source view to match the pipeline (the output follows the input). */
    setMirrored(mirrored) { el.sourceView.classList.toggle('mirrored', mirrored); },
    setCameras(cameras, currentId) {
      el.cameraChoice.hidden = cameras.length < 2;
      el.cameraSelect.replaceChildren(...cameras.map(({ deviceId, label }) => {
        const option = new Option(label, deviceId, false, deviceId === currentId);
        return option;
      }));
    },
    setModel(name) { checkModel(name); },
    /** The clip button while a clip records (pressed, and saying so). */
    setRecording(recording) {
      el.record.setAttribute('aria-pressed', String(recording));
      el.record.textContent = recording ? 'Recording…' : 'Record a clip';
    },
    /** Lays `picture` (a canvas) over the output, then fades it out once fadeOut() is called. */
    showFade(picture) {
      el.outputView.querySelector('.fade')?.remove();
      picture.classList.add('fade');
      picture.setAttribute('aria-hidden', 'true');
      el.outputView.append(picture);
      return () => {
        picture.addEventListener('transitionend', () => picture.remove(), { once: true });
        setTimeout(() => picture.remove(), 3000);  // no transition (reduced motion, hidden tab)
        requestAnimationFrame(() => picture.classList.add('gone'));
      };
    },
    /** A model of the visitor's own (no picture of it yet) joins the picker, chosen. */
    addModelOption(name, title) {
      if (!modelRadio(name)) el.modelPicker.append(modelChoice(name, title));
      checkModel(name);
    },
    /** Slider ranges are the training ranges of meta.transform (brightness δ, contrast c). */
    setTransformRanges({ brightness, contrast }) {
      Object.assign(el.brightness, { min: -brightness, max: brightness });
      Object.assign(el.contrast, { min: 1 - contrast, max: 1 + contrast });
      showValue(el.brightness);
      showValue(el.contrast);
    },
  };
}
