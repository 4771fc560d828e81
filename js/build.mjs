// Builds a PostHog JavaScript/TypeScript plugin into a component. Run by the harness
// (harness/src/js_build.rs) inside bubblewrap, with no network and a cleared environment:
//
//   node build.mjs analyse <dir> <entry> <work>
//                                           bundle the plugin alone (esbuild: TypeScript
//                                           stripped, the dependencies the harness installed
//                                           from its package-lock.json bundled), and write
//                                           <work>/analysis.json: its exports, the
//                                           capabilities its code uses, what it uses that the
//                                           harness does not support
//   node build.mjs bundle <dir> <entry> <work>
//                                           bundle it behind the compatibility layer
//                                           (compat.js) into <work>/bundle.js, and write the
//                                           world it needs into <work>/world.wit
//   node build.mjs componentize <work> <pre-initialiser>
//                                           ComponentizeJS: <work>/bundle.js and world.wit
//                                           into <work>/component.wasm, pre-initialised by
//                                           the harness's deterministic Wizer
//                                           (harness/src/js_preinit.rs), not its own
//
// Neither esbuild nor this script runs the plugin's code: esbuild only parses it. ComponentizeJS
// pre-initialises the component (Wizer), which runs the bundle's top-level code inside the
// WebAssembly engine, never on the host.

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));

// ComponentizeJS's features that the component does not get: `stdio` (console goes to the
// contract's `log`), `http` and `fetch-event` (fetch goes to the contract's `http`). `clocks`
// and `random` stay: Date and Math.random read the host's WASI clock and random numbers, which
// are deterministic while verifying.
export const DISABLED_FEATURES = ['stdio', 'http', 'fetch-event'];

// The contract's capability interfaces and the words in a plugin's code that use each.
const CAPABILITY_USES = {
  storage: /\bstorage\b/,
  cache: /\bcache\b/,
  http: /\bfetch\b/,
  capture: /\bcapture\b/,
  attachments: /\battachments\b/,
  geoip: /\bgeoip\b/,
};

// PostHog plugin API the harness does not provide: exports and `meta` members.
const UNSUPPORTED_EXPORTS = {
  jobs: 'jobs (the `jobs` export)',
  onAction: 'actions (onAction)',
  onSnapshot: 'snapshots (onSnapshot)',
  composeWebhook: 'webhooks (composeWebhook)',
  getSettings: 'plugin settings (getSettings)',
  handleAlert: 'alerts (handleAlert)',
};
const UNSUPPORTED_USES = [
  // `meta.jobs`, `jobs.name(...)`, or `jobs` destructured from meta.
  [/\bmeta\s*\.\s*jobs\b|\bjobs\s*\.\s*\w+\s*\(|[{,]\s*jobs\s*[,}]/, 'jobs (meta.jobs)'],
  [/\bmeta\s*\.\s*utils\b|\bcreateBuffer\b/, 'plugin utilities (meta.utils)'],
  [/\bmeta\s*\.\s*metrics\b/, 'metrics (meta.metrics)'],
  [/\b(lpush|lrange|lrem|lpop|llen)\s*\(/, 'list operations of meta.cache (lpush, lrange, ...)'],
  [/\bexpire\s*\(/, 'meta.cache.expire'],
];

// What PostHog's plugin server let a plugin import (plugin-server/src/worker/vm/imports.ts,
// AVAILABLE_IMPORTS; any other import failed: "Cannot import 'x'! This package is not provided
// by PostHog in plugins."). The ones the contract can answer are virtual modules over the
// compatibility layer; the others are unsupported, named by `source/js-unsupported`.
const PROVIDED_IMPORTS = {
  '@posthog/plugin-scaffold': `export { RetryError } from 'posthog-compat';`,
  'node-fetch': `import { fetch } from 'posthog-compat';\nexport default fetch;\nexport { fetch };`,
  url: `export const URL = globalThis.URL;\nexport const URLSearchParams = globalThis.URLSearchParams;\nexport default { URL, URLSearchParams };`,
};
const PROVIDED_UNSUPPORTED = ['@google-cloud/pubsub', '@google-cloud/storage', 'aws-sdk', 'generic-pool', 'pg', 'crypto', 'stream'];

// Resolves PostHog's provided imports: to the virtual modules above in the final bundle; in
// the analysis (which has no compatibility layer), as externals, the unsupported ones noted.
function providedImports({ analysing, unsupported }) {
  const names = [...Object.keys(PROVIDED_IMPORTS), ...PROVIDED_UNSUPPORTED];
  const filter = new RegExp(`^(${names.map((n) => n.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})$`);
  return {
    name: 'posthog-provided-imports',
    setup(build) {
      build.onResolve({ filter }, (args) => {
        if (PROVIDED_UNSUPPORTED.includes(args.path)) {
          unsupported?.add(`the \`${args.path}\` import (PostHog's plugin server provided it; the harness does not)`);
          return { path: args.path, external: true };
        }
        if (analysing) return { path: args.path, external: true };
        return { path: args.path, namespace: 'posthog-provided' };
      });
      build.onLoad({ filter: /.*/, namespace: 'posthog-provided' }, (args) => ({
        contents: PROVIDED_IMPORTS[args.path],
        loader: 'js',
        resolveDir: here,
      }));
    },
  };
}

// Bare imports resolve only in the build's own node_modules (<work>/node_modules: what the
// harness installed from the plugin's package-lock.json, harness/src/js_deps.rs), never in a
// node_modules the plugin directory holds. A package's own imports resolve from where it is,
// inside <work>/node_modules, so nested packages are found as npm placed them.
function lockedModules(work) {
  const installed = join(work, 'node_modules');
  return {
    name: 'posthog-locked-modules',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData?.posthogLocked || args.path.startsWith('posthog:')) return undefined;
        const fromPackage = args.importer.startsWith(`${installed}/`);
        const result = await build.resolve(args.path, {
          kind: args.kind,
          resolveDir: fromPackage ? args.resolveDir : work,
          pluginData: { posthogLocked: true },
        });
        if (result.errors.length > 0) {
          return {
            errors: [
              {
                text: `Could not resolve "${args.path}": PostHog's plugin server does not provide it and the plugin's package-lock.json does not install it`,
              },
            ],
          };
        }
        return { path: result.path, external: result.external, namespace: result.namespace, sideEffects: result.sideEffects };
      });
    },
  };
}

