// Model files in the Cache API, so a repeat visit (or switching back) needs no download.
// Model URLs carry a content hash, so a cached entry never goes stale; entries from a load
// that failed are deleted, so a damaged shard is not kept.

const CACHE_NAME = 'learning-to-see-models-v1';

async function openCache() {
  try {
    return typeof caches !== 'undefined' ? await caches.open(CACHE_NAME) : null;
  } catch {
    return null;  // storage disabled (private mode, file://): fall back to plain fetch
  }
}

/** Reads a response body while reporting bytes, returning a new Response with the same body. */
async function readWithProgress(response, onBytes) {
  if (!response.body) return response;
  const reader = response.body.getReader();
  const chunks = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    onBytes(value.byteLength);
  }
  return new Response(new Blob(chunks), {
    status: response.status, statusText: response.statusText, headers: response.headers,
  });
}

/**
 * A fetch function for tf.io.http: serves from the cache when it can, otherwise downloads
 * (reporting bytes through onBytes(delta)) and stores ok responses.
 * Returns {fetchFunc, forget()}: forget() drops whatever this loader stored.
 */
export function cachingFetch(onBytes = () => {}) {
  const stored = [];
  const fetchFunc = async (url, init) => {
    const cache = await openCache();
    const hit = cache ? await cache.match(url) : null;
    if (hit) return readWithProgress(hit, onBytes);
    const response = await fetch(url, init);
    if (!response.ok) {
      throw new Error(`${url} answered ${response.status} ${response.statusText}`.trim());
    }
    const body = await readWithProgress(response, onBytes);
    if (cache) {
      try {
        await cache.put(url, body.clone());
        stored.push(url);
      } catch {
        // quota exceeded: the model still runs, it just downloads again next time
      }
    }
    return body;
  };
  return {
    fetchFunc,
    async forget() {
      const cache = await openCache();
      if (cache) await Promise.all(stored.map((url) => cache.delete(url)));
    },
  };
}
