// Entry point: wiring only. Reads the runtime config the page embeds, builds the UI and the
// app, exposes window.demo, and starts.

import { installReadbackCounters } from './readbacks.js';
import { createUI } from './ui.js';
import { createApp } from './app.js';

installReadbackCounters();  // before any WebGL context exists

const config = JSON.parse(document.getElementById('runtime-config').textContent);
const handlers = {};
const ui = createUI(handlers);
const app = createApp(config, ui, new URLSearchParams(window.location.search));
Object.assign(handlers, app.handlers);

const ready = app.start();
ready.catch((error) => {
  console.error(error);
  ui.setError(`The demo could not start: ${error.message || error}`);
});
window.demo = app.demoApi(ready);
