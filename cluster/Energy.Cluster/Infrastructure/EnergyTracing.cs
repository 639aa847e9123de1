using System.Diagnostics;

namespace Energy.Cluster;

/// <summary>
/// The node's spans, from the one activity source named <see cref="SourceName"/>: the gateway's calls, the entities
/// handling a payment, the journal's writes, the ledger's blocks and settlements. While nothing listens (no trace
/// exporter configured) every start returns null and costs a flag test.
/// </summary>
public static class EnergyTracing
{
    public const string SourceName = "Energy";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>
    /// Starts a span for work an entity answers later (once durable). Its parent is the span named by
    /// <paramref name="traceParent"/>, or none: an actor's thread carries no ambient span from its sender. The
    /// thread's current span is left as it was, because the thread goes on to other messages before this one ends.
    /// </summary>
    public static System.Diagnostics.Activity? StartHandling(string name, string? traceParent, ActivityKind kind = ActivityKind.Internal)
    {
        if (!Source.HasListeners()) return null;
        var parent = traceParent is not null && ActivityContext.TryParse(traceParent, null, isRemote: true, out var context) ? context : default;
        return StartDetached(name, kind, parent, links: null);
    }

    /// <summary>Starts a span that begins a trace of its own (a journal write or a ledger block, each serving many payments), linked to the spans it serves.</summary>
    public static System.Diagnostics.Activity? StartRoot(string name, IEnumerable<ActivityLink>? links = null) =>
        Source.HasListeners() ? StartDetached(name, ActivityKind.Internal, default, links) : null;

    /// <summary>Ends a span started by <see cref="StartHandling"/> or <see cref="StartRoot"/>, marking it failed when <paramref name="error"/> says why.</summary>
    public static void End(System.Diagnostics.Activity? span, string? error = null)
    {
        if (span is null) return;
        if (error is not null) span.SetStatus(ActivityStatusCode.Error, error);
        var current = System.Diagnostics.Activity.Current;
        span.Stop();
        System.Diagnostics.Activity.Current = current;
    }

    /// <summary>The traceparent to send with a command made inside <paramref name="span"/>, or null when there is no span to continue.</summary>
    public static string? TraceParentOf(System.Diagnostics.Activity? span) => span is { IdFormat: ActivityIdFormat.W3C } ? span.Id : null;

    /// <summary>
    /// The message as it is sent from the current span: a traced command without a traceparent takes the current
    /// span's; anything else goes as it is. Allocates only while a span is current.
    /// </summary>
    public static object Stamp(object message) =>
        message is ITraced { TraceParent: null } traced && TraceParentOf(System.Diagnostics.Activity.Current) is { } traceParent ? traced.WithTraceParent(traceParent) : message;

    /// <summary>A link to the span a traceparent names, for a root span that serves it; false when it names none.</summary>
    public static bool TryLink(string? traceParent, out ActivityLink link)
    {
        link = default;
        if (traceParent is null || !ActivityContext.TryParse(traceParent, null, isRemote: true, out var context)) return false;
        link = new ActivityLink(context);
        return true;
    }

    private static System.Diagnostics.Activity? StartDetached(string name, ActivityKind kind, ActivityContext parent, IEnumerable<ActivityLink>? links)
    {
        var previous = System.Diagnostics.Activity.Current;
        // With no parent given, a new span would take the thread's current one: this span's parent is what the caller says, or none.
        System.Diagnostics.Activity.Current = null;
        var span = Source.StartActivity(name, kind, parent, tags: null, links: links);
        System.Diagnostics.Activity.Current = previous;
        return span;
    }
}
