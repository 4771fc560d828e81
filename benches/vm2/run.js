#!/usr/bin/env node
// Runs JSONL events through PostHog-style JS plugins inside vm2, the way PostHog's plugin
// server did, and writes the resulting events as JSONL: the vm2 half of bench.sh.
//
//   node benches/vm2/run.js --plugin url-normalizer|passthrough|pipeline|none \
//       --input events.jsonl [--output FILE]
//
// `none` is the floor: JSON.parse and JSON.stringify of every line, no vm2 and no plugin.
// Set VM2_MODULE=/path/to/node_modules/vm2 to run another vm2 than the pinned one.
//
// The VM of each plugin is built as in PostHog/plugin-server, src/worker/vm/vm.ts
// (`createPluginConfigVM`): `new VM({ timeout: TASK_TIMEOUT * 1000 + 1, sandbox: {} })`, the host
// services frozen into it (`console`, `fetch`, `__pluginHostImports`, `__pluginHostMeta` with
// config, cache and storage; `URL` too, see createPluginConfigVM), the plugin's code run after
// `const module = { exports: {} }; let exports = {}`, then a second script that finds the
// exports (exports, exports.default,
// module.exports, else the global object), binds the meta object (plus a per-plugin `global`)
// as the last argument and wraps each method in the async timeout guard. Events go through the
// chain as in src/worker/plugins/run.ts (`runProcessEvent`): plugins in order, each awaited, a
// throw recorded and the chain going on, a falsy return dropping the event, then
// `$plugins_succeeded` / `$plugins_failed` ("name (position)", as the harness labels them; PostHog
// used the plugin config id) added to the properties.
//
// What is left out: Babel (`transformCode`: imports become __pluginHostImports reads, which the
// plugin files here write by hand, and loops get timeout checks, which none of them need), the
// worker threads (piscina) and Kafka around it, Postgres and Redis behind storage and cache
// (in-memory Maps here, with JSON in and out as those stores had), and the metrics. The guard's
// timer is cleared after each call (PostHog left it pending, which would hold the process open
// for TASK_TIMEOUT at the end of a run).
'use strict'

const crypto = require('crypto')
const fs = require('fs')
const path = require('path')
const url = require('url')
const zlib = require('zlib')
// VM2_MODULE: another vm2 to load (a path to its package), to compare versions.
const { VM } = require(process.env.VM2_MODULE || 'vm2')
const { Output, readLines } = require('./io')

// PostHog's default TASK_TIMEOUT, in seconds.
const TASK_TIMEOUT = 30
// Event names that skip processEvent (as the harness and PostHog's ingestion skip them).
const SKIPS_PROCESSING = ['$snapshot', '$performance_event']
const REPOSITORY = path.join(__dirname, '..', '..')

// Plugins by --plugin name. Config not given comes from the manifest's defaults.
const PLUGINS = {
    'url-normalizer': () => [
        {
            name: 'url-normalizer',
            file: path.join(__dirname, 'url-normalizer.js'),
            manifest: path.join(REPOSITORY, 'plugins', 'url-normalizer', 'plugin.json'),
            config: {},
        },
    ],
    passthrough: () => [{ name: 'passthrough', file: path.join(__dirname, 'passthrough.js'), config: {} }],
    pipeline: () => require('./pipeline'),
    none: () => [],
}

function usage(message) {
    if (message) process.stderr.write(`error: ${message}\n`)
    process.stderr.write(
        `usage: node run.js --plugin ${Object.keys(PLUGINS).join('|')} --input FILE|- [--output FILE]\n`
    )
    process.exit(message ? 2 : 0)
}

function parseArgs(argv) {
    const args = {}
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i]
        if (flag === '-h' || flag === '--help') usage()
        if (!['--plugin', '--input', '--output'].includes(flag)) usage(`unknown argument ${flag}`)
        if (argv[i + 1] === undefined) usage(`${flag} needs a value`)
        args[flag.slice(2)] = argv[++i]
    }
    if (!args.plugin || !PLUGINS[args.plugin]) usage('--plugin is required')
    if (!args.input) usage('--input is required')
    return args
}

