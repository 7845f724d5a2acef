// The model catalogue from the runtime config, and fetching a model's artifacts (with the
// Cache API and a byte-level progress report) or reading a visitor's own model files.
// A record is {name, title, meta, artifacts}; artifacts stay in memory so the generator can
// be rebuilt on a new backend (context loss) without a second download. Every number of the
// input transform comes from meta.json (meta.transform, meta.input.size): never typed here.

import { cachingFetch } from './model_cache.js';

/** The meta.json fields the browser reads; a model without them cannot be run as trained. */
const TRANSFORM_FIELDS = ['low_size', 'cubic_a', 'luma', 'brightness', 'contrast'];

/** Throws a one-line error naming the model and the first missing meta.json field. */
function checkMeta(meta, label) {
  if (!(meta?.input?.size > 0)) throw new Error(`model ${label}: meta.json has no input.size; rebuild the site from its models/`);
  const missing = TRANSFORM_FIELDS.find((field) => meta.transform?.[field] == null);
  if (missing) throw new Error(`model ${label}: meta.json has no transform.${missing}; rebuild the site from its models/`);
  const levels = meta.transform.levels;  // null or absent: trained without input levels
  if (levels != null && !(levels.mean > 0 && levels.sd > 0 && levels.gain?.length === 2 && levels.gain[0] > 0)) {
    throw new Error(`model ${label}: meta.json's transform.levels needs mean, sd and gain [min, max]; re-export the model`);
  }
}

const BYTES_PER_ELEMENT = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

function weightBytes(specs) {
  let total = 0;
  for (const spec of specs) {
    const dtype = spec.quantization ? spec.quantization.dtype : spec.dtype;
    const count = spec.shape.reduce((a, b) => a * b, 1);
    total += count * (BYTES_PER_ELEMENT[dtype] ?? 4);
  }
  return total;
}

function dataBytes(weightData) {
  const parts = Array.isArray(weightData) ? weightData : [weightData];
  return parts.reduce((sum, part) => sum + (part ? part.byteLength : 0), 0);
}

/** The artifacts of a parsed model.json whose weight shards are `shards` (ArrayBuffers, in order). */
function toArtifacts(json, shards) {
  const groups = json.weightsManifest || [];
  const total = shards.reduce((sum, shard) => sum + shard.byteLength, 0);
  const weightData = new Uint8Array(total);
  let offset = 0;
  for (const shard of shards) {
    weightData.set(new Uint8Array(shard), offset);
    offset += shard.byteLength;
  }
  return {
    modelTopology: json.modelTopology,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
    signature: json.signature,
    userDefinedMetadata: json.userDefinedMetadata,
    modelInitializer: json.modelInitializer,
    weightSpecs: groups.length ? groups.flatMap((group) => group.weights) : null,
    weightData: shards.length ? weightData.buffer : null,
  };
}

async function fetchOk(fetchFunc, url) {
  const response = await fetchFunc(url);
  if (!response.ok) throw new Error(`${url} answered ${response.status} ${response.statusText}`.trim());
  return response;
}

/** model.json at `url` and its shards (paths relative to its folder), as tf.io.http reads them. */
async function fetchArtifacts(url, { fetchFunc = fetch, onProgress = () => {} }) {
  const json = await (await fetchOk(fetchFunc, url)).json();
  const folder = url.slice(0, url.lastIndexOf('/') + 1);
  const paths = (json.weightsManifest || []).flatMap((group) => group.paths);
  let fetched = 0;
  const shards = await Promise.all(paths.map(async (path) => {
    const data = await (await fetchOk(fetchFunc, folder + path)).arrayBuffer();
    onProgress(++fetched / paths.length);
    return data;
  }));
  return toArtifacts(json, shards);
}

/** A model.json File and its shard Files, matched by name as tf.io.browserFiles does. */
async function readArtifacts(json, files) {
  const parsed = JSON.parse(await json.text());
  const byName = new Map(files.map((file) => [file.name, file]));
  const paths = (parsed.weightsManifest || []).flatMap((group) => group.paths);
  const missing = paths.map((path) => path.split('/').pop()).filter((name) => !byName.has(name));
  if (missing.length) throw new Error(`choose its weight file${missing.length > 1 ? 's' : ''} too: ${missing.join(', ')}`);
  const shards = await Promise.all(paths.map((path) => byName.get(path.split('/').pop()).arrayBuffer()));
  return toArtifacts(parsed, shards);
}

/**
 * Fetches a model's artifacts: `source` is a model.json URL or a list of Files (model.json
 * plus its weight shards, from a file input). Throws one-line errors naming the model.
 */
