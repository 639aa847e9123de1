using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Energy.Channels.Identity;

namespace Energy.Cluster.Gateway;

/// <summary>
/// The OCPP passwords this node has already checked, so that a charger connecting again (its network dropped, or the
/// node restarted) costs one HMAC instead of its operator's PBKDF2 iterations: after a restart every charger comes
/// back within seconds, and ten thousand PBKDF2 checks are tens of seconds of every core.
/// <para>
/// An entry is an HMAC-SHA256, under a key of this node's own, of the charge point, the password object the password
/// matched (its version, salt and hash) and the password presented. It admits only that password against that object:
/// a newer password object, another password or another node's entry misses, and the check falls back to PBKDF2.
/// The key and the entries live in the node's data folder beside its signing key, readable by the node's user only;
/// whoever can read them holds the node's key too, which is worth more than any charger's password.
/// </para>
/// </summary>
public sealed class AdmittedPasswords
{
    /// <summary>Entries kept at most: as many as the credential store holds charge points, with room.</summary>
    public const int MaxEntries = 1_000_000;

    public const string KeyFile = "ocpp-admission.key";
    public const string EntriesFile = "ocpp-admitted";

    private const int KeyBytes = 32;
    private const int MacBytes = 32;
    private static readonly byte[] Magic = "EOA1"u8.ToArray();
    private static readonly byte[] Domain = "energy/ocpp-admitted/1"u8.ToArray();

    private readonly byte[] _key;
    private readonly ConcurrentDictionary<string, byte[]> _macs = new(StringComparer.Ordinal);
    private int _changed;

    public AdmittedPasswords(byte[] key)
    {
        if (key.Length != KeyBytes) throw new ArgumentException($"an admission key is {KeyBytes} bytes", nameof(key));
        _key = key;
    }

    public int Count => _macs.Count;

    /// <summary>Whether this password was admitted before against this very password object.</summary>
    public bool Admits(string chargePoint, ChargePointPassword current, string presented) =>
        _macs.TryGetValue(chargePoint, out var held) && CryptographicOperations.FixedTimeEquals(held, Mac(chargePoint, current, presented));

    /// <summary>Remembers a password that PBKDF2 found to match <paramref name="current"/>; past the bound, nothing new is kept.</summary>
    public void Remember(string chargePoint, ChargePointPassword current, string presented)
    {
        if (_macs.Count >= MaxEntries && !_macs.ContainsKey(chargePoint)) return;
        _macs[chargePoint] = Mac(chargePoint, current, presented);
        Volatile.Write(ref _changed, 1);
    }

    /// <summary>Forgets a charge point (its password failed against the current object).</summary>
    public void Forget(string chargePoint)
    {
        if (_macs.TryRemove(chargePoint, out _)) Volatile.Write(ref _changed, 1);
    }

    private byte[] Mac(string chargePoint, ChargePointPassword current, string presented)
    {
        var id = Encoding.UTF8.GetBytes(chargePoint);
        var password = Encoding.UTF8.GetBytes(presented);
        var input = new byte[Domain.Length + 4 + id.Length + 8 + current.Salt.Length + current.Hash.Length + password.Length];
        var at = 0;
        Domain.CopyTo(input, at);
        at += Domain.Length;
        BinaryPrimitives.WriteInt32BigEndian(input.AsSpan(at), id.Length);
        at += 4;
        id.CopyTo(input, at);
        at += id.Length;
        BinaryPrimitives.WriteUInt64BigEndian(input.AsSpan(at), current.Version);
        at += 8;
        current.Salt.CopyTo(input, at);
        at += current.Salt.Length;
        current.Hash.CopyTo(input, at);
        at += current.Hash.Length;
        password.CopyTo(input, at);
        return HMACSHA256.HashData(_key, input);
    }

    /// <summary>
    /// The admitted passwords of a data folder: its key (made on first use, owner-only) and the entries saved last.
    /// Entries that cannot be read are dropped: each only saves a PBKDF2 check.
    /// </summary>
    public static AdmittedPasswords Open(string dataDirectory)
    {
        var directory = Path.GetFullPath(dataDirectory);
        Directory.CreateDirectory(directory);
        var admitted = new AdmittedPasswords(LoadOrCreateKey(Path.Combine(directory, KeyFile)));
        var path = Path.Combine(directory, EntriesFile);
        if (File.Exists(path)) admitted.Read(File.ReadAllBytes(path));
        return admitted;
    }

    /// <summary>Writes the entries when they changed since the last save (to a new file, then renamed over the old).</summary>
    public bool SaveIfChanged(string dataDirectory)
    {
        if (Interlocked.Exchange(ref _changed, 0) == 0) return false;
        var path = Path.Combine(Path.GetFullPath(dataDirectory), EntriesFile);
        var temporary = path + ".new";
        using (var file = new FileStream(temporary, OwnerOnly(FileMode.Create)))
        {
            file.Write(Magic);
            Span<byte> number = stackalloc byte[8];
            foreach (var (chargePoint, mac) in _macs)
            {
                var id = Encoding.UTF8.GetBytes(chargePoint);
                BinaryPrimitives.WriteInt32BigEndian(number, id.Length);
                file.Write(number[..4]);
                file.Write(id);
                file.Write(mac);
            }
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
        return true;
    }

    private void Read(ReadOnlySpan<byte> saved)
    {
        if (!saved.StartsWith(Magic)) return;
        saved = saved[Magic.Length..];
        while (saved.Length >= 4 && _macs.Count < MaxEntries)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(saved);
            if (length is <= 0 or > 1_024 || saved.Length < 4 + length + MacBytes) return;
            _macs[Encoding.UTF8.GetString(saved.Slice(4, length))] = saved.Slice(4 + length, MacBytes).ToArray();
            saved = saved[(4 + length + MacBytes)..];
        }
    }

    private static byte[] LoadOrCreateKey(string path)
    {
        if (File.Exists(path))
        {
            var key = File.ReadAllBytes(path);
            if (key.Length == KeyBytes) return key;
        }
        var created = RandomNumberGenerator.GetBytes(KeyBytes);
        using (var file = new FileStream(path, OwnerOnly(FileMode.Create))) file.Write(created);
        return created;
    }

    private static FileStreamOptions OwnerOnly(FileMode mode)
    {
        var options = new FileStreamOptions { Mode = mode, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        return options;
    }
}

/// <summary>Saves the node's admitted passwords every half minute when they changed, and once more as the node stops.</summary>
public sealed class AdmittedPasswordsKeeper(AdmittedPasswords admitted, string dataDirectory) : Microsoft.Extensions.Hosting.BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken)) admitted.SaveIfChanged(dataDirectory);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        admitted.SaveIfChanged(dataDirectory);
    }
}
