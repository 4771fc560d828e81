// The PostHog plugin API over the harness's contract (wit/plugin.wit), bundled in front of
// every JavaScript plugin by build.mjs. It follows plugin-server's VM (`createPluginConfigVM`
// and `upgradeExportEvents`) where the contract allows:
//
// - `setupPlugin(meta)`, `teardownPlugin(meta)`, `processEvent(event, meta)` (a falsy result
//   drops the event, a throw fails it), `onEvent(event, meta)`, `exportEvents(events, meta)`
//   (a `RetryError` asks for the batch again; any other throw gives it up), and the scheduled
//   tasks `runEveryMinute(meta)`, `runEveryHour(meta)`, `runEveryDay(meta)`;
// - `meta.config` (strings, as PostHog gives them), `meta.global`, `meta.attachments`,
//   `meta.storage` (`get`, `set`, `del`) and `meta.cache` (`get`, `set`, `incr`), async as in
//   PostHog, over the contract's `storage` and `cache`; `meta.geoip.locate(ip)` over `geoip`,
//   the record in the camelCase of PostHog's node reader (`country.isoCode`,
//   `location.timeZone`), `null` when the database has none;
// - `fetch(url, init)` over the contract's `http` (the manifest's hosts; fixtures while
//   verifying), `posthog.capture(event, properties)` over `capture`, `console` over `log`.
//
// `posthog-host` is generated per plugin: the interfaces its code uses, `null` for the others.
import * as host from 'posthog-host';

function text(value) {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

// A failure crossing back to the host: the contract's errors are strings.
function message(error) {
  if (error && typeof error === 'object' && 'payload' in error) return text(error.payload);
  if (error instanceof Error) return error.message || error.name;
  return text(error);
}

function unsupported(what) {
  return () => {
    throw new Error(`${what} is not supported by the harness (only the contract's capabilities are)`);
  };
}

function needs(capability, what) {
  const api = host[capability];
  if (!api) {
    // Not reached: build.mjs links every interface the code names. Kept for a plugin that
    // reaches a capability by a computed name.
    throw new Error(`${what} needs the \`${capability}\` capability, which the plugin's code does not name`);
  }
  return api;
}

const console_ = {};
for (const [method, level] of [
  ['debug', 'debug'],
  ['log', 'info'],
  ['info', 'info'],
  ['warn', 'warn'],
  ['error', 'error'],
]) {
  console_[method] = (...args) => host.log.log(level, args.map(text).join(' '));
}
globalThis.console = console_;

export class RetryError extends Error {
  constructor(message) {
    super(message);
    this.name = 'RetryError';
  }
}
globalThis.RetryError = RetryError;

class Headers {
  constructor(pairs) {
    this.pairs = pairs.map(([name, value]) => [name.toLowerCase(), value]);
  }
  get(name) {
    const found = this.pairs.find(([key]) => key === String(name).toLowerCase());
    return found ? found[1] : null;
  }
  has(name) {
    return this.get(name) !== null;
  }
  forEach(callback) {
    for (const [name, value] of this.pairs) callback(value, name, this);
  }
  entries() {
    return this.pairs[Symbol.iterator]();
  }
  [Symbol.iterator]() {
    return this.pairs[Symbol.iterator]();
  }
}

function requestHeaders(headers) {
  if (!headers) return [];
  if (typeof headers.forEach === 'function' && !Array.isArray(headers)) {
    const pairs = [];
    headers.forEach((value, name) => pairs.push([String(name), String(value)]));
    return pairs;
  }
  const entries = Array.isArray(headers) ? headers : Object.entries(headers);
  return entries.map(([name, value]) => [String(name), String(value)]);
}

function requestBody(body) {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return new TextEncoder().encode(body);
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  return new TextEncoder().encode(String(body));
}

// PostHog gives plugins node-fetch; this answers the part plugins use.
async function fetch(input, init = {}) {
  const http = needs('http', 'fetch');
  const url = typeof input === 'string' ? input : String(input?.url ?? input);
  const response = http.fetch({
    method: String(init.method ?? 'GET').toUpperCase(),
    url,
    headers: requestHeaders(init.headers),
    body: requestBody(init.body),
  });
  const body = response.body;
  const bodyText = () => new TextDecoder().decode(body);
  return {
    status: response.status,
    ok: response.status >= 200 && response.status < 300,
    statusText: String(response.status),
    url,
    headers: new Headers(response.headers),
    text: async () => bodyText(),
    json: async () => JSON.parse(bodyText()),
    arrayBuffer: async () => body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength),
  };
}
globalThis.fetch = fetch;
export { fetch };

globalThis.posthog = {
  capture(event, properties = {}) {
    needs('capture', 'posthog.capture').capture(String(event), JSON.stringify(properties ?? {}));
  },
  api: { get: unsupported('posthog.api'), post: unsupported('posthog.api') },
};

