using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Energy.Cluster.Hosting;

/// <summary>
/// Plain connections to the store the persistence plugins use, for the reads that wake many entities at once (one
/// statement for hundreds of entities instead of three per entity). The tables and columns are the ones the plugins'
/// table mapping names, read from the same configuration.
/// </summary>
public sealed class RecoveryDatabase
{
    /// <summary>How many entities one statement reads for; well under SQLite's limit of bound parameters.</summary>
    public const int MaxEntitiesPerRead = 500;

    private readonly string _connectionString;
    private readonly bool _sqlite;

    private RecoveryDatabase(string connectionString, bool sqlite, string table, Akka.Configuration.Config columns)
    {
        _connectionString = connectionString;
        _sqlite = sqlite;
        Table = table;
        Column = name => Quote(columns.GetString(name));
    }

    /// <summary>The quoted, schema-qualified table.</summary>
    public string Table { get; }

    /// <summary>A column by its key in the mapping (persistence-id, sequence-number, ...), quoted.</summary>
    public Func<string, string> Column { get; }

    /// <summary>The journal's table, from the journal plugin's configuration.</summary>
    public static RecoveryDatabase ForJournal(Akka.Configuration.Config pluginConfig) => For(pluginConfig, "journal");

    /// <summary>The snapshot table, from the snapshot plugin's configuration.</summary>
    public static RecoveryDatabase ForSnapshots(Akka.Configuration.Config pluginConfig) => For(pluginConfig, "snapshot");

    private static RecoveryDatabase For(Akka.Configuration.Config pluginConfig, string part)
    {
        var mapping = pluginConfig.GetString("table-mapping");
        var tables = pluginConfig.GetConfig(mapping) ?? throw new InvalidOperationException($"no table mapping {mapping}");
        var sqlite = pluginConfig.GetString("provider-name").StartsWith("SQLite", StringComparison.OrdinalIgnoreCase);
        var schema = tables.GetString("schema-name", null);
        var table = Quote(tables.GetString($"{part}.table-name"));
        if (!string.IsNullOrEmpty(schema) && schema != "null") table = Quote(schema) + "." + table;
        return new RecoveryDatabase(pluginConfig.GetString("connection-string"), sqlite, table, tables.GetConfig($"{part}.columns"));
    }

    public async Task<DbConnection> OpenAsync(CancellationToken token)
    {
        DbConnection connection = _sqlite ? new SqliteConnection(_connectionString) : new Npgsql.NpgsqlConnection(_connectionString);
        try
        {
            await connection.OpenAsync(token);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Adds one parameter per value and returns their names, comma separated, for an IN list.</summary>
    public static string Parameters<T>(DbCommand command, string prefix, IEnumerable<T> values)
    {
        var names = new List<string>();
        foreach (var value in values)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = $"@{prefix}{names.Count}";
            parameter.Value = value;
            command.Parameters.Add(parameter);
            names.Add(parameter.ParameterName);
        }
        return string.Join(", ", names);
    }

    private static string Quote(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
