// Records what the real PostHog SDKs send: posthog-js in headless Chromium (driven by
// puppeteer-core against the system's browser) and posthog-node, both pointed at a capture
// endpoint this script runs on loopback. Every request the endpoint receives is written, raw
// (method, path, query, headers, body as base64), to OUT/requests.jsonl; the harness turns
// them into the events a plugin sees (`harness::corpus_record`), so this script converts
// nothing. Run by `cargo xtask corpus record`; by hand:
//
//   node record.js --out DIR --chromium /usr/bin/chromium
//
// The script prints the versions it recorded as one JSON object on stdout.

'use strict'

const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')

const TOKEN = 'phc_recorder0000000000000000000000000000000000'
const FLAG = 'recorder-flag'
const VARIANT_FLAG = 'recorder-experiment'

function argument(name) {
    const at = process.argv.indexOf(name)
    if (at < 0 || at + 1 >= process.argv.length) {
        throw new Error(`missing ${name}`)
    }
    return process.argv[at + 1]
}

function version(pkg) {
    return require(path.join(__dirname, 'node_modules', pkg, 'package.json')).version
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// The answer to /flags/ and /decide/ (and remote config): every feature of posthog-js we want
// recorded is switched on here, as PostHog's own answer does for a project that enabled it.
function flagsAnswer() {
    const flag = (key, variant) => ({
        key,
        enabled: true,
        variant,
        reason: { code: 'condition_match', description: 'Matched condition set 1', condition_index: 0 },
        metadata: { id: key === FLAG ? 1 : 2, version: 1, payload: null },
    })
    return {
        flags: { [FLAG]: flag(FLAG, null), [VARIANT_FLAG]: flag(VARIANT_FLAG, 'test') },
        featureFlags: { [FLAG]: true, [VARIANT_FLAG]: 'test' },
        featureFlagPayloads: {},
        errorsWhileComputingFlags: false,
        requestId: '00000000-0000-4000-8000-000000000000',
        quotaLimited: [],
        config: { enable_collect_everything: true },
        isAuthenticated: false,
        supportedCompression: ['gzip', 'gzip-js'],
        autocapture_opt_out: false,
        autocaptureExceptions: true,
        captureDeadClicks: true,
        heatmaps: true,
        capturePerformance: { network_timing: true, web_vitals: true, web_vitals_allowed_metrics: null },
        sessionRecording: { endpoint: '/s/', recordCanvas: false, sampleRate: null, minimumDurationMilliseconds: null },
        siteApps: [],
        surveys: false,
        toolbarParams: {},
        elementsChainAsString: true,
    }
}

const PAGE = (title, body) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title}</title>
<style>.fake-link { cursor: pointer; text-decoration: underline; } button, a, span { margin: 1em; display: inline-block; }</style>
<script src="/static/array.full.js"></script>
<script>
  posthog.init(${JSON.stringify(TOKEN)}, {
    api_host: location.origin,
    debug: ${Boolean(process.env.RECORDER_DEBUG)},
    autocapture: true,
    capture_pageview: true,
    capture_pageleave: true,
    capture_dead_clicks: true,
    enable_heatmaps: true,
    capture_heatmaps: { flushIntervalMilliseconds: 1000 },
    capture_performance: { web_vitals: true },
    capture_exceptions: true,
    disable_session_recording: false,
    persistence: 'localStorage+cookie',
    loaded: (ph) => { window.__recorderLoaded = true },
  })
</script>
</head>
<body>
<main>
${body}
</main>
</body>
</html>`

const HOME = PAGE(
    'Hedgehog shop',
    `<h1>Hedgehog shop</h1>
<p id="status">Nothing bought yet.</p>
<button id="buy" class="btn primary" data-product="socks">Buy socks</button>
<button id="rage" class="btn">Does nothing</button>
<span id="dead" class="fake-link">Looks like a link</span>
<button id="boom" class="btn danger" onclick="setTimeout(() => { throw new TypeError('hedgehog is undefined') })">Break</button>
<form id="signup" onsubmit="event.preventDefault(); document.getElementById('status').textContent = 'Signed up'">
  <label>E-mail <input id="email" name="email" type="email"></label>
  <select id="plan" name="plan"><option value="free">Free</option><option value="pro">Pro</option></select>
  <button id="submit" type="submit">Sign up</button>
</form>
<button id="save-profile" class="btn">Save profile</button>
<a id="next" href="/pricing?ref=home">Pricing</a>
<script>
  document.getElementById('buy').addEventListener('click', () => { document.getElementById('status').textContent = 'Socks bought' })
  // The SDK's API, as an app calls it: on a click, so that no frame of the recorder's own
  // script is in an exception's stack.
  document.getElementById('save-profile').addEventListener('click', () => {
    posthog.getFeatureFlag(${JSON.stringify(FLAG)})
    posthog.isFeatureEnabled(${JSON.stringify(VARIANT_FLAG)})
    posthog.capture('plan selected', { plan: 'pro', price: 12.5, currency: 'EUR', features: ['a', 'b'] })
    posthog.captureException(new Error('checkout failed'), { step: 'payment' })
    posthog.identify('user-42', { email: 'jane@example.com', name: 'Jane' }, { first_seen_plan: 'free' })
    posthog.setPersonProperties({ plan: 'pro' }, { signup_source: 'recorder' })
    posthog.group('company', 'acme', { name: 'Acme', employees: 12 })
    posthog.group('project', 'proj-1')
    posthog.alias('jane-alias')
  })
