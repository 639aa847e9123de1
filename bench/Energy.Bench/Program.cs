using System.CommandLine;
using Energy.Bench;
using Energy.Bench.Benchmarks;

IBenchmark[] benchmarks =
[
    new VoucherAcceptBenchmark(),
    new ChannelUpdatesBenchmark(),
    new SettlementsBenchmark(),
    new RecoveryBenchmark(),
    new ActivationBenchmark(),
    new ChargingBenchmark(),
    new OcppConnectionsBenchmark(),
    new OcppReconnectBenchmark(),
    new GatewayReconnectBenchmark(),
    new TollsBenchmark(),
    new DashboardBenchmark(),
    new ClusterBenchmark(),
    new MarketBenchmark(),
];

// One subcommand per benchmark. The exit code tells the truth: 0 when the benchmark met its target,
// 1 when it did not (in any of its checks), 2 when the command line was wrong.
var root = new RootCommand("Energy's benchmarks: each warms up, measures several runs, prints progress on stderr, "
    + "a table on stdout and one JSON line of its figures; exits 0 when it met its target and 1 when it did not.");
var quick = new Option<bool>("--quick") { Description = "Fewer and shorter runs: checks the benchmark works, not its figures", Recursive = true };
root.Options.Add(quick);
foreach (var benchmark in benchmarks)
{
    var command = new Command(benchmark.Name, benchmark.Description);
    command.SetAction(async (parse, _) =>
    {
        var result = await benchmark.RunAsync(new BenchOptions(parse.GetValue(quick)), new Progress(benchmark.Name));
        Report.Print(benchmark.Name, result);
        return result.Passed ? 0 : 1;
    });
    root.Subcommands.Add(command);
}
root.SetAction(parse =>
{
    Console.Error.WriteLine("Name a benchmark: bench/run NAME [--quick] (bench/run --help lists them)");
    return 2;
});

var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    foreach (var error in parsed.Errors) Console.Error.WriteLine($"error: {error.Message}");
    Console.Error.WriteLine("See: bench/run --help");
    return 2;
}
return await parsed.InvokeAsync();
