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

/// <summary>
/// A refusal carries its named error whole, between nodes too, so that callers match on the error's type
/// and its values; <see cref="Code"/> and <see cref="Message"/> are what devices and people read.
/// </summary>
[Manifest("error.v1")]
[System.Text.Json.Serialization.JsonConverter(typeof(Serialization.RefusalJsonConverter))]
public sealed record Refusal(Energy.Channels.ProtocolError Error) : IEnergyMessage
{
    public string Code => Error.Code;

    public string Message => Error.Describe();

    public static Refusal From(Energy.Channels.ProtocolError error) => new(error);
}
