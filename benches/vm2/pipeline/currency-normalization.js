// currency-normalization (after plugins/currency-normalization/src/lib.rs): an event with an
// amount (number or numeric string) and a three-letter currency gets normalizedAmountProperty
// (the amount converted into normalizedCurrency through the rates, amount * rate[to] /
// rate[from], rounded to 4 decimals with Math.round) and normalizedCurrencyProperty; a currency
// the rates do not list leaves the event unchanged. Rates come from openexchangerates.org through
// `fetch` (answered by run.js from plugins/currency-normalization/fixtures/http.json, the rates
// the harness serves) on the first event that needs them, and are kept in `cache` for a day.
const RATES_URL = 'https://openexchangerates.org/api/latest.json'
const RATES_TTL_SECONDS = 86400

const setting = (config, key, fallback) => (config[key] !== undefined ? config[key] : fallback)

function currencyCode(text) {
    const code = text.trim()
    return /^[A-Za-z]{3}$/.test(code) ? code.toUpperCase() : null
}

function amountValue(value) {
    let amount = null
    if (typeof value === 'number') amount = value
    else if (typeof value === 'string') {
        const text = value.trim()
        if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) amount = Number(text)
    }
    return amount !== null && Number.isFinite(amount) ? amount : null
}

function round4(value) {
    const scaled = value * 10000
    return Number.isFinite(scaled) ? Math.round(scaled) / 10000 : value
}

function parseRates(body) {
    const rates = body && body.rates
    if (typeof rates !== 'object' || rates === null || Array.isArray(rates)) {
        throw new Error('the exchange rates answer has no `rates` object')
    }
    const usable = {}
    for (const [code, rate] of Object.entries(rates)) {
        const upper = currencyCode(code)
        if (upper && typeof rate === 'number' && Number.isFinite(rate) && rate > 0) usable[upper] = rate
    }
    if (Object.keys(usable).length === 0) throw new Error('the exchange rates answer lists no usable rate')
    return usable
}

async function fetchRates(apiKey) {
    const response = await fetch(`${RATES_URL}?app_id=${encodeURIComponent(apiKey)}`)
    if (!response.ok) {
        throw new Error(`fetching exchange rates failed: openexchangerates.org answered ${response.status}`)
    }
    return parseRates(await response.json())
}

async function currentRates({ cache, global }) {
    const cached = await cache.get('rates', null)
    if (cached !== null) {
        global.rates = cached
        return cached
    }
    try {
        global.rates = await fetchRates(global.apiKey)
        await cache.set('rates', global.rates, RATES_TTL_SECONDS)
    } catch (error) {
        if (!global.rates) throw error
        console.warn(`${error.message}; going on with the exchange rates fetched before`)
    }
    return global.rates
}

function convert(amount, from, to, rates) {
    const has = (code) => Object.prototype.hasOwnProperty.call(rates, code)
    if (!has(from) || !has(to)) return null
    const converted = (amount * rates[to]) / rates[from]
    return Number.isFinite(converted) ? round4(converted) : null
}

function outputProperty(config, key, fallback) {
    const name = setting(config, key, fallback)
    if (!name.trim()) throw new Error(`config value \`${key}\` is blank: it names the property to write`)
    return name
}

function setupPlugin({ config, global }) {
    const apiKey = (config.openExchangeRatesApiKey || '').trim()
    if (!apiKey) throw new Error('config value `openExchangeRatesApiKey` is required')
    const raw = setting(config, 'normalizedCurrency', 'EUR')
    const normalized = currencyCode(raw)
    if (!normalized) throw new Error(`config value \`normalizedCurrency\` = ${JSON.stringify(raw)} is not a three-letter currency code`)
    global.apiKey = apiKey
    global.normalizedCurrency = normalized
    global.amountProperty = setting(config, 'amountProperty', 'amount')
    global.currencyProperty = setting(config, 'currencyProperty', 'currency')
    global.normalizedAmountProperty = outputProperty(config, 'normalizedAmountProperty', 'normalized_amount')
    global.normalizedCurrencyProperty = outputProperty(config, 'normalizedCurrencyProperty', 'normalized_currency')
    global.rates = null
}

async function processEvent(event, meta) {
    const { global } = meta
    const properties = event.properties
    if (!properties) return event
    const amount = amountValue(properties[global.amountProperty])
    const rawCurrency = properties[global.currencyProperty]
    const currency = typeof rawCurrency === 'string' ? currencyCode(rawCurrency) : null
    if (amount === null || currency === null) return event
    const target = global.normalizedCurrency
    const normalized = convert(amount, currency, target, await currentRates(meta))
    if (normalized === null) return event
    properties[global.normalizedAmountProperty] = normalized
    properties[global.normalizedCurrencyProperty] = target
    return event
}
