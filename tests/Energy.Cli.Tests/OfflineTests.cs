using System.Net;
using System.Text;
using System.Text.Json;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;

namespace Energy.Cli.Tests;

/// <summary>What the tool does on this machine alone: key files, what it signs and sends, and what it refuses before sending.</summary>
public sealed class OfflineTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("energy-cli-offline-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string PathOf(string name) => Path.Combine(_folder, name);

    [Fact]
    public async Task Keys_new_writes_a_seed_only_its_owner_may_read_prints_its_public_key_and_never_overwrites_it()
    {
        var made = await Tool.SucceedsAsync(Tool.RunAsync(["keys", "new", "--out", PathOf("a.key")]));
        var shown = await Tool.SucceedsAsync(Tool.RunAsync(["keys", "show", "--key", PathOf("a.key")]));
        var again = await Tool.RunAsync(["keys", "new", "--out", PathOf("a.key")]);

        Assert.Matches("^[0-9a-f]{64}$", made.Output.Trim());
        Assert.Equal(made.Output, shown.Output);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, Tool.ModeOf(PathOf("a.key")));
        Assert.Equal(ExitCodes.Failed, again.ExitCode);
        Assert.Contains("KeyFileExists", again.Error);
        Assert.Equal(made.Output, (await Tool.RunAsync(["keys", "show", "--key", PathOf("a.key")])).Output);
    }

    [Fact]
    public async Task A_key_file_is_read_as_a_raw_seed_as_the_node_keeps_it_or_as_the_two_lines_of_an_operator_file()
    {
        using var key = DeviceKeyPair.Generate();
        var seed = key.ExportSeed(); // a key is exported once
        await File.WriteAllBytesAsync(PathOf("raw.key"), seed);
        await File.WriteAllTextAsync(PathOf("operator.key"), $"grid-1\n{Convert.ToHexStringLower(seed)}\n");
        await File.WriteAllTextAsync(PathOf("junk.key"), "not a key\n");

        Assert.Equal(key.PublicKey.Hex, (await Tool.SucceedsAsync(Tool.RunAsync(["keys", "show", "--key", PathOf("raw.key")]))).Output.Trim());
        Assert.Equal(key.PublicKey.Hex, (await Tool.SucceedsAsync(Tool.RunAsync(["keys", "show", "--key", PathOf("operator.key")]))).Output.Trim());
        var junk = await Tool.RunAsync(["keys", "show", "--key", PathOf("junk.key")]);
        var missing = await Tool.RunAsync(["keys", "show", "--key", PathOf("missing.key")]);
        Assert.Equal(ExitCodes.Failed, junk.ExitCode);
        Assert.Contains("KeyFileMalformed", junk.Error);
        Assert.Equal(ExitCodes.Failed, missing.ExitCode);
        Assert.Contains("KeyFileMissing", missing.Error);
    }

    [Fact]
    public async Task A_charge_point_password_leaves_the_tool_only_as_a_salted_hash_signed_by_its_operator()
    {
        await Tool.SucceedsAsync(Tool.RunAsync(["keys", "new", "--out", PathOf("cpo.key")]));
        using var operatorKey = DeviceKeyPair.FromSeed(Convert.FromHexString(File.ReadAllText(PathOf("cpo.key")).Trim())).Unwrap();
        const string password = "correct-horse-battery-staple";
        var node = new RecordingNode();

        var run = await Tool.RunAsync(["charge-point", "password", "--operator", "cpo-7", "--operator-key", PathOf("cpo.key"), "--charge-point", "charger-7",
            "--password-stdin", "--version", "3"], input: password + "\n", httpFor: node.HttpFor);

        Assert.True(run.ExitCode == 0, run.ToString());
        var request = Assert.Single(node.Requests);
        Assert.Equal("POST /api/charge-points/charger-7/password", request.Line);
        Assert.DoesNotContain(password, request.Body);
        var signed = Signed<ChargePointPassword>.Decode(Convert.FromBase64String(JsonDocument.Parse(request.Body).RootElement.GetProperty("signed").GetString()!)).Unwrap();
        Assert.True(signed.IsSignedBy(operatorKey.PublicKey));
        Assert.Equal("cpo-7", signed.Payload.Operator.Value);
        Assert.Equal("charger-7", signed.Payload.ChargePoint.Value);
        Assert.Equal(3UL, signed.Payload.Version);
        Assert.False(signed.Payload.AllowUnauthenticated);
        Assert.True(signed.Payload.Matches(password));
        Assert.False(signed.Payload.Matches(password + "!"));
        Assert.True(signed.ToArray().AsSpan().IndexOf(Encoding.UTF8.GetBytes(password)) < 0, "the signed object holds the password");
    }

    [Fact]
    public async Task A_generated_key_is_written_for_its_operator_alone_and_leaves_the_tool_only_as_a_one_round_hash()
    {
        await Tool.SucceedsAsync(Tool.RunAsync(["keys", "new", "--out", PathOf("cpo.key")]));
        var node = new RecordingNode();
        string[] command = ["charge-point", "password", "--operator", "cpo-7", "--operator-key", PathOf("cpo.key"), "--charge-point", "charger-7",
            "--generate-key-to", PathOf("charger-7.password")];

        var run = await Tool.RunAsync(command, httpFor: node.HttpFor);

        Assert.True(run.ExitCode == 0, run.ToString());
        var key = File.ReadAllText(PathOf("charger-7.password")).Trim();
        Assert.True(ChargePointPassword.IsGeneratedKeyShape(key), key);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(PathOf("charger-7.password")));
        var request = Assert.Single(node.Requests);
        Assert.DoesNotContain(key, request.Body);
        var signed = Signed<ChargePointPassword>.Decode(Convert.FromBase64String(JsonDocument.Parse(request.Body).RootElement.GetProperty("signed").GetString()!)).Unwrap();
        Assert.True(signed.Payload.IsGeneratedKey);
        Assert.True(signed.Payload.Matches(key));
        Assert.False(signed.ToArray().AsSpan().IndexOf(Encoding.UTF8.GetBytes(key)) >= 0, "the signed object holds the key");

        // The file is never overwritten, and a password given as well is refused: nothing more is sent.
        var again = await Tool.RunAsync(command, httpFor: node.HttpFor);
        Assert.Equal(ExitCodes.Failed, again.ExitCode);
        Assert.Equal(key, File.ReadAllText(PathOf("charger-7.password")).Trim());
        var both = await Tool.RunAsync([.. command[..^1], PathOf("other.password"), "--password", "a password long enough"], httpFor: node.HttpFor);
        Assert.Equal(ExitCodes.Failed, both.ExitCode);
        Assert.Contains("PasswordTwice", both.Error);
        Assert.False(File.Exists(PathOf("other.password")));
        Assert.Single(node.Requests);
    }

    [Theory]
    [InlineData("short-password")]
    [InlineData("a-password-much-longer-than-forty-characters-in-all")]
    public async Task A_charge_point_password_outside_16_to_40_characters_is_refused_before_anything_is_sent(string password)
    {
        await Tool.SucceedsAsync(Tool.RunAsync(["keys", "new", "--out", PathOf("cpo.key")]));
        var node = new RecordingNode();

        var run = await Tool.RunAsync(["charge-point", "password", "--operator", "cpo-7", "--operator-key", PathOf("cpo.key"), "--charge-point", "charger-7",
            "--password", password], httpFor: node.HttpFor);

        Assert.Equal(ExitCodes.Failed, run.ExitCode);
        Assert.Contains("PasswordLength", run.Error);
        Assert.Empty(node.Requests);
    }

    [Theory]
    [InlineData("money", "fund", "--bank", "bank-1", "--bank-key", "KEY", "--account", "cpo-2", "--amount", "100", "--request-id", "r-1")]
    [InlineData("money", "fund", "--bank", "bank-1", "--bank-key", "KEY", "--account", "operator:cpo-2", "--amount", "-5", "--request-id", "r-1")]
    [InlineData("money", "fund", "--bank", "bank-1", "--bank-key", "KEY", "--account", "operator:cpo-2", "--amount", "100", "--request-id", "Not Valid")]
    [InlineData("money", "withdraw", "--owner", "operator:cpo-2", "--key", "KEY", "--amount", "1.5", "--request-id", "r-1")]
    [InlineData("device", "endorse", "--operator", "cpo-2", "--operator-key", "KEY", "--device", "c-1", "--role", "toaster", "--device-public-key", "00")]
    [InlineData("device", "endorse", "--operator", "CPO 2", "--operator-key", "KEY", "--device", "c-1", "--role", "charger", "--device-key", "KEY")]
    [InlineData("authority", "admit", "--authority-key", "KEY", "--operator", "cpo-2", "--roles", "chargePointOperator,emperor", "--operator-key", "KEY")]
    [InlineData("authority", "admit", "--authority-key", "KEY", "--operator", "cpo-2", "--roles", "chargePointOperator", "--operator-key", "KEY", "--issuance-limit", "5")]
    [InlineData("authority", "admit", "--authority-key", "KEY", "--operator", "cpo-2", "--roles", "chargePointOperator")]
    [InlineData("authority", "admit", "--authority-key", "KEY", "--index", "0", "--index", "1", "--operator", "cpo-2", "--roles", "fleetOwner", "--operator-key", "KEY")]
    [InlineData("authority", "admit-node", "--authority-key", "KEY")]
    [InlineData("authority", "admit-node", "--authority-key", "KEY", "--node-key", "KEY", "--node-public-key", "00")]
    [InlineData("authority", "admit-node", "--authority-key", "KEY", "--node-public-key", "not-a-key")]
    [InlineData("authority", "admit-node", "--authority-key", "KEY", "--node-key", "KEY", "--version", "0")]
    [InlineData("get", "/api/me", "--as", "operator:cpo-2", "--key", "KEY", "--node", "ftp://example")]
    [InlineData("dashboard-key", "--operator", "cpo-2", "--operator-key", "KEY", "--out", "viewer.key", "--days", "400")]
    public async Task A_malformed_or_inconsistent_command_is_refused_with_exit_2_before_anything_is_sent(params string[] args)
    {
        await Tool.SucceedsAsync(Tool.RunAsync(["keys", "new", "--out", PathOf("k.key")]));
        var node = new RecordingNode();

        var run = await Tool.RunAsync(args.Select(a => a == "KEY" ? PathOf("k.key") : a == "viewer.key" ? PathOf(a) : a).ToArray(), httpFor: node.HttpFor);

        Assert.True(run.ExitCode == ExitCodes.Failed, run.ToString());
        Assert.StartsWith("error: ", run.Error);
        Assert.Empty(node.Requests);
        Assert.False(File.Exists(PathOf("viewer.key")));
    }

    [Fact]
    public async Task An_unreachable_node_exits_2_and_says_so()
    {
        await Tool.SucceedsAsync(Tool.RunAsync(["keys", "new", "--out", PathOf("k.key")]));

        var run = await Tool.RunAsync(["get", "/api/me", "--as", "operator:cpo-2", "--key", PathOf("k.key"), "--node", "http://127.0.0.1:1"]);

        Assert.Equal(ExitCodes.Failed, run.ExitCode);
        Assert.Contains("NodeUnreachable", run.Error);
    }

    /// <summary>Stands in for a node: records each request and answers 200 with an empty object.</summary>
    private sealed class RecordingNode : HttpMessageHandler
    {
        public List<(string Line, string Body)> Requests { get; } = [];

        public HttpClient HttpFor(Uri node) => new(this, disposeHandler: false) { BaseAddress = node };

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
            lock (Requests) Requests.Add(($"{request.Method} {request.RequestUri!.PathAndQuery}", body));
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        }
    }
}
