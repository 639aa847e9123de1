using System.Globalization;
using Energy.Agents;
using Energy.Channels.Primitives;

var command = args.FirstOrDefault() ?? "demo";
if (command != "demo")
{
    Console.Error.WriteLine("usage: energy-agents demo");
    return 2;
}

var tariff = new Tariff(new Money(35, Currency.Eur)); // 0.35 EUR per kWh
var deposit = new Money(5_000, Currency.Eur);
Console.WriteLine("A vehicle charges: the meter signs a reading every second, the vehicle pays each increment with a voucher.");
var outcome = ChargingSessionDemo.Run(readings: 30, whPerReading: 1_500, tariff, deposit, step =>
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"  reading {step.Sequence,3}  register {step.RegisterWh,7} Wh  paid {step.PaidMinorUnits / 100.0,7:0.00} EUR")));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"Settled: {outcome.EnergyWh} Wh for {outcome.PaidMinorUnits / 100.0:0.00} EUR to the operator, {outcome.RefundMinorUnits / 100.0:0.00} EUR back to the vehicle."));
return 0;
