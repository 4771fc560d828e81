// Converts amounts into one currency, as PostHog's currency normalization plugin does: the day's
// rates come from openexchangerates.org and are kept in the cache for a day.

const DAY_SECONDS = 24 * 60 * 60

async function fetchRates({ config, cache }) {
    const cached = await cache.get('rates', null)
    if (cached) {
        return cached
    }
    const url = `https://openexchangerates.org/api/latest.json?app_id=${config.openExchangeRatesApiKey}`
    const response = await fetch(url)
    if (!response.ok) {
        throw new Error(`openexchangerates.org answered ${response.status}`)
    }
    const body = await response.json()
    await cache.set('rates', body.rates, DAY_SECONDS)
    return body.rates
}

export async function processEvent(event, meta) {
    const { config } = meta
    const properties = event.properties
    if (!properties) {
        return event
    }
    const amount = Number(properties[config.amountProperty])
    const currency = properties[config.currencyProperty]
    if (typeof currency !== 'string' || properties[config.amountProperty] === undefined || !Number.isFinite(amount)) {
        return event
    }
    const rates = await fetchRates(meta)
    const from = rates[currency.toUpperCase()]
    const to = rates[config.normalizedCurrency]
    if (!from || !to) {
        return event
    }
    properties[config.normalizedAmountProperty] = Math.round((amount / from) * to * 10000) / 10000
    properties[config.normalizedCurrencyProperty] = config.normalizedCurrency
    return event
}
