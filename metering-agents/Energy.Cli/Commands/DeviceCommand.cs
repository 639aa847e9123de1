using System.CommandLine;
using Energy.Channels.Identity;

namespace Energy.Cli.Commands;

/// <summary><c>energy device endorse|revoke|quarantine</c>: an operator's orders about its devices.</summary>
public static class DeviceCommand
{
    public static Command Create(ToolEnvironment environment) =>
        new("device", "An operator's orders about its devices: endorse a device's key, revoke it, quarantine or release it")
        {
            Endorse(environment),
            Revoke(environment),
            Quarantine(environment),
        };

    private static Command Endorse(ToolEnvironment environment)
    {
        var signer = new OperatorSignerOptions("operator", "device's operator");
        var device = ToolOptions.Device("--device", "The device's id");
        var role = new Option<DeviceRole>("--role")
        {
            Description = "What the device is",
            HelpName = "charger|vehicle|meter|gantry",
            Required = true,
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
                if (Enum.TryParse<DeviceRole>(text, ignoreCase: true, out var parsed) && char.IsAsciiLetter(text.FirstOrDefault()) && Enum.IsDefined(parsed))
                    return parsed;
                result.AddError($"--role: '{text}' is not a device role; expected charger, vehicle, meter or gantry");
                return default;
            },
        };
        var publicKey = ToolOptions.PublicKey("--device-public-key", "The device's public key (hex): the device made its key and keeps it");
        var deviceKey = ToolOptions.KeyFile("--device-key", "Or: the device's key file, to take its public key from", required: false);
        var node = new NodeOptions();
        var command = new Command("endorse", "Endorses a device's public key in a role (like a certificate): the device is then known to the whole network")
        {
            device, role, publicKey, deviceKey,
        };
        signer.AddTo(command);
        node.AddTo(command);
        command.Runs(environment, async (parse, _) =>
        {
            var key = DevicePublicKeyOf(parse, publicKey, deviceKey, environment);
            using var connection = node.Connect(parse, environment);
            using var agent = signer.Agent(parse, environment, connection);
            var id = parse.GetRequiredValue(device);
            var deviceRole = parse.GetRequiredValue(role);
            environment.PrintJson(await agent.EndorseAsync(id, deviceRole, key));
            environment.Note($"endorsed device:{id} as {deviceRole} of operator:{agent.Id}, key {key.Hex}");
        });
        return command;
    }

    private static Command Revoke(ToolEnvironment environment)
    {
        var signer = new OperatorSignerOptions("operator", "device's operator");
        var device = ToolOptions.Device("--device", "The device whose key is revoked (for good: it is refused everywhere from now on)");
        var node = new NodeOptions();
        var command = new Command("revoke", "Revokes a device's endorsement: a stolen, hijacked or retired device") { device };
        signer.AddTo(command);
        node.AddTo(command);
        command.Runs(environment, async (parse, _) =>
        {
            using var connection = node.Connect(parse, environment);
            using var agent = signer.Agent(parse, environment, connection);
            var id = parse.GetRequiredValue(device);
            environment.PrintJson(await agent.RevokeAsync(id));
            environment.Note($"revoked device:{id}");
        });
        return command;
    }

    private static Command Quarantine(ToolEnvironment environment)
    {
        var signer = new OperatorSignerOptions("operator", "device's operator (or the grid operator)");
        var device = ToolOptions.Device("--device", "The device suspected to be cloned or hijacked");
        var release = new Option<bool>("--release") { Description = "Releases the device from quarantine instead" };
        var version = ToolOptions.OrderVersion("The order's version: higher than the device's last order [default: from the clock, so a later order always wins]");
        var node = new NodeOptions();
        var command = new Command("quarantine", "Quarantines a device (its payments are refused until released) or, with --release, releases it")
        {
            device, release, version,
        };
        signer.AddTo(command);
        node.AddTo(command);
        command.Runs(environment, async (parse, _) =>
        {
            using var connection = node.Connect(parse, environment);
            using var agent = signer.Agent(parse, environment, connection);
            var id = parse.GetRequiredValue(device);
            var quarantined = !parse.GetValue(release);
            var orderVersion = parse.GetValue(version) ?? Energy.Agents.OperatorAgent.NextOrderVersion();
            environment.PrintJson(await agent.QuarantineAsync(id, quarantined, orderVersion));
            environment.Note($"{(quarantined ? "quarantined" : "released")} device:{id} (order version {orderVersion})");
        });
        return command;
    }

    private static DevicePublicKey DevicePublicKeyOf(ParseResult parse, Option<DevicePublicKey> publicKey, Option<string> keyFile, ToolEnvironment environment)
    {
        var hex = parse.GetValue(publicKey);
        var file = parse.GetValue(keyFile);
        if ((hex is null) == (file is null))
            throw new ToolFailureException("DeviceKeyMissing", "give the device's key once: --device-public-key HEX or --device-key FILE");
        if (hex is not null) return hex;
        using var key = KeyFile.Load(file!, environment.Error);
        return key.PublicKey;
    }
}
