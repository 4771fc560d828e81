// The URL normalizer in PostHog's style, after posthog-url-normalizer-plugin: the same steps,
// written here (PostHog/posthog, plugin-server/src/cdp/legacy-plugins/_transformations/
// posthog-url-normalizer-plugin/index.ts).

interface PluginEvent {
    event: string
    properties?: Record<string, any>
}

function normalizeUrl(url: string): string {
    try {
        const parsed = new URL(url.toLocaleLowerCase())
        parsed.pathname = parsed.pathname.replace(/\/$/, '')
        return parsed.toString()
    } catch (err) {
        throw `Unable to normalize invalid URL: "${url}"`
    }
}

export function processEvent(event: PluginEvent): PluginEvent {
    const currentUrl = event?.properties?.$current_url
    if (event?.properties && currentUrl) {
        const normalized = normalizeUrl(currentUrl)
        event.properties.$current_url = normalized
        console.debug(`event.$current_url: "${currentUrl}" normalized to "${normalized}"`)
    }
    return event
}
