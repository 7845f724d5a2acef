// The site's service worker (written by `python -m builder build`, builder/site/offline.py):
// after one visit the page starts without the network. It keeps the page and its assets when it
// installs; assets have content-hashed names, so they are answered from the cache; the page
// itself is asked of the network first (a new deploy shows on the next visit) and answered from
// the cache offline. Models are kept by the page's model cache (js/model_cache.js).

const CACHE = 'learning-to-see-site-{{ version }}';
const PRECACHE = {{ precache_json|safe }};
const SITE_CACHE_PREFIX = 'learning-to-see-site-';

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names
      .filter((name) => name.startsWith(SITE_CACHE_PREFIX) && name !== CACHE)
      .map((name) => caches.delete(name))))
    .then(() => self.clients.claim()));
});

async function pageFirstFromNetwork(request) {
  try {
    const response = await fetch(request);
    if (response.ok) (await caches.open(CACHE)).put('./', response.clone());
    return response;
  } catch (error) {
    const kept = await caches.match('./', { cacheName: CACHE });
    if (kept) return kept;
    throw error;
  }
}

async function keptFirst(request) {
  const kept = await caches.match(request);
  if (kept) return kept;
  const response = await fetch(request);
  if (response.ok && new URL(request.url).pathname.includes('/assets/')) {
    (await caches.open(CACHE)).put(request, response.clone());
  }
  return response;
}

// A model's weights (model.json and its shards) are the page's model cache's, read before any
// request is made: the network answers those, untouched.
const isWeights = (path) => /\/models\/[^/]+\/(model\.[^/]*\.json|[^/]*\.bin)$/.test(path);

self.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin || isWeights(url.pathname)) return;
  event.respondWith(request.mode === 'navigate' ? pageFirstFromNetwork(request) : keptFirst(request));
});
