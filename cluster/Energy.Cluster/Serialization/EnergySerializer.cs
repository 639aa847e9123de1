using System.Collections.Frozen;
using System.Reflection;
using System.Runtime.Serialization;
using System.Text.Json;
using Akka.Actor;
using Akka.Serialization;

namespace Energy.Cluster.Serialization;

/// <summary>
/// Serializes every <see cref="IEnergyMessage"/> as JSON under the stable manifest its
/// <see cref="ManifestAttribute"/> names. The journal never holds a CLR type name, so types can be
/// renamed and moved without breaking recovery.
/// </summary>
public sealed class EnergySerializer : SerializerWithStringManifest
{
    public const int Id = 7_311;

    private readonly FrozenDictionary<string, Type> _typesByManifest;
    private readonly FrozenDictionary<Type, string> _manifestsByType;

    /// <summary>
    /// The assemblies whose messages the serializer writes: the network's pure messages and events beside the
    /// protocol, and the cluster's own.
    /// </summary>
    public static readonly IReadOnlyList<Assembly> MessageAssemblies = [typeof(IEnergyMessage).Assembly, typeof(EnergySerializer).Assembly];

    public EnergySerializer(ExtendedActorSystem system) : this(system, ScanManifests(MessageAssemblies))
    {
    }

    /// <summary>With an explicit manifest table (tests use this to prove a renamed type still recovers).</summary>
    public EnergySerializer(ExtendedActorSystem system, IReadOnlyDictionary<string, Type> manifests) : base(system)
    {
        _typesByManifest = manifests.ToFrozenDictionary();
        _manifestsByType = manifests.ToFrozenDictionary(pair => pair.Value, pair => pair.Key);
    }

    public override int Identifier => Id;

    public static Dictionary<string, Type> ScanManifests(IEnumerable<Assembly> assemblies)
    {
        var table = new Dictionary<string, Type>(StringComparer.Ordinal);
        foreach (var type in assemblies.Distinct().SelectMany(a => a.GetTypes()))
        {
            var attribute = type.GetCustomAttribute<ManifestAttribute>();
            if (attribute is null) continue;
            if (!table.TryAdd(attribute.Name, type))
                throw new InvalidOperationException($"manifest '{attribute.Name}' is used by {table[attribute.Name]} and {type}");
        }
        return table;
    }

    public override string Manifest(object o) =>
        _manifestsByType.TryGetValue(o.GetType(), out var manifest)
            ? manifest
            : throw new SerializationException($"{o.GetType()} has no [Manifest]; every IEnergyMessage needs one");

    public override byte[] ToBinary(object obj) => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), EnergyJson.Options);

    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!_typesByManifest.TryGetValue(manifest, out var type))
            throw new SerializationException($"unknown manifest '{manifest}'");
        return JsonSerializer.Deserialize(bytes, type, EnergyJson.Options)
               ?? throw new SerializationException($"manifest '{manifest}' decoded to null");
    }
}