// The functions the plugin may export, and the contract export each becomes.
const EXPORTS = {
  processEvent: 'process-event: func(event: string) -> result<option<string>, string>;',
  onEvent: 'on-event: func(event: string) -> result<_, string>;',
  exportEvents: 'export-events: func(events: string) -> result<_, export-error>;',
  runEveryMinute: 'run-every-minute: func() -> result<_, string>;',
  runEveryHour: 'run-every-hour: func() -> result<_, string>;',
  runEveryDay: 'run-every-day: func() -> result<_, string>;',
};

async function bundleAlone(dir, entry, work) {
  const unsupported = new Set();
  const result = await esbuild.build({
    absWorkingDir: dir,
    entryPoints: [`./${entry}`],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
    outfile: 'plugin.js',
    plugins: [providedImports({ analysing: true, unsupported }), lockedModules(work)],
  });
  const [output] = result.outputFiles;
  const exports = Object.values(result.metafile.outputs)[0].exports;
  return { code: output.text, exports, unsupportedImports: [...unsupported] };
}

function analyse(code, exports, unsupportedImports) {
  const capabilities = Object.entries(CAPABILITY_USES)
    .filter(([, pattern]) => pattern.test(code))
    .map(([capability]) => capability);
  // A plugin whose methods are members of its default export (`export default plugin`) or of
  // `module.exports` (CommonJS, as PostHog's own plugins are often written; plugin-server took
  // both): its methods are the plugin API names its code defines.
  const named = exports.filter((name) => name in EXPORTS);
  const objectStyle = named.length === 0 && (exports.length === 0 || exports.includes('default'));
  const members = (names, pattern) =>
    objectStyle ? names.filter((name) => new RegExp(pattern(name)).test(code)) : exports.filter((name) => names.includes(name));
  const unsupportedExports = members(Object.keys(UNSUPPORTED_EXPORTS), (name) => `\\b${name}\\s*[:(]`);
  const unsupported = [
    ...unsupportedExports.map((name) => UNSUPPORTED_EXPORTS[name]),
    ...UNSUPPORTED_USES.filter(([pattern]) => pattern.test(code)).map(([, what]) => what),
    ...unsupportedImports,
  ];
  const kinds = objectStyle ? members(Object.keys(EXPORTS), (name) => `\\b${name}\\b`) : named;
  return { exports, kinds, capabilities, unsupported };
}

function world(work, analysis) {
  // The contract, written beside the plugin's work by the harness (its own wit/plugin.wit).
  const contract = readFileSync(join(work, 'contract.wit'), 'utf8');
  const lines = ['world js-plugin {', '    import log;'];
  for (const capability of analysis.capabilities) lines.push(`    import ${capability};`);
  if (analysis.kinds.includes('exportEvents')) {
    lines.push('    variant export-error { retry(string), failed(string) }');
  }
  lines.push('    export setup: func(config: list<tuple<string, string>>) -> result<_, string>;');
  for (const kind of analysis.kinds) lines.push(`    export ${EXPORTS[kind]}`);
  lines.push('    export teardown: func();', '}', '');
  return `${contract}\n${lines.join('\n')}`;
}

