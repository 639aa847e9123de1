using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Cluster.Tests;

/// <summary>Nodes of one cluster publish their keys in a shared folder, so that each audits the blocks the others signed.</summary>
public class NodeKeyDirectoryTests
{
    private static string NewFolder() => Path.Combine(Path.GetTempPath(), "energy-tests", "node-keys-" + Guid.NewGuid().ToString("N"));

    private static EnergySettings Settings(DeviceKeyPair key, string? folder) =>
        new(NetworkId.Of("energy-test"), Currency.Eur, 4, key, new ManualClock(new Timestamp(1_800_000_000_000))) { NodeKeysDirectory = folder };

    [Fact]
    public void A_node_trusts_the_keys_the_other_nodes_published_and_its_own()
    {
        var folder = NewFolder();
        using var first = DeviceKeyPair.Generate();
        using var second = DeviceKeyPair.Generate();
        using var stranger = DeviceKeyPair.Generate();
        NodeKeyDirectory.Publish(folder, first.PublicKey.Hex);
        NodeKeyDirectory.Publish(folder, second.PublicKey.Hex);

        var trusted = Settings(first, folder).NodeKeysTrustedNow();

        Assert.Contains(first.PublicKey.Hex, trusted);
        Assert.Contains(second.PublicKey.Hex, trusted);
        Assert.DoesNotContain(stranger.PublicKey.Hex, trusted);
        Assert.Equal([first.PublicKey.Hex], Settings(first, folder: null).NodeKeysTrustedNow());
    }

    [Fact]
    public void A_node_with_a_new_key_keeps_its_old_one_trusted_for_the_blocks_it_signed_and_publishing_twice_is_once()
    {
        var folder = NewFolder();
        using var old = DeviceKeyPair.Generate();
        using var renewed = DeviceKeyPair.Generate();
        NodeKeyDirectory.Publish(folder, old.PublicKey.Hex);
        NodeKeyDirectory.Publish(folder, renewed.PublicKey.Hex);
        NodeKeyDirectory.Publish(folder, renewed.PublicKey.Hex);

        Assert.Equal(new[] { old.PublicKey.Hex, renewed.PublicKey.Hex }.Order(), NodeKeyDirectory.Read(folder).Order());
    }

    [Fact]
    public void What_is_not_a_public_key_is_neither_published_nor_read()
    {
        var folder = NewFolder();
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "short.pub"), "abcd\n");
        File.WriteAllText(Path.Combine(folder, "not-hex.pub"), new string('z', 64));
        File.WriteAllText(Path.Combine(folder, "huge.pub"), new string('a', 64) + new string(' ', 1_000));
        File.WriteAllText(Path.Combine(folder, "other.txt"), new string('b', 64));
        using var key = DeviceKeyPair.Generate();
        NodeKeyDirectory.Publish(folder, key.PublicKey.Hex);

        Assert.Equal([key.PublicKey.Hex], NodeKeyDirectory.Read(folder));
        Assert.Throws<ArgumentException>(() => NodeKeyDirectory.Publish(folder, "../../" + new string('a', 58)));
        Assert.Throws<ArgumentException>(() => NodeKeyDirectory.Publish(folder, key.PublicKey.Hex.ToUpperInvariant()));
        Assert.Empty(NodeKeyDirectory.Read(Path.Combine(folder, "missing")));
    }
}
