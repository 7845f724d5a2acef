// Installation mode (?mode=installation, the Installation button, or F): only the generated
// picture, covering the screen (letterboxed or filling it: site.toml's installation_fit), no
// controls, the cursor hidden after a few idle seconds, the screen kept awake where the browser
// allows (Wake Lock). Esc (or F again) restores the page. Cycling models and recovering the
// camera are the app's (app.js); this module owns only the mode itself.

const IDLE_MS = 3000;

/** fit: 'contain' | 'cover'; onChange(active) is called on entering and leaving. */
export function createInstallation({ fit, onChange = () => {} }) {
  let active = false;
  let idleTimer = 0;
  let wakeLock = null;
  const body = document.body;

  function showCursor() {
    body.classList.remove('idle');
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => body.classList.add('idle'), IDLE_MS);
  }

  async function keepAwake() {
    if (!active || !navigator.wakeLock || document.visibilityState !== 'visible') return;
    try {
      wakeLock = await navigator.wakeLock.request('screen');
    } catch { /* refused (battery saver, no permission): the screen may sleep */ }
  }

  function enter({ fullscreen = false } = {}) {
    if (active) return;
    active = true;
    body.classList.add('installation', `fit-${fit}`);
    document.addEventListener('pointermove', showCursor);
    showCursor();
    keepAwake();
    // Real full screen needs a visitor's gesture (the button, F); ?mode=installation covers the
    // viewport without it (a kiosk browser is full screen already).
    if (fullscreen && document.documentElement.requestFullscreen) {
      document.documentElement.requestFullscreen().catch(() => {});
    }
    onChange(true);
  }

  function leave() {
    if (!active) return;
    active = false;
    body.classList.remove('installation', 'idle', `fit-${fit}`);
    document.removeEventListener('pointermove', showCursor);
    clearTimeout(idleTimer);
    wakeLock?.release().catch(() => {});
    wakeLock = null;
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    onChange(false);
  }

  document.addEventListener('visibilitychange', keepAwake);  // a wake lock ends with the tab's visibility
  // Esc in full screen is the browser's: it leaves full screen, and the mode with it.
  document.addEventListener('fullscreenchange', () => { if (!document.fullscreenElement) leave(); });
  document.addEventListener('keydown', (event) => {
    const typing = event.target.closest && event.target.closest('input, select, textarea');
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === 'Escape') leave();
    else if (event.key === 'f' || event.key === 'F') (active ? leave() : enter({ fullscreen: true }));
  });

  return {
    enter,
    leave,
    get active() { return active; },
  };
}
