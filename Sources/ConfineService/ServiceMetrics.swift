import Prometheus

/// The service's Prometheus metrics. Labels take only configured function names, route names
/// and fixed outcome words, so a client cannot grow the series without bound.
final class ServiceMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let buckets: [Duration] = [.milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                                       .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                                       .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60)]
    let inFlight: Gauge
    let queueDepth: Gauge
    let asyncPending: Gauge
    let asyncPolls: Counter

    init() {
        inFlight = registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "confine", metricName: "in_flight", unitName: "requests", helpText: "Invocations and executions running now."))
        queueDepth = registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "confine", metricName: "queue_depth", unitName: "requests", helpText: "Requests waiting for a free slot."))
        asyncPending = registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "confine", metricName: "async_pending", unitName: "tasks", helpText: "Asynchronous invocations enqueued or running."))
        asyncPolls = registry.makeCounter(descriptor: MetricNameDescriptor(
            namespace: "confine", metricName: "async_queue_polls", unitName: "total",
            helpText: "Times the asynchronous workers looked for a task (each worker about once a second when idle)."))
    }

    /// One finished invocation (route "invoke"/"async") or execution (route "exec"/"exec-stream").
    func completed(route: String, function: String, outcome: String, duration: Duration) {
        registry.makeCounter(descriptor: MetricNameDescriptor(
            namespace: "confine", metricName: "invocations", unitName: "total", helpText: "Invocations and executions by route, function and outcome."),
            labels: [("route", route), ("function", function), ("outcome", outcome)]).increment()
        registry.makeDurationHistogram(descriptor: MetricNameDescriptor(
            namespace: "confine", metricName: "request_duration", unitName: "seconds", helpText: "Time from a request's arrival to its answer."),
            labels: [("route", route)], buckets: buckets).record(duration)
    }

    /// A syscall a policy refused.
    func refused(policy: String, syscall: String) {
        registry.makeCounter(descriptor: MetricNameDescriptor(
            namespace: "confine", metricName: "refused_syscalls", unitName: "total", helpText: "Syscalls refused by a policy, by policy and syscall."),
            labels: [("policy", policy), ("syscall", syscall)]).increment()
    }

    /// A request turned away before it ran: unauthorized, forbidden, rate-limited, overloaded, bad-request.
    func rejected(reason: String) {
        registry.makeCounter(descriptor: MetricNameDescriptor(
            namespace: "confine", metricName: "rejected_requests", unitName: "total", helpText: "Requests refused before running, by reason."),
            labels: [("reason", reason)]).increment()
    }

    func text() -> [UInt8] { registry.emitToBuffer() }
}