</script>`,
)

const PRICING = PAGE(
    'Pricing',
    `<h1>Pricing</h1>
<p>Free for hedgehogs.</p>
<a id="back" href="/">Home</a>`,
)

function startServer(requests) {
    const dist = path.join(__dirname, 'node_modules', 'posthog-js', 'dist')
    const server = http.createServer((req, res) => {
        const chunks = []
        req.on('data', (chunk) => chunks.push(chunk))
        req.on('end', () => {
            const url = new URL(req.url, 'http://127.0.0.1')
            const body = Buffer.concat(chunks)
            const send = (status, type, content) => {
                res.writeHead(status, {
                    'content-type': type,
                    'access-control-allow-origin': req.headers.origin || '*',
                    'access-control-allow-credentials': 'true',
                    'access-control-allow-headers': req.headers['access-control-request-headers'] || '*',
                })
                res.end(content)
            }
            if (req.method === 'OPTIONS') {
                return send(204, 'text/plain', '')
            }
            if (req.method === 'GET' && url.pathname === '/') {
                return send(200, 'text/html; charset=utf-8', HOME)
            }
            if (req.method === 'GET' && url.pathname === '/pricing') {
                return send(200, 'text/html; charset=utf-8', PRICING)
            }
            if (req.method === 'GET' && url.pathname.startsWith('/static/')) {
                const file = path.join(dist, path.basename(url.pathname))
                if (fs.existsSync(file)) {
                    return send(200, 'application/javascript', fs.readFileSync(file))
                }
                return send(404, 'text/plain', 'not found')
            }
            if (req.method === 'GET' && url.pathname === '/favicon.ico') {
                return send(404, 'text/plain', 'not found')
            }
            // Everything else is PostHog's API: record it whole, and answer as PostHog would.
            requests.push({
                method: req.method,
                path: url.pathname,
                query: url.search.replace(/^\?/, ''),
                headers: {
                    'content-type': req.headers['content-type'] || null,
                    'content-encoding': req.headers['content-encoding'] || null,
                    'user-agent': req.headers['user-agent'] || null,
                    host: req.headers.host || null,
                },
                client_ip: req.socket.remoteAddress.replace(/^::ffff:/, ''),
                received_at: new Date().toISOString(),
                body: body.toString('base64'),
            })
            if (url.pathname.endsWith('/config.js')) {
                // Remote config as a script, the way PostHog serves it.
                const script = `window._POSTHOG_REMOTE_CONFIG = window._POSTHOG_REMOTE_CONFIG || {};
