#!/usr/bin/env node
// Deterministic generator of pageview-like PostHog events, as JSONL on stdout.
//
//   node benches/vm2/gen-events.js --seed 1 --count 200000 > events.jsonl
//
// The same seed and count always give the same bytes (a fixed PRNG, mulberry32; no clock, no
// Math.random), so the vm2 side and the harness side read the very same file. Events follow
// schemas/event.schema.json and schemas/events/pageview.schema.json: hyphenated UUIDs, RFC 3339
// timestamps with a `Z`, team_id >= 1, `$current_url` on every `$pageview`. Lines are about 675
// bytes. The mix exercises the example pipeline: mixed-case hosts and paths with and without
// trailing slashes (url-normalizer), `$ip` (property-filter), custom event names in assorted
// conventions (taxonomy), `$lib_version` (semver-flattener), amounts and currency codes
// (currency-normalization, codes from its rates fixture), and users that come back
// (first-time-event-tracker, downsampling per distinct_id).
'use strict'
const { Output } = require('./io')

function parseArgs(argv) {
    const args = { seed: 1, count: 1000 }
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i]
        const value = argv[i + 1]
        if (flag === '--seed' || flag === '--count') {
            if (value === undefined || !/^\d+$/.test(value)) {
                throw new Error(`${flag} needs a non-negative integer`)
            }
            args[flag.slice(2)] = Number(value)
            i++
        } else if (flag === '--help' || flag === '-h') {
            process.stdout.write('usage: node gen-events.js [--seed N] [--count N] > events.jsonl\n')
            process.exit(0)
        } else {
            throw new Error(`unknown argument ${flag}`)
        }
    }
    return args
}

// mulberry32: a tiny 32-bit PRNG, identical on every platform.
function mulberry32(seed) {
    let a = seed >>> 0
    return function next() {
        a = (a + 0x6d2b79f5) >>> 0
        let t = a
        t = Math.imul(t ^ (t >>> 15), t | 1)
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    }
}

function makeGenerator(seed) {
    const random = mulberry32(seed)
    const int = (n) => Math.floor(random() * n)
    const pick = (items) => items[int(items.length)]
    const hex = (digits) => {
        let out = ''
        for (let i = 0; i < digits; i++) out += '0123456789abcdef'[int(16)]
        return out
    }
    // A version 4 UUID (variant 10xx), hyphenated.
    const uuid = () =>
        `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[int(4)]}${hex(3)}-${hex(12)}`
    return { random, int, pick, hex, uuid }
}

const HOSTS = ['WWW.HogFlix.com', 'www.hogflix.com', 'App.HogFlix.com', 'hogflix.com', 'Docs.Example.ORG', 'shop.example.org']
const PATHS = [
    '/', '/Pricing', '/pricing/', '/docs/Getting-Started', '/Docs/Getting-Started/', '/blog/',
    '/Blog/Why-We-Use-Rust', '/movies/1234/Details/', '/account/Settings', '/checkout/', '/Search',
]
const QUERIES = ['', '', '', '?utm_source=google&utm_medium=cpc&utm_campaign=Spring_Sale', '?q=Hedgehogs', '?ref=Newsletter#Top']
const BROWSERS = [
    ['Chrome', 124, 'Mac OS X', 1536, 864],
    ['Firefox', 126, 'Windows', 1920, 1080],
    ['Safari', 17.4, 'iOS', 390, 844],
    ['Chrome', 125, 'Android', 412, 915],
    ['Edge', 124, 'Windows', 2560, 1440],
]
const LIB_VERSIONS = ['1.105.4', '1.130.0', 'v1.96.1', '1.140.2-beta.1', '1.139.0+build.7']
const REFERRERS = ['$direct', 'https://www.google.com/', 'https://news.ycombinator.com/', 'https://duckduckgo.com/']
const CUSTOM_EVENTS = ['User Signed Up', 'user_signed_up', 'PurchaseCompleted', 'purchase-completed', 'videoPlayed', 'signed up']
const CURRENCIES = ['USD', 'EUR', 'eur', 'GBP', 'JPY', 'CAD', 'chf']
const TOKEN = 'phc_Hx7kQ2mVb9LpR4sT8wYc3nDf6gJh1zKa5eUo0iXqWvB'
const START_MS = Date.UTC(2024, 7, 18, 9, 0, 0) // 2024-08-18T09:00:00Z

function* events({ seed, count }) {
    const g = makeGenerator(seed)
    // Users come back: about one user per 20 events.
    const users = []
    const userCount = Math.max(1, Math.ceil(count / 20))
    for (let i = 0; i < userCount; i++) {
        users.push({
            distinctId: g.uuid(),
            sessionId: g.uuid(),
            ip: `${1 + g.int(223)}.${g.int(256)}.${g.int(256)}.${1 + g.int(254)}`,
            browser: g.pick(BROWSERS),
            libVersion: g.pick(LIB_VERSIONS),
        })
    }
    let ms = START_MS
    for (let i = 0; i < count; i++) {
        ms += 1 + g.int(400)
        const user = g.pick(users)
        const [browser, browserVersion, os, width, height] = user.browser
        const host = g.pick(HOSTS)
        const pathname = g.pick(PATHS)
        const url = `https://${host}${pathname}${g.pick(QUERIES)}`
        const roll = g.random()
        const name = roll < 0.8 ? '$pageview' : roll < 0.9 ? '$pageleave' : g.pick(CUSTOM_EVENTS)
        const properties = {
            $os: os,
            $browser: browser,
            $browser_version: browserVersion,
            $current_url: url,
            $host: host,
            $pathname: pathname,
            $screen_width: width,
            $screen_height: height,
            $lib: 'web',
            $lib_version: user.libVersion,
            $time: ms / 1000,
            $session_id: user.sessionId,
            $referrer: g.pick(REFERRERS),
            $ip: user.ip,
            token: TOKEN,
        }
        if (name !== '$pageview' && name !== '$pageleave' && g.random() < 0.6) {
            properties.amount = g.random() < 0.5 ? Math.round(g.random() * 50000) / 100 : String(1 + g.int(999))
            properties.currency = g.pick(CURRENCIES)
        }
        const timestamp = new Date(ms).toISOString()
        yield {
            event: name,
            distinct_id: user.distinctId,
            uuid: g.uuid(),
            team_id: 1 + g.int(2),
            timestamp,
            now: new Date(ms + 1500 + g.int(3000)).toISOString(),
            properties,
        }
    }
}

function main() {
    const args = parseArgs(process.argv.slice(2))
    const out = new Output(1)
    for (const event of events(args)) out.line(JSON.stringify(event))
    out.flush()
}

if (require.main === module) {
    main()
}

module.exports = { events, mulberry32 }