function parseStored(stored, defaultValue) {
  if (stored === undefined || stored === null) return defaultValue;
  try {
    return JSON.parse(stored);
  } catch {
    return defaultValue;
  }
}

const storage = {
  async get(key, defaultValue = null) {
    return parseStored(needs('storage', 'meta.storage').get(String(key)), defaultValue);
  },
  async set(key, value) {
    needs('storage', 'meta.storage').set(String(key), JSON.stringify(value ?? null));
  },
  async del(key) {
    needs('storage', 'meta.storage').del(String(key));
  },
};

const cache = {
  async get(key, defaultValue = null) {
    return parseStored(needs('cache', 'meta.cache').get(String(key)), defaultValue);
  },
  async set(key, value, ttlSeconds) {
    const ttl = ttlSeconds === undefined || ttlSeconds === null ? undefined : Math.max(0, Math.floor(Number(ttlSeconds)));
    needs('cache', 'meta.cache').set(String(key), JSON.stringify(value ?? null), ttl);
  },
  async incr(key, by = 1) {
    return Number(needs('cache', 'meta.cache').incr(String(key), BigInt(Math.trunc(by))));
  },
};

// `iso_code` -> `isoCode`: the GeoIP2 record as `@maxmind/geoip2-node` (plugin-server's
// `meta.geoip`) gives it; the database's own names (`names.en`, `zh-CN`) have no underscore.
function camelCased(value) {
  if (Array.isArray(value)) return value.map(camelCased);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => [key.replace(/_([a-z])/g, (_, c) => c.toUpperCase()), camelCased(v)]),
  );
}

const geoip = {
  async locate(ip) {
    const found = needs('geoip', 'meta.geoip').locate(String(ip));
    return found === undefined || found === null ? null : camelCased(JSON.parse(found));
  },
};

function attachmentsOf(config) {
  const api = host.attachments;
  const attachments = {};
  if (!api) return attachments;
  for (const key of Object.keys(config)) {
    const found = api.get(key);
    if (found) {
      attachments[key] = {
        file_name: found.fileName,
        content_type: found.contentType,
        contents: found.contents,
      };
    }
  }
  return attachments;
}

// Integers beyond 2^53 (a `team_id` of i64::MAX, an id in a property) lose digits as
// JavaScript numbers. The event's are remembered by value as they are parsed (with the
// parser's source text), and written back as they were unless the plugin changed them.
const LONG_DIGITS = /\d{16}/;

function parseEvent(text) {
  const big = new Map();
  if (!LONG_DIGITS.test(text)) return { value: JSON.parse(text), big };
  const value = JSON.parse(text, (key, v, context) => {
    if (typeof v === 'number' && !Number.isSafeInteger(v) && context && /^-?\d+$/.test(context.source)) {
      if (!big.has(v)) big.set(v, context.source);
    }
    return v;
  });
  return { value, big };
}

function stringifyEvent(value, big) {
  if (big.size === 0) return JSON.stringify(value);
  return JSON.stringify(value, (key, v) => (typeof v === 'number' && big.has(v) ? JSON.rawJSON(big.get(v)) : v));
}

// The plugin's exports behind the contract's.
export function plugin(exports) {
  const meta = {
    config: {},
    global: {},
    attachments: {},
    storage,
    cache,
    geoip,
    jobs: {},
  };

  // Named exports, or the members of the default export (`export default plugin`;
  // `module.exports = plugin` arrives as both).
  async function call(name, ...args) {
    const fn = exports[name] ?? exports.default?.[name];
    return typeof fn === 'function' ? fn(...args, meta) : undefined;
  }

  // Each contract export: a thrown value becomes the contract's error string.
  function guarded(body) {
    return async (...args) => {
      try {
        return await body(...args);
      } catch (error) {
        throw { payload: message(error) };
      }
    };
  }

  return {
    setup: guarded(async (config) => {
      meta.config = Object.fromEntries(config);
      meta.attachments = attachmentsOf(meta.config);
      await call('setupPlugin');
    }),
    teardown: async () => {
      try {
        await call('teardownPlugin');
      } catch {
        // PostHog logs and goes on; so does the harness.
      }
    },
    processEvent: guarded(async (text) => {
      const { value, big } = parseEvent(text);
      const result = await call('processEvent', value);
      return result ? stringifyEvent(result, big) : undefined;
    }),
    onEvent: guarded(async (text) => {
      await call('onEvent', parseEvent(text).value);
    }),
    runEveryMinute: guarded(async () => {
      await call('runEveryMinute');
    }),
    runEveryHour: guarded(async () => {
      await call('runEveryHour');
    }),
    runEveryDay: guarded(async () => {
      await call('runEveryDay');
    }),
    exportEvents: async (events) => {
      try {
        await call('exportEvents', parseEvent(events).value);
      } catch (error) {
        const isRetry = error instanceof RetryError || error?.name === 'RetryError';
        throw { payload: { tag: isRetry ? 'retry' : 'failed', val: message(error) } };
      }
    },
  };
}