window._POSTHOG_REMOTE_CONFIG[${JSON.stringify(TOKEN)}] = { config: ${JSON.stringify(flagsAnswer())}, siteApps: [] };`
                return send(200, 'application/javascript', script)
            }
            if (url.pathname.startsWith('/flags') || url.pathname.startsWith('/decide') || url.pathname.endsWith('/config')) {
                return send(200, 'application/json', JSON.stringify(flagsAnswer()))
            }
            return send(200, 'application/json', JSON.stringify({ status: 1 }))
        })
    })
    return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

async function recordBrowser(origin, chromium) {
    const puppeteer = require('puppeteer-core')
    const browser = await puppeteer.launch({
        executablePath: chromium,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-blink-features=AutomationControlled'],
    })
    const chromiumVersion = await browser.version()
    try {
        const page = await browser.newPage()
        page.on('pageerror', () => {}) // the uncaught error is on purpose
        if (process.env.RECORDER_DEBUG) {
            // RECORDER_DEBUG=1: posthog-js's debug log and every request the page makes.
            page.on('console', (m) => process.stderr.write(`console: ${m.text().slice(0, 300)}\n`))
            page.on('request', (r) => process.stderr.write(`request: ${r.method()} ${r.url().slice(0, 150)}\n`))
        }
        await page.setViewport({ width: 1280, height: 800 })
        // posthog-js drops the events of a user agent that looks like a bot, as headless
        // Chromium's does: the recording uses the same browser's user agent as a person's
        // (non-headless) Chromium sends it.
        await page.setUserAgent((await browser.userAgent()).replace('HeadlessChrome', 'Chrome'))
        await page.goto(
            `${origin}/?utm_source=newsletter&utm_medium=email&utm_campaign=winter_sale&gclid=recorder-gclid&fbclid=recorder-fbclid`,
            { waitUntil: 'load' },
        )
        await page.waitForFunction(() => window.__recorderLoaded === true, { timeout: 15000 })
        await sleep(1500)
        await page.mouse.move(100, 100)
        await page.mouse.move(400, 300, { steps: 10 })
        await page.click('#buy')
        await sleep(500)
        // A rage click: four clicks in a row on the same spot.
        for (let i = 0; i < 4; i++) {
            await page.click('#rage', { delay: 20 })
        }
        await sleep(300)
        // A dead click: a link-looking span that does nothing.
        await page.click('#dead')
        await sleep(3500)
        await page.type('#email', 'jane@example.com', { delay: 10 })
        await page.select('#plan', 'pro')
        await page.click('#submit')
        await sleep(300)
        await page.click('#boom')
        await sleep(500)
        await page.click('#save-profile')
        await sleep(2500)
        await page.click('#next')
        await page.waitForFunction(() => window.__recorderLoaded === true, { timeout: 15000 })
        await sleep(2000)
        await page.mouse.move(200, 200, { steps: 5 })
        await page.click('#back')
        await page.waitForFunction(() => window.__recorderLoaded === true, { timeout: 15000 })
        await sleep(2000)
        // Hiding the page flushes web vitals, heatmaps and the recording buffer.
        await page.evaluate(() => {
            Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true })
            document.dispatchEvent(new Event('visibilitychange'))
            window.dispatchEvent(new Event('pagehide'))
        })
        await sleep(3000)
        await page.close({ runBeforeUnload: true })
        await sleep(1000)
    } finally {
        await browser.close()
    }
    return chromiumVersion
}

async function recordNode(origin) {
    const { PostHog } = require('posthog-node')
    const client = new PostHog(TOKEN, { host: origin, flushAt: 5, flushInterval: 200 })
    const user = 'd7b2c9a0-5e1f-4c3b-9a8d-7f6e5d4c3b2a'
    client.capture({ distinctId: user, event: 'order completed', properties: { order_id: 'ord_1', amount: 42.5, currency: 'usd', items: [{ sku: 'socks', qty: 2 }] } })
    // A server-side page view without $current_url: PostHog ingests it.
    client.capture({ distinctId: user, event: '$pageview', properties: { path: '/api/render', $referrer: null } })
    client.capture({ distinctId: user, event: '$pageview', properties: { $current_url: 'https://shop.example.com/checkout?utm_source=email', title: 'Checkout' } })
    client.capture({ distinctId: 'user-7', event: 'report exported', properties: { format: 'csv', rows: 1200 }, groups: { company: 'acme' } })
    // A lone UTF-16 surrogate, as JSON.stringify writes it: PostHog's capture makes it U+FFFD.
    client.capture({ distinctId: 'user-7', event: 'note saved', properties: { text: 'broken \ud83d emoji', length: 14 } })
    client.identify({ distinctId: user, properties: { email: 'sam@example.com', plan: 'team', $set_once: { first_order: 'ord_1' } } })
    client.identify({ distinctId: 'user-7', properties: { name: 'Seven' } })
    client.alias({ distinctId: user, alias: 'sam-legacy-id' })
    client.groupIdentify({ groupType: 'company', groupKey: 'acme', properties: { name: 'Acme', plan: 'enterprise' } })
    client.groupIdentify({ groupType: 'project', groupKey: 'proj-1' })
    client.captureException(new Error('payment provider timed out'), user, { order_id: 'ord_1' })
    await client.getFeatureFlag(FLAG, user)
    await client.getFeatureFlag(VARIANT_FLAG, 'user-7')
    client.capture({ distinctId: user, event: 'checkout started', sendFeatureFlags: true })
    await sleep(500)
    await client.shutdown()
}

async function main() {
    const out = argument('--out')
    const chromium = argument('--chromium')
    fs.mkdirSync(out, { recursive: true })
    const browserRequests = []
    const nodeRequests = []
    const browserServer = await startServer(browserRequests)
    const nodeServer = await startServer(nodeRequests)
    const origin = (server) => `http://127.0.0.1:${server.address().port}`
    const chromiumVersion = await recordBrowser(origin(browserServer), chromium)
    await recordNode(origin(nodeServer))
    browserServer.close()
    nodeServer.close()
    const write = (name, requests) =>
        fs.writeFileSync(path.join(out, name), requests.map((r) => JSON.stringify(r) + '\n').join(''))
    write('posthog-js.requests.jsonl', browserRequests)
    write('posthog-node.requests.jsonl', nodeRequests)
    process.stdout.write(
        JSON.stringify({
            recorded_at: new Date().toISOString(),
            'posthog-js': version('posthog-js'),
            'posthog-node': version('posthog-node'),
            'puppeteer-core': version('puppeteer-core'),
            chromium: chromiumVersion,
            node: process.version,
            browser_requests: browserRequests.length,
            node_requests: nodeRequests.length,
        }) + '\n',
    )
}

main().catch((error) => {
    process.stderr.write(`record.js: ${error && error.stack ? error.stack : error}\n`)
    process.exit(1)
})
