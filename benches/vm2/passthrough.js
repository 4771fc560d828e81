// The smallest PostHog plugin: every event passes unchanged. What is measured is the sandbox:
// the call into vm2, the event crossing its proxies, the async guard around the call.
function processEvent(event) {
    return event
}