// The modules a plugin could import (a subset of PostHog's src/worker/vm/imports.ts).
const IMPORTS = { crypto, url, zlib }

class TimeoutError extends Error {
    constructor(message, caller) {
        super(message)
        this.name = 'TimeoutError'
        this.caller = caller
    }
}

// PostHog's __asyncGuard: a method's promise raced against a TASK_TIMEOUT timer.
async function asyncGuard(promise, name) {
    let timer
    const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => {
            reject(new TimeoutError(`Script execution timed out after promise waited for ${TASK_TIMEOUT} seconds`, name))
        }, TASK_TIMEOUT * 1000)
    })
    try {
        return await Promise.race([promise, timeout])
    } finally {
        clearTimeout(timer)
    }
}

function createConsole(name) {
    const write = (level) => (...args) => process.stderr.write(`[${name}] ${level}: ${args.join(' ')}\n`)
    return { log: write('log'), info: write('info'), debug: () => {}, warn: write('warn'), error: write('error') }
}

// Redis (cache) and Postgres (storage) stood in for by a Map; values go in and out as JSON.
function createStore() {
    const values = new Map()
    return {
        async get(key, defaultValue) {
            const text = values.get(key)
            return text === undefined ? defaultValue : JSON.parse(text)
        },
        async set(key, value) {
            values.set(key, JSON.stringify(value))
        },
        async del(key) {
            values.delete(key)
        },
    }
}

// `fetch` that answers from the plugin's fixtures/http.json (the answers the harness serves).
function createFetch(manifestPath) {
    const fixturesPath = manifestPath && path.join(path.dirname(manifestPath), 'fixtures', 'http.json')
    const fixtures = fixturesPath && fs.existsSync(fixturesPath) ? JSON.parse(fs.readFileSync(fixturesPath, 'utf8')) : []
    return async function fetch(requestUrl, options = {}) {
        const method = (options.method || 'GET').toUpperCase()
        const fixture = fixtures.find((f) => (f.request.method || 'GET').toUpperCase() === method && f.request.url === requestUrl)
        if (!fixture) throw new Error(`no recorded response for ${method} ${requestUrl}`)
        const { status = 200, json, body } = fixture.response
        const text = json !== undefined ? JSON.stringify(json) : body || ''
        return { ok: status >= 200 && status < 300, status, text: async () => text, json: async () => JSON.parse(text) }
    }
}

// Config over the manifest's defaults (as PostHog's UI stored them, and as the harness fills them).
function pluginConfig(plugin) {
    const config = {}
    if (plugin.manifest) {
        const manifest = JSON.parse(fs.readFileSync(plugin.manifest, 'utf8'))
        for (const field of manifest.config || []) {
            if (field.key && field.default !== undefined) config[field.key] = String(field.default)
        }
    }
    return Object.assign(config, plugin.config)
}

