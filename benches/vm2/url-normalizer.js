// url-normalizer as a PostHog plugin (its index.js, as the plugin server ran it in vm2).
//
// Logic of PostHog's URL normalizer plugin (MarkBennett/posthog-url-normalizer-plugin, whose
// later form PostHog keeps at plugin-server/src/cdp/legacy-plugins/_transformations/
// posthog-url-normalizer-plugin/index.ts): lower-case the whole `$current_url`, parse it with
// `URL`, drop one trailing slash from the path, serialise it again; an invalid URL is an error.
// The query and fragment are lower-cased too, and a bare `/` path stays (`URL` writes one for
// http and https). plugins/url-normalizer, the Rust plugin, follows the same logic; the pipeline
// (pipeline.js) uses this file for it.
//
// `URL` is the global the plugin server put into the sandbox (see run.js).

function normalizeUrl(url) {
    let parsed
    try {
        parsed = new URL(url.toLowerCase())
    } catch (error) {
        throw new Error(`Unable to normalize invalid URL: "${url}"`)
    }
    if (parsed.pathname.endsWith('/')) {
        parsed.pathname = parsed.pathname.slice(0, -1)
    }
    return parsed.toString()
}

function processEvent(event, meta) {
    const url = event.properties ? event.properties.$current_url : undefined
    if (url) {
        event.properties.$current_url = normalizeUrl(url)
    }
    return event
}