async function loadArtifacts(source, { label, fetchFunc, onProgress } = {}) {
  let read;
  if (typeof source === 'string') {
    read = () => fetchArtifacts(source, { fetchFunc, onProgress });
  } else {
    const files = Array.from(source);
    const json = files.find((file) => file.name.endsWith('.json'));
    if (!json) throw new Error(`model ${label}: choose the model.json file together with its .bin shard files`);
    read = () => readArtifacts(json, files.filter((file) => file !== json));
  }
  let artifacts;
  try {
    artifacts = await read();
  } catch (error) {
    throw new Error(`model ${label} could not be loaded: ${error.message || error}`);
  }
  if (!artifacts || !artifacts.modelTopology) {
    throw new Error(`model ${label}: model.json has no modelTopology (is it a tf.js graph model?)`);
  }
  if (!artifacts.weightSpecs || !artifacts.weightData) {
    throw new Error(`model ${label}: no weights came with model.json; choose its .bin shard files too`);
  }
  const expected = weightBytes(artifacts.weightSpecs || []);
  const actual = dataBytes(artifacts.weightData);
  if (actual !== expected) {
    throw new Error(`model ${label}: weight shards hold ${actual} bytes but model.json describes ${expected}; `
      + 'a shard is damaged or missing (rebuild the site, or choose every .bin file)');
  }
  return artifacts;
}


/**
 * config: the parsed runtime config ({defaultModel, models: [{name, title, url, bytes, meta}]}).
 * load(name, onProgress) resolves to a record or throws a one-line error; the files of a
 * failed load are dropped from the cache. Callers asking for a model that is already on its
 * way share its one download (each still hears its progress), so the page can start fetching
 * the default model before the backend is up.
 */
export function createModelLibrary(config) {
  const records = new Map();
  const downloads = new Map();  // name -> {promise, listeners, fraction} while it is on its way
  const entries = config.models || [];

  function entry(name) {
    const found = entries.find((model) => model.name === name);
    if (!found) throw new Error(`there is no model called "${name}" (known: ${entries.map((m) => m.name).join(', ')})`);
    return found;
  }

  async function download(name, onProgress) {
    const model = entry(name);
    const label = `"${model.title || name}"`;
    checkMeta(model.meta, label);
    const total = model.bytes || 0;
    let loaded = 0;
    let shards = 0;
    const report = () => onProgress(Math.min(1, Math.max(total ? loaded / total : 0, shards * 0.99)));
    const cache = cachingFetch((bytes) => { loaded += bytes; report(); });
    let artifacts;
    try {
      artifacts = await loadArtifacts(model.url, {
        label,
        fetchFunc: cache.fetchFunc,
        onProgress: (fraction) => { shards = fraction; report(); },
      });
    } catch (error) {
      await cache.forget();
      throw error;
    }
    const record = { name, title: model.title || name, meta: model.meta, artifacts };
    records.set(name, record);
    return record;
  }

  async function load(name, onProgress = () => {}) {
    if (records.has(name)) return records.get(name);
    let pending = downloads.get(name);
    if (!pending) {
      pending = { listeners: new Set(), fraction: 0 };
      const tell = (fraction) => {
        pending.fraction = fraction;
        pending.listeners.forEach((listener) => listener(fraction));
      };
      pending.promise = download(name, tell).finally(() => downloads.delete(name));
      downloads.set(name, pending);
    }
    pending.listeners.add(onProgress);
    onProgress(pending.fraction);
    try {
      return await pending.promise;
    } finally {
      pending.listeners.delete(onProgress);
    }
  }

  /** A visitor's own model (model.json + shards); its transform is borrowed from the default model. */
  async function loadFiles(files) {
    const list = Array.from(files);
    const json = list.find((file) => file.name.endsWith('.json'));
    const stem = json ? json.name.replace(/\.json$/, '') : '';
    const title = stem && stem !== 'model' ? stem : 'your model';
    const artifacts = await loadArtifacts(list, { label: `"${title}"` });
    const base = entries.find((model) => model.name === config.defaultModel) || entries[0];
    if (!base) throw new Error(`model "${title}": this site has no model of its own to borrow the input transform from`);
    // The default model's whole transform block (and the input size it was made for).
    const meta = { name: 'custom', title, input: base.meta.input, transform: base.meta.transform };
    checkMeta(meta, `"${title}" (borrowing ${base.name}'s)`);
    const name = `custom:${title}`;
    const record = { name, title: title === 'your model' ? 'Your model' : `${title} (yours)`, meta, artifacts };
    records.set(name, record);
    return record;
  }

  return {
    entries,
    defaultName: config.defaultModel || entries[0]?.name,
    load,
    loadFiles,
  };
}