async function createPluginConfigVM(plugin) {
    const code = fs.readFileSync(plugin.file, 'utf8')
    const vm = new VM({ timeout: TASK_TIMEOUT * 1000 + 1, sandbox: {} })
    vm.freeze(createConsole(plugin.name), 'console')
    vm.freeze(createFetch(plugin.manifest), 'fetch')
    vm.freeze(IMPORTS, '__pluginHostImports')
    // PostHog's later vm.ts brings `URL` in with vm.freeze(URL, 'URL'). Frozen, every URL made
    // from it is read-only inside the sandbox, and `url.pathname = ...` is silently ignored (so
    // the URL normalizer's trailing slash stays, in vm2 3.9.19 as in 3.12.2). Set unfrozen here,
    // so that the plugin does the work it means to and its output matches the harness's.
    vm.setGlobal('URL', URL)
    vm.freeze(
        { cache: createStore(), storage: createStore(), config: pluginConfig(plugin), attachments: {} },
        '__pluginHostMeta'
    )
    vm.run(`
        const module = { exports: {} };
        let exports = {};
        ${code};
    `)
    const responseVar = `__pluginDetails${crypto.randomBytes(16).toString('hex')}`
    vm.run(`
        let ${responseVar} = undefined;
        ((__asyncGuard) => {
            const destinations = [exports, exports.default, module.exports].filter((d) => typeof d === 'object');
            if (!destinations.find((d) => Object.keys(d).length > 0)) {
                destinations.push(global);
            }
            const getExported = (key) => destinations.find((d) => d[key])?.[key];
            const meta = { ...__pluginHostMeta, global: {} };
            const bindMeta = (key) => {
                const func = getExported(key);
                if (func) return (...args) => func(...args, meta);
            };
            const guard = (func, name) => (func ? (...args) => __asyncGuard(func(...args), name) : func);
            ${responseVar} = {
                methods: {
                    setupPlugin: guard(bindMeta('setupPlugin'), 'setupPlugin'),
                    processEvent: guard(bindMeta('processEvent'), 'processEvent'),
                },
            };
        })
    `)(asyncGuard)
    const { methods } = vm.run(responseVar)
    await vm.run(`${responseVar}.methods.setupPlugin?.()`)
    return { name: plugin.name, methods, succeeded: 0, failed: 0, dropped: 0, errors: new Map() }
}

// One event through the chain; null when a plugin dropped it.
async function runProcessEvent(plugins, event) {
    if (plugins.length === 0 || SKIPS_PROCESSING.includes(event.event)) return event
    let returned = event
    const succeeded = []
    const failed = []
    for (let i = 0; i < plugins.length; i++) {
        const plugin = plugins[i]
        if (!plugin.methods.processEvent) continue
        const label = `${plugin.name} (${i + 1})`
        try {
            returned = (await plugin.methods.processEvent(returned)) || null
            if (returned) {
                succeeded.push(label)
                plugin.succeeded++
            }
        } catch (error) {
            failed.push(label)
            plugin.failed++
            const message = String((error && error.message) || error)
            plugin.errors.set(message, (plugin.errors.get(message) || 0) + 1)
        }
        if (!returned) {
            plugin.dropped++
            return null
        }
    }
    returned.properties = returned.properties || {}
    returned.properties.$plugins_succeeded = succeeded
    returned.properties.$plugins_failed = failed
    return returned
}

async function main() {
    const args = parseArgs(process.argv.slice(2))
    const plugins = []
    for (const plugin of PLUGINS[args.plugin]()) plugins.push(await createPluginConfigVM(plugin))
    const output = new Output(args.output ? fs.openSync(args.output, 'w') : 1)
    let eventsIn = 0
    let emitted = 0
    let invalid = 0
    for (const line of readLines(args.input)) {
        let event
        try {
            event = JSON.parse(line)
        } catch (error) {
            invalid++
            continue
        }
        eventsIn++
        const result = await runProcessEvent(plugins, event)
        if (result) {
            output.line(JSON.stringify(result))
            emitted++
        }
    }
    output.flush()
    const perPlugin = plugins.map((p) => {
        const errors = [...p.errors].map(([message, count]) => `${count}× ${message}`).join('; ')
        return `  ${p.name}: ${p.succeeded} succeeded, ${p.failed} failed, ${p.dropped} dropped${errors ? ` (${errors})` : ''}`
    })
    process.stderr.write(
        [`vm2 ${args.plugin}: ${eventsIn} events in, ${emitted} emitted, ${eventsIn - emitted} dropped, ${invalid} invalid lines`, ...perPlugin].join('\n') + '\n'
    )
}

main().catch((error) => {
    process.stderr.write(`error: ${(error && error.stack) || error}\n`)
    process.exit(2)
})
