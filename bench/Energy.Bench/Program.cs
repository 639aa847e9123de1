using Energy.Bench;
using Energy.Bench.Benchmarks;

IBenchmark[] benchmarks =
[
    new VoucherAcceptBenchmark(),
    new ChannelUpdatesBenchmark(),
    new SettlementsBenchmark(),
    new RecoveryBenchmark(),
    new ChargingBenchmark(),
    new OcppConnectionsBenchmark(),
    new TollsBenchmark(),
    new DashboardBenchmark(),
];

var quick = args.Contains("--quick");
var name = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal));
var benchmark = benchmarks.FirstOrDefault(b => b.Name == name);
if (benchmark is null)
{
    Console.Error.WriteLine("usage: bench/run NAME [--quick]");
    foreach (var b in benchmarks) Console.Error.WriteLine($"  {b.Name,-20} {b.Description}");
    return name is null ? 0 : 2;
}

var result = await benchmark.RunAsync(new BenchOptions(quick), new Progress(benchmark.Name));
Report.Print(benchmark.Name, result);
return 0;
