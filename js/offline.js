// The service worker that keeps the site for offline visits (templates/sw.js, written by the
// build at the site's root). Where there is none (a browser without service workers, a page
// opened from a file), the page works as before, online.

/** Registers `url` (relative to the page); resolves to the registration, or null. */
export async function registerServiceWorker(url) {
  if (!url || !('serviceWorker' in navigator)) return null;
  try {
    return await navigator.serviceWorker.register(url);
  } catch (error) {
    console.warn(`offline use is off: the service worker did not register (${error.message})`);
    return null;
  }
}
