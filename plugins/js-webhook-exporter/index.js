// Posts batches of final events to a webhook, as PostHog's export plugins do: exportEvents gets
// a buffered batch; RetryError asks for it again later.

export function setupPlugin({ config, global }) {
    global.ignored = new Set(
        (config.eventsToIgnore || '')
            .split(',')
            .map((name) => name.trim())
            .filter((name) => name.length > 0)
    )
}

export async function exportEvents(events, { config, global }) {
    const batch = events
        .filter((event) => !global.ignored.has(event.event))
        .map((event) => ({
            event: event.event,
            distinct_id: event.distinct_id,
            timestamp: event.timestamp,
            uuid: event.uuid,
            properties: event.properties,
        }))
    if (batch.length === 0) {
        return
    }
    const response = await fetch(config.webhookUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ batch }),
    })
    if (response.status >= 500) {
        throw new RetryError(`the webhook answered ${response.status}`)
    }
    if (!response.ok) {
        throw new Error(`the webhook rejected the batch (${response.status})`)
    }
}
