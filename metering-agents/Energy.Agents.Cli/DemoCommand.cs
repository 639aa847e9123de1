using System.CommandLine;
using System.Globalization;
using Energy.Agents;
using Energy.Channels.Primitives;

namespace Energy.Agents.Cli;

/// <summary><c>energy-agents demo</c>: one charging session, in memory, no node needed.</summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var command = new Command("demo", "One charging session in memory, no node needed: the meter signs each reading, the vehicle pays each increment with a voucher");
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var tariff = new Tariff(new Money(35, Currency.Eur)); // 0.35 EUR per kWh
            output.WriteLine("A vehicle charges: the meter signs a reading every second, the vehicle pays each increment with a voucher.");
            var outcome = ChargingSessionDemo.Run(readings: 30, whPerReading: 1_500, tariff, new Money(5_000, Currency.Eur), step =>
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  reading {step.Sequence,3}  register {step.RegisterWh,7} Wh  paid {step.PaidMinorUnits / 100.0,7:0.00} EUR")));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Settled: {outcome.EnergyWh} Wh for {outcome.PaidMinorUnits / 100.0:0.00} EUR to the operator, {outcome.RefundMinorUnits / 100.0:0.00} EUR back to the vehicle."));
            return 0;
        });
        return command;
    }
}
