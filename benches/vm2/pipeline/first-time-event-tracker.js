// first-time-event-tracker (after plugins/first-time-event-tracker/src/lib.rs): listed events
// get is_first_event_ever and is_first_event_for_user, remembered in `storage` (keys
// `first:<event>` and `first:<event>:<distinct_id>`, `%` and `:` escaped in the event name).
// PostHog's storage was Postgres; run.js gives an in-memory Map behind the same async API.
const escape = (name) => name.replace(/%/g, '%25').replace(/:/g, '%3A')

async function firstTime(storage, key) {
    const seen = (await storage.get(key, null)) !== null
    if (!seen) await storage.set(key, true)
    return !seen
}

function setupPlugin({ config, global }) {
    global.events = (config.events || '')
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name)
}

async function processEvent(event, { global, storage }) {
    if (global.events.includes(event.event)) {
        const ever = await firstTime(storage, `first:${escape(event.event)}`)
        const forUser = await firstTime(storage, `first:${escape(event.event)}:${event.distinct_id}`)
        event.properties = event.properties || {}
        event.properties.is_first_event_ever = ever
        event.properties.is_first_event_for_user = forUser
    }
    return event
}
