using System.Diagnostics;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Energy.Agents;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;
using Energy.Lifecycles.Registry;

namespace Energy.Node.Tests;

/// <summary>A node for the OCPP security suite: HTTPS on a free port with the self-signed certificate it makes.</summary>
public sealed class OcppSecurityNodeFixture() : AgentNodeFixture;

/// <summary>
/// Chargers authenticate on OCPP (security profiles 0, 1 and 2) with the password their operator set; the node
/// keeps a salted hash, refuses strangers before the upgrade without touching an entity, and slows down guessing.
/// </summary>
public sealed class OcppSecurityTests(OcppSecurityNodeFixture fixture, ITestOutputHelper output) : IClassFixture<OcppSecurityNodeFixture>
{
    private const string Password = "a charger's own key, 0123456789";

    private Uri Endpoint => new($"ws://127.0.0.1:{fixture.Node.Port}/ocpp/");
    private Uri TlsEndpoint => new($"wss://127.0.0.1:{fixture.Node.TlsPort}/ocpp/");
    private static string Run() => Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task The_ocpp_rpc_client_authenticates_by_profiles_0_1_and_2_and_strangers_are_refused_before_the_upgrade()
    {
        var run = Run();
        using var chargers = new OcppChargers(fixture.Node, $"cpo-rpc-{run}");
        await chargers.AdmitAsync();
        var secured = await chargers.ChargerAsync($"rpc-secured-{run}", Password);
        var open = await chargers.ChargerAsync($"rpc-open-{run}", Password, allowUnauthenticated: true);

        var (exitCode, stdout, stderr) = await RunNodeTestAsync("security.test.mjs", new()
        {
            ["OCPP_ENDPOINT"] = $"ws://127.0.0.1:{fixture.Node.Port}/ocpp",
            ["OCPP_TLS_ENDPOINT"] = $"wss://127.0.0.1:{fixture.Node.TlsPort}/ocpp",
            ["OCPP_CA_FILE"] = Path.Combine(fixture.Node.DataDirectory, "tls-certificate.pem"),
            ["OCPP_CHARGE_POINT"] = secured.Value,
            ["OCPP_PASSWORD"] = Password,
            ["OCPP_OPEN_CHARGE_POINT"] = open.Value,
            ["OCPP_UNKNOWN_CHARGE_POINT"] = $"rpc-unknown-{run}",
        });
        Assert.True(exitCode == 0, $"ocpp-rpc security tests failed:\n{stdout}\n{stderr}");
        Assert.Contains("# pass 4", stdout, StringComparison.Ordinal);
        Assert.Contains("# fail 0", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_id_and_a_charger_without_a_password_object_are_refused_and_nothing_is_written_for_them()
    {
        var run = Run();
        using var chargers = new OcppChargers(fixture.Node, $"cpo-none-{run}");
        await chargers.AdmitAsync();
        var withoutPassword = await chargers.ChargerAsync($"cp-no-password-{run}", password: null);
        var unknown = $"cp-unknown-{run}";
        var loopback = IPAddress.Parse("127.0.0.5");

        foreach (var (id, password) in new[] { (unknown, Password), (unknown, (string?)null), (withoutPassword.Value, Password), (withoutPassword.Value, null) })
        {
            using var attempt = await OcppClient.TryConnectAsync(Endpoint, id, password, loopback);
            // Were it upgraded, the boot would be persisted: the journal check below would see it.
            if (attempt.Socket is { } socket) await OcppClient.BootAsync(socket);
            Assert.Equal(401, attempt.Status);
        }

        var known = await chargers.ChargerAsync($"cp-known-{run}", Password);
        using (var attempt = await OcppClient.TryConnectAsync(Endpoint, known.Value, Password, loopback))
        {
            Assert.Equal(101, attempt.Status);
            Assert.Equal("ocpp1.6", attempt.Socket!.SubProtocol);
            Assert.Equal("Accepted", (await OcppClient.BootAsync(attempt.Socket))[2].GetProperty("status").GetString());
        }
        Assert.Equal(0, JournalRowsMentioning(unknown));
        Assert.Equal(0, JournalRowsMentioning($"charge-point-{withoutPassword}"));
        Assert.True(JournalRowsMentioning($"charge-point-{known}") > 0, "the journal query sees a charger that booted");
    }

    [Fact]
    public async Task A_password_object_of_another_operator_a_replay_or_one_for_a_non_charger_is_refused_by_name()
    {
        var run = Run();
        using var owner = new OcppChargers(fixture.Node, $"cpo-owner-{run}");
        using var stranger = new OcppChargers(fixture.Node, $"cpo-stranger-{run}");
        await owner.AdmitAsync();
        await stranger.AdmitAsync();
        var charger = await owner.ChargerAsync($"cp-owned-{run}", password: null);
        var meter = DeviceId.Of($"meter-owned-{run}");
        using (var meterKey = DeviceKeyPair.Generate()) await owner.Operator.EndorseAsync(meter, DeviceRole.Meter, meterKey.PublicKey);

        async Task<string> RefusalAsync(DeviceId path, Signed<ChargePointPassword> signed) =>
            (await Assert.ThrowsAsync<NodeClient.NodeRefusedException>(() => owner.Client.SetChargePointPasswordAsync(path.Value, signed.ToArray()))).Code;

        Assert.Equal("NotTheChargePointOperator", await RefusalAsync(charger, stranger.Operator.Sign(stranger.Operator.PasswordFor(charger, "stranger's", version: 9))));
        var forged = ChargePointPassword.For(OcppChargers.Network, owner.Operator.Id, charger, "stranger's", false, 9, Now, ChargePointPassword.MinIterations);
        Assert.Equal("InvalidSignature", await RefusalAsync(charger, stranger.Operator.Sign(forged)));
        Assert.Equal("NotACharger", await RefusalAsync(meter, owner.Operator.Sign(owner.Operator.PasswordFor(meter, Password, version: 1))));
        Assert.Equal("DeviceNotFound", await RefusalAsync(DeviceId.Of($"cp-nobody-{run}"),
            owner.Operator.Sign(owner.Operator.PasswordFor(DeviceId.Of($"cp-nobody-{run}"), Password, version: 1))));
        Assert.Equal("DeviceIdMismatch", await RefusalAsync(meter, owner.Operator.Sign(owner.Operator.PasswordFor(charger, Password, version: 1))));
        var otherNetwork = ChargePointPassword.For(NetworkId.Of("energy-elsewhere"), owner.Operator.Id, charger, Password, false, 1, Now, ChargePointPassword.MinIterations);
        Assert.Equal("WrongNetwork", await RefusalAsync(charger, owner.Operator.Sign(otherNetwork)));

        var taken = owner.Operator.Sign(owner.Operator.PasswordFor(charger, Password, version: 5, iterations: ChargePointPassword.MinIterations));
        var answer = await owner.Client.SetChargePointPasswordAsync(charger.Value, taken.ToArray());
        Assert.Equal(5UL, answer.GetProperty("version").GetUInt64());
        Assert.False(answer.TryGetProperty("hash", out _), "the answer never carries the hash");
        Assert.Equal("StaleOrder", await RefusalAsync(charger, taken));
        Assert.Equal("StaleOrder", await RefusalAsync(charger, owner.Operator.Sign(owner.Operator.PasswordFor(charger, "older", version: 4))));
        Assert.Equal("StaleOrder", await RefusalAsync(charger, owner.Operator.Sign(owner.Operator.PasswordFor(charger, "same version", version: 5))));
        var old = ChargePointPassword.For(OcppChargers.Network, owner.Operator.Id, charger, "signed long ago", false, 6,
            Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(-1)), ChargePointPassword.MinIterations);
        Assert.Equal("StaleOrder", await RefusalAsync(charger, owner.Operator.Sign(old)));

        // Only the password taken opens the charger; none of the refused ones does.
        var from = IPAddress.Parse("127.0.0.6");
        foreach (var refused in new[] { "stranger's", "older", "same version", "signed long ago" })
        {
            using var attempt = await OcppClient.TryConnectAsync(Endpoint, charger.Value, refused, from);
            Assert.Equal(401, attempt.Status);
        }
        using var accepted = await OcppClient.TryConnectAsync(Endpoint, charger.Value, Password, from);
        Assert.Equal(101, accepted.Status);

        // A higher version replaces the password at once.
        await owner.Operator.SetChargePointPasswordAsync(charger, "rotated", version: 7, iterations: ChargePointPassword.MinIterations);
        using (var attempt = await OcppClient.TryConnectAsync(Endpoint, charger.Value, Password, from)) Assert.Equal(401, attempt.Status);
        using (var attempt = await OcppClient.TryConnectAsync(Endpoint, charger.Value, "rotated", from)) Assert.Equal(101, attempt.Status);
    }

    [Fact]
    public async Task Repeated_wrong_passwords_lock_the_charge_point_out_for_a_growing_while()
    {
        var run = Run();
        using var chargers = new OcppChargers(fixture.Node, $"cpo-guess-{run}");
        await chargers.AdmitAsync();
        var charger = await chargers.ChargerAsync($"cp-guessed-{run}", Password);
        var from = IPAddress.Parse("127.0.0.7");

        for (var i = 0; i < 5; i++)
        {
            using var wrong = await OcppClient.TryConnectAsync(Endpoint, charger.Value, $"guess {i}", from);
            Assert.Equal(401, wrong.Status);
        }
        using (var sixth = await OcppClient.TryConnectAsync(Endpoint, charger.Value, "guess 5", from)) Assert.Equal(401, sixth.Status);
        var lockedAt = Stopwatch.StartNew();
        // Locked: even the right password is not checked, from any address.
        using (var locked = await OcppClient.TryConnectAsync(Endpoint, charger.Value, Password, IPAddress.Parse("127.0.0.8")))
        {
            Assert.Equal(429, locked.Status);
            Assert.Equal("1", locked.RetryAfter);
        }
        var unlocked = TimeSpan.FromMilliseconds(1_100) - lockedAt.Elapsed;
        if (unlocked > TimeSpan.Zero) await Task.Delay(unlocked);
        using (var seventh = await OcppClient.TryConnectAsync(Endpoint, charger.Value, "guess 6", from)) Assert.Equal(401, seventh.Status);
        using (var longer = await OcppClient.TryConnectAsync(Endpoint, charger.Value, Password, from))
        {
            Assert.Equal(429, longer.Status);
            Assert.Equal("2", longer.RetryAfter);
        }
        await Task.Delay(TimeSpan.FromMilliseconds(2_100));
        using (var right = await OcppClient.TryConnectAsync(Endpoint, charger.Value, Password, from)) Assert.Equal(101, right.Status);
        // A success starts the charger again from zero.
        using (var again = await OcppClient.TryConnectAsync(Endpoint, charger.Value, "one more guess", from)) Assert.Equal(401, again.Status);
        using (var right = await OcppClient.TryConnectAsync(Endpoint, charger.Value, Password, from)) Assert.Equal(101, right.Status);
    }

    [Fact]
    public async Task An_address_that_fails_for_many_ids_is_locked_out_and_other_addresses_are_not()
    {
        var run = Run();
        using var chargers = new OcppChargers(fixture.Node, $"cpo-scan-{run}");
        await chargers.AdmitAsync();
        var charger = await chargers.ChargerAsync($"cp-scanned-{run}", Password);
        var scanner = IPAddress.Parse("127.0.0.9");
        for (var i = 0; i < 21; i++)
        {
            using var attempt = await OcppClient.TryConnectAsync(Endpoint, $"cp-scan-{run}-{i}", Password, scanner);
            Assert.Equal(401, attempt.Status);
        }
        using (var locked = await OcppClient.TryConnectAsync(Endpoint, charger.Value, Password, scanner)) Assert.Equal(429, locked.Status);
        using (var elsewhere = await OcppClient.TryConnectAsync(Endpoint, charger.Value, Password, IPAddress.Parse("127.0.0.10"))) Assert.Equal(101, elsewhere.Status);
    }

    [Fact]
    public async Task Over_tls_a_charger_authenticates_against_the_certificate_the_node_made_in_its_data_folder()
    {
        var run = Run();
        using var chargers = new OcppChargers(fixture.Node, $"cpo-tls-{run}");
        await chargers.AdmitAsync();
        var charger = await chargers.ChargerAsync($"cp-tls-{run}", Password);
        var pinned = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(Path.Combine(fixture.Node.DataDirectory, "tls-certificate.pem")));
        var seen = new List<string>();
        void TrustOnlyTheNode(System.Net.WebSockets.ClientWebSocketOptions options) =>
            options.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                seen.Add(certificate?.GetCertHashString() ?? "none");
                return certificate is not null && certificate.GetCertHashString() == pinned.GetCertHashString();
            };

