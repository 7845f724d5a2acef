// The model catalogue from the runtime config, and fetching a model's artifacts (with the
// Cache API and a byte-level progress report) or reading a visitor's own model files.
// A record is {name, title, meta, artifacts}; artifacts stay in memory so the generator can
// be rebuilt on a new backend (context loss) without a second download.

import { loadArtifacts } from './generator.js';
import { cachingFetch } from './model_cache.js';

/** meta.transform with low_size filled in for an input size (round(size / downscale)). */
export function transformFor(meta, size) {
  const transform = { ...meta.transform };
  if (!transform.low_size || meta.input?.size !== size) {
    transform.low_size = Math.max(1, Math.round(size / transform.downscale));
  }
  return transform;
}

/**
 * config: the parsed runtime config ({defaultModel, models: [{name, title, url, bytes, meta}]}).
 * load(name, onProgress) resolves to a record or throws a one-line error; the files of a
 * failed load are dropped from the cache.
 */
export function createModelLibrary(config) {
  const records = new Map();
  const entries = config.models || [];

  function entry(name) {
    const found = entries.find((model) => model.name === name);
    if (!found) throw new Error(`there is no model called "${name}" (known: ${entries.map((m) => m.name).join(', ')})`);
    return found;
  }

  async function load(name, onProgress = () => {}) {
    if (records.has(name)) return records.get(name);
    const model = entry(name);
    const total = model.bytes || 0;
    let loaded = 0;
    let shards = 0;
    const report = () => onProgress(Math.min(1, Math.max(total ? loaded / total : 0, shards * 0.99)));
    const cache = cachingFetch((bytes) => { loaded += bytes; report(); });
    let artifacts;
    try {
      artifacts = await loadArtifacts(model.url, {
        label: `"${model.title || name}"`,
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

  /** A visitor's own model (model.json + shards); its transform is borrowed from the default model. */
  async function loadFiles(files) {
    const list = Array.from(files);
    const json = list.find((file) => file.name.endsWith('.json'));
    const stem = json ? json.name.replace(/\.json$/, '') : '';
    const title = stem && stem !== 'model' ? stem : 'your model';
    const artifacts = await loadArtifacts(list, { label: `"${title}"` });
    const base = entries.find((model) => model.name === config.defaultModel) || entries[0];
    const meta = {
      name: 'custom', title,
      transform: base ? base.meta.transform : { downscale: 24, up_filter: 'bicubic', cubic_a: -0.5, luma: [0.299, 0.587, 0.114], brightness: 0.2, contrast: 0.15 },
    };
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
