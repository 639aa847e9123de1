using System.CommandLine;
using Energy.Channels.Identity;

namespace Energy.Cli.Commands;

/// <summary><c>energy keys new|show</c>: Ed25519 key files for the authority, operators and devices.</summary>
public static class KeysCommand
{
    public static Command Create(ToolEnvironment environment) =>
        new("keys", "Ed25519 key files: make a new one, show the public key of one")
        {
            New(environment),
            Show(environment),
        };

    private static Command New(ToolEnvironment environment)
    {
        var output = ToolOptions.KeyFile("--out", "Where to write the new key's seed, as 64 hex digits (created readable by you only, never overwritten)");
        var command = new Command("new", "Makes a new Ed25519 key, writes it to a file and prints its public key (hex)") { output };
        command.Runs(environment, (parse, _) =>
        {
            using var key = DeviceKeyPair.Generate();
            KeyFile.WriteNew(parse.GetRequiredValue(output), [KeyFile.SeedHex(key)]);
            environment.Output.WriteLine(key.PublicKey.Hex);
            return Task.CompletedTask;
        });
        return command;
    }

    private static Command Show(ToolEnvironment environment)
    {
        var keyFile = ToolOptions.KeyFile("--key", "The key file: a 32-byte seed, raw or as 64 hex digits on a line");
        var command = new Command("show", "Prints the public key (hex) of a key file") { keyFile };
        command.Runs(environment, (parse, _) =>
        {
            using var key = KeyFile.Load(parse.GetRequiredValue(keyFile), environment.Error);
            environment.Output.WriteLine(key.PublicKey.Hex);
            return Task.CompletedTask;
        });
        return command;
    }
}