        using (var attempt = await OcppClient.TryConnectAsync(TlsEndpoint, charger.Value, Password, configure: TrustOnlyTheNode))
        {
            Assert.Equal(101, attempt.Status);
            Assert.Equal("ocpp1.6", attempt.Socket!.SubProtocol);
            Assert.Equal("Accepted", (await OcppClient.BootAsync(attempt.Socket))[2].GetProperty("status").GetString());
        }
        Assert.Equal([pinned.GetCertHashString()], seen);
        using (var wrong = await OcppClient.TryConnectAsync(TlsEndpoint, charger.Value, "not it", configure: TrustOnlyTheNode)) Assert.Equal(401, wrong.Status);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(fixture.Node.DataDirectory, "tls-certificate.pfx")));
    }

    [Fact]
    public async Task After_a_restart_the_node_reads_the_stored_passwords_before_it_answers_chargers()
    {
        using var node = new NodeProcess();
        await node.StartAsync();
        var run = Run();
        DeviceId charger;
        using (var chargers = new OcppChargers(node, $"cpo-restart-{run}"))
        {
            await chargers.AdmitAsync();
            charger = await chargers.ChargerAsync($"cp-restart-{run}", Password);
        }
        var certificate = await File.ReadAllTextAsync(Path.Combine(node.DataDirectory, "tls-certificate.pem"));
        node.Kill();
        await node.StartAsync();

        var endpoint = new Uri($"ws://127.0.0.1:{node.Port}/ocpp/");
        using (var right = await OcppClient.TryConnectAsync(endpoint, charger.Value, Password)) Assert.Equal(101, right.Status);
        using (var wrong = await OcppClient.TryConnectAsync(endpoint, charger.Value, "not it")) Assert.Equal(401, wrong.Status);
        using (var unknown = await OcppClient.TryConnectAsync(endpoint, $"cp-unknown-{run}", Password)) Assert.Equal(401, unknown.Status);
        Assert.Equal(certificate, await File.ReadAllTextAsync(Path.Combine(node.DataDirectory, "tls-certificate.pem")));
    }

    private static Timestamp Now => Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow);

    /// <summary>Rows of the node's SQLite journal whose persistence id holds the text.</summary>
    private long JournalRowsMentioning(string text)
    {
        var database = Path.Combine(fixture.Node.DataDirectory, "energy.db");
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Mode = SqliteOpenMode.ReadOnly }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM event_journal WHERE instr(persistence_id, $text) > 0";
        command.Parameters.AddWithValue("$text", text);
        return (long)command.ExecuteScalar()!;
    }

    private async Task<(int ExitCode, string Stdout, string Stderr)> RunNodeTestAsync(string script, Dictionary<string, string> environment)
    {
        var folder = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../ocpp-client"));
        Assert.True(Directory.Exists(Path.Combine(folder, "node_modules", "ocpp-rpc")), $"run npm ci in {folder} (tests/setup/npm.sh does)");
        var start = new ProcessStartInfo("node") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("--test");
        start.ArgumentList.Add(script);
        foreach (var (name, value) in environment) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        output.WriteLine(await stdout);
        output.WriteLine(await stderr);
        return (process.ExitCode, await stdout, await stderr);
    }
}
