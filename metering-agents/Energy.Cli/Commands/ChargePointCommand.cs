using System.CommandLine;
using System.Security.Cryptography;
using Energy.Agents;
using Energy.Channels.Identity;

namespace Energy.Cli.Commands;

/// <summary><c>energy charge-point password</c>: a charge point operator sets the password a charger uses on OCPP.</summary>
public static class ChargePointCommand
{
    /// <summary>OCPP's bounds on a charge point's Basic authentication password (BasicAuthPassword: 16 to 40 characters).</summary>
    public const int MinPasswordLength = 16;
    public const int MaxPasswordLength = 40;

    public static Command Create(ToolEnvironment environment) =>
        new("charge-point", "What a charge point operator sets for its OCPP chargers")
        {
            Password(environment),
        };

    private static Command Password(ToolEnvironment environment)
    {
        var signer = new OperatorSignerOptions("operator", "charge point operator");
        var chargePoint = ToolOptions.Device("--charge-point", "The charger's id (its OCPP charge point id and Basic authentication user)");
        var fromStdin = new Option<bool>("--password-stdin") { Description = "Reads the password from the first line of standard input" };
        var password = new Option<string>("--password")
        {
            Description = $"The password ({MinPasswordLength} to {MaxPasswordLength} characters); prefer --password-stdin, a command line is seen by other users and kept in shell history",
            HelpName = "P",
        };
        var generateKey = new Option<string>("--generate-key-to")
        {
            Description = "Generates the password as a random 160-bit key (40 hex characters) and writes it to FILE, readable by its owner "
                + "only and never overwritten; a key is hashed with one HMAC round, not PBKDF2's many, so a node admits the charger at once",
            HelpName = "FILE",
        };
        var allowUnauthenticated = new Option<bool>("--allow-unauthenticated")
        {
            Description = "Also lets the charger connect without any password (OCPP security profile 0); without a password given, only that way",
        };
        var version = ToolOptions.OrderVersion("The setting's version: a higher one replaces a lower [default: from the clock, so a later setting always wins]");
        var node = new NodeOptions();
        var command = new Command("password",
            "Sets the password a charger authenticates with on OCPP (HTTP Basic authentication): only a salted PBKDF2 hash of it leaves this tool")
        {
            chargePoint, fromStdin, password, generateKey, allowUnauthenticated, version,
        };
        signer.AddTo(command);
        node.AddTo(command);
        command.Runs(environment, async (parse, _) =>
        {
            var unauthenticated = parse.GetValue(allowUnauthenticated);
            var keyFile = parse.GetValue(generateKey);
            var secret = keyFile is null ? PasswordOf(parse, fromStdin, password, unauthenticated, environment) : GeneratedKey(parse, fromStdin, password, keyFile);
            var settingVersion = parse.GetValue(version) ?? OperatorAgent.NextOrderVersion();
            using var connection = node.Connect(parse, environment);
            using var agent = signer.Agent(parse, environment, connection);
            var id = parse.GetRequiredValue(chargePoint);
            var setting = agent.PasswordFor(id, secret, unauthenticated, settingVersion,
                keyFile is null ? ChargePointPassword.DefaultIterations : ChargePointPassword.KeyIterations);
            environment.PrintJson(await agent.SetPasswordAsync(setting));
            environment.Note($"set the OCPP password of charge point {id} (version {settingVersion}{(keyFile is null ? "" : $", a generated key written to {keyFile}")}"
                + $"{(unauthenticated ? ", connections without a password allowed" : "")})");
        });
        return command;
    }

    /// <summary>A new key, written to its file before anything is sent: a key the operator could not read back would lock its charger out.</summary>
    private static string GeneratedKey(ParseResult parse, Option<bool> fromStdin, Option<string> password, string keyFile)
    {
        if (parse.GetValue(fromStdin) || parse.GetValue(password) is not null)
            throw new ToolFailureException("PasswordTwice", "give a password or have one generated, not both");
        var key = ChargePointPassword.GenerateKey();
        KeyFile.WriteNew(keyFile, [key]);
        return key;
    }

    private static string PasswordOf(ParseResult parse, Option<bool> fromStdin, Option<string> password, bool allowUnauthenticated, ToolEnvironment environment)
    {
        var readStdin = parse.GetValue(fromStdin);
        var given = parse.GetValue(password);
        if (readStdin && given is not null) throw new ToolFailureException("PasswordTwice", "give the password once: --password-stdin or --password");
        if (!readStdin && given is null)
        {
            // Connections without a password only: the hash is of a random password nobody knows.
            if (allowUnauthenticated) return Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(MaxPasswordLength / 2));
            throw new ToolFailureException("PasswordMissing", "give the password: --password-stdin (recommended) or --password P");
        }
        var secret = readStdin ? environment.Input.ReadLine() : given;
        if (secret is null) throw new ToolFailureException("PasswordMissing", "standard input ended before a password");
        if (secret.Length is < MinPasswordLength or > MaxPasswordLength)
            throw new ToolFailureException("PasswordLength", $"a charge point password has {MinPasswordLength} to {MaxPasswordLength} characters, this one {secret.Length}");
        if (secret.Any(char.IsControl)) throw new ToolFailureException("PasswordMalformed", "a charge point password has no control characters");
        return secret;
    }
}
