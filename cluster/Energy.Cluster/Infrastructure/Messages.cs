namespace Energy.Cluster;

/// <summary>
/// Marks every message that is persisted or crosses nodes. All of them are bound to
/// <see cref="Serialization.EnergySerializer"/>, which writes stable manifests, never CLR type names.
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

/// <summary>The error every refusal carries: a stable code and a sentence for people.</summary>
[Manifest("error.v1")]
public sealed record Refusal(string Code, string Message) : IEnergyMessage
{
    public static Refusal From(Energy.Channels.ProtocolError error) => new(error.Code, error.Describe());

    /// <summary>Whether this refuses with <typeparamref name="TError"/>: a refusal's code is its error's type name.</summary>
    public bool Is<TError>() where TError : Energy.Channels.ProtocolError => Code == typeof(TError).Name;
}
