// Entry point: wiring only. Reads the runtime config the page embeds, builds the UI and the
// app, exposes window.demo, and starts.

import { installReadbackCounters } from './readbacks.js';
import { createUI } from './ui.js';
import { createApp } from './app.js';
import { registerServiceWorker } from './offline.js';

installReadbackCounters();  // before any WebGL context exists

const config = JSON.parse(document.getElementById('runtime-config').textContent);
const handlers = {};
const ui = createUI(handlers);
const app = createApp(config, ui, new URLSearchParams(window.location.search));
Object.assign(handlers, app.handlers);

// Started a microtask later, so window.demo (below) exists before anything start() calls back
// into: the camera prompt begins at once, beside the model's download and the backend.
const ready = Promise.resolve().then(() => app.start());
ready.catch((error) => {
  console.error(error);
  ui.setError(`The demo could not start: ${error.message || error}`);
});
// Offline after the first visit (templates/sw.js); registered once the demo runs, so keeping the
// site's files never competes with the first frame.
ready.then(() => registerServiceWorker(config.serviceWorker), () => {});
window.demo = app.demoApi(ready);