// The entry of the final bundle: the compatibility layer first (its top level sets the globals
// the plugin's module may use as it is evaluated), then the plugin, then the contract's exports.
function entrySource(entry, analysis) {
  const lines = [
    `import { plugin as install } from 'posthog-compat';`,
    `import * as plugin from ${JSON.stringify(`./${entry}`)};`,
    'const api = install(plugin);',
    'export const setup = api.setup;',
    'export const teardown = api.teardown;',
  ];
  for (const kind of analysis.kinds) lines.push(`export const ${kind} = api.${kind};`);
  return lines.join('\n');
}

// `posthog-host`, imported by compat.js: the capability interfaces the plugin uses, and
// `null` for the others (so the component imports only what the code uses).
function hostSource(analysis) {
  const lines = [`export * as log from 'posthog:plugin/log@0.1.0';`];
  for (const capability of Object.keys(CAPABILITY_USES)) {
    if (analysis.capabilities.includes(capability)) {
      lines.push(`export * as ${capability} from 'posthog:plugin/${capability}@0.1.0';`);
    } else {
      lines.push(`export const ${capability} = null;`);
    }
  }
  return lines.join('\n');
}

// The bundle names its modules in comments by path: the plugin's relative to its own directory,
// the harness's as virtual modules, so that the bundle (and the digest the lock pins) is the
// same wherever the plugin and the harness are checked out.
async function bundle(dir, entry, work, analysis) {
  const virtualModules = {
    name: 'posthog-virtual-modules',
    setup(build) {
      build.onResolve({ filter: /^posthog-(host|compat)$/ }, (args) => ({ path: args.path, namespace: args.path }));
      build.onLoad({ filter: /.*/, namespace: 'posthog-host' }, () => ({ contents: hostSource(analysis), loader: 'js' }));
      build.onLoad({ filter: /.*/, namespace: 'posthog-compat' }, () => ({
        contents: readFileSync(join(here, 'compat.js'), 'utf8'),
        loader: 'js',
      }));
    },
  };
  await esbuild.build({
    absWorkingDir: dir,
    stdin: { contents: entrySource(entry, analysis), resolveDir: dir, sourcefile: 'posthog-entry.js' },
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    target: 'es2022',
    external: ['posthog:plugin/*'],
    plugins: [virtualModules, providedImports({ analysing: false }), lockedModules(work)],
    outfile: join(work, 'bundle.js'),
    logLevel: 'silent',
    legalComments: 'none',
  });
}

function fail(error) {
  const errors = error?.errors;
  if (Array.isArray(errors) && errors.length > 0) {
    const { text, location } = errors[0];
    const where = location ? `${location.file}:${location.line}:${location.column + 1}: ` : '';
    console.error(`${where}${text}`);
  } else {
    console.error(String(error?.message ?? error).split('\n').slice(0, 12).join('\n'));
  }
  process.exit(1);
}

const [command, ...args] = process.argv.slice(2);
try {
  if (command === 'analyse' || command === 'bundle') {
    const [dir, entry, work] = args;
    const alone = await bundleAlone(dir, entry, work);
    const analysis = analyse(alone.code, alone.exports, alone.unsupportedImports);
    writeFileSync(join(work, 'analysis.json'), JSON.stringify(analysis));
    if (command === 'bundle') {
      await bundle(dir, entry, work, analysis);
      writeFileSync(join(work, 'world.wit'), world(work, analysis));
    }
  } else if (command === 'componentize') {
    const [work, preInitialiser] = args;
    if (!preInitialiser) throw new Error('componentize needs the pre-initialiser');
    const { componentize } = await import('@bytecodealliance/componentize-js');
    const { component } = await componentize({
      sourcePath: join(work, 'bundle.js'),
      witPath: join(work, 'world.wit'),
      worldName: 'js-plugin',
      disableFeatures: DISABLED_FEATURES,
      // Wizer's engine looks for its config under HOME; without it, it asks the user database,
      // which the sandbox does not have. The engine sees only these variables.
      env: { HOME: '/tmp' },
      // The same inputs give the same bytes: a fixed clock and seed, fixed directory names.
      wizerBin: preInitialiser,
    });
    writeFileSync(join(work, 'component.wasm'), component);
  } else if (command === 'versions') {
    const componentizeVersion = JSON.parse(
      readFileSync(join(here, 'node_modules', '@bytecodealliance', 'componentize-js', 'package.json'), 'utf8'),
    ).version;
    console.log(JSON.stringify({ node: process.version, esbuild: esbuild.version, componentizeJs: componentizeVersion }));
  } else {
    throw new Error(`unknown command ${command}`);
  }
} catch (error) {
  fail(error);
}
