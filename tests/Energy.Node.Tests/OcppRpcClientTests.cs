using System.Diagnostics;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Xunit.Abstractions;

namespace Energy.Node.Tests;

/// <summary>
/// A client nobody here wrote: the npm package ocpp-rpc in strict mode (tests/ocpp-client) runs a
/// complete 1.6J session, and the hostile cases, against a node process.
/// </summary>
public sealed class OcppRpcClientTests(NodeFixture fixture, ITestOutputHelper output) : IClassFixture<NodeFixture>
{
    [Fact]
    public async Task The_ocpp_rpc_client_in_strict_mode_completes_a_session_and_its_hostile_cases()
    {
        using var cpoKey = DeviceKeyPair.Generate();
        using var vehicleKey = DeviceKeyPair.Generate();
        var cpo = OperatorId.Of("cpo-rpc");
        var vehicle = DeviceId.Of("vehicle-rpc");
        Assert.True((await fixture.Api.PostSignedAsync($"/api/operators/{cpo}/admission", Governance.Admission(fixture.Node, cpo, cpoKey.PublicKey, OperatorRoles.ChargePointOperator | OperatorRoles.FleetOwner))).Ok);
        Assert.True((await fixture.Api.PostSignedAsync($"/api/devices/{vehicle}/endorsement",
            DeviceIdentity.Endorse(NetworkId.Of("energy-test"), cpo, cpoKey, vehicle, DeviceRole.Vehicle, vehicleKey.PublicKey).Endorsement.ToArray())).Ok);

        const string password = "ocpp-rpc's password";
        using (var chargers = new OcppChargers(fixture.Node, "cpo-rpc-chargers"))
        {
            await chargers.AdmitAsync();
            await chargers.ChargerAsync("rpc-cp-1", password);
            await chargers.ChargerAsync("rpc-cp-2", password);
        }

        var folder = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../ocpp-client"));
        Assert.True(Directory.Exists(Path.Combine(folder, "node_modules", "ocpp-rpc")), $"run npm ci in {folder} (tests/setup/npm.sh does)");
        var start = new ProcessStartInfo("node") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("--test");
        start.ArgumentList.Add("session.test.mjs");
        start.Environment["OCPP_ENDPOINT"] = $"ws://127.0.0.1:{fixture.Node.Port}/ocpp";
        start.Environment["OCPP_ID_TAG"] = vehicle.Value;
        start.Environment["OCPP_PASSWORD"] = password;
        using var node = Process.Start(start)!;
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        await node.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        output.WriteLine(await stdout);
        output.WriteLine(await stderr);
        Assert.True(node.ExitCode == 0, $"ocpp-rpc session failed:\n{await stdout}\n{await stderr}");
        Assert.Contains("# pass 2", await stdout, StringComparison.Ordinal);
    }
}
