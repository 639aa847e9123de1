namespace Energy.Lifecycles;

/// <summary>
/// Marks every message that is persisted or crosses nodes. The cluster binds all of them to its serializer,
/// which writes the stable manifests their <see cref="ManifestAttribute"/> names, never CLR type names.
/// </summary>
public interface IEnergyMessage;

/// <summary>A message for one sharded entity.</summary>
public interface IWithEntityId
{
    string EntityId { get; }
}

/// <summary>
/// Names a message's stable manifest in the journal and on the wire. Renaming or moving the type is
/// safe; changing this string is not.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class ManifestAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>
/// A refusal carries its named error whole, between nodes too, so that callers match on the error's type
/// and its values; <see cref="Code"/> and <see cref="Message"/> are what devices and people read. The
/// cluster's JSON options carry its converter, which knows every named error of the network by type.
/// </summary>
[Manifest("error.v1")]
public sealed record Refusal(Energy.Channels.ProtocolError Error) : IEnergyMessage
{
    public string Code => Error.Code;

    public string Message => Error.Describe();

    public static Refusal From(Energy.Channels.ProtocolError error) => new(error);
}

/// <summary>
/// A command that may carry the W3C <c>traceparent</c> of the span that sent it, so that the span of the entity
/// handling it (on whichever node) is that span's child. The field is optional on the wire: a message without it
/// reads as before, and a node that does not know it ignores it.
/// </summary>
public interface ITraced
{
    /// <summary>The sender's span as a W3C traceparent (<c>00-{trace id}-{span id}-{flags}</c>), or null.</summary>
    string? TraceParent { get; }

    /// <summary>The same command, carrying <paramref name="traceParent"/>.</summary>
    ITraced WithTraceParent(string traceParent);
}
