using System.Net;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Cluster.Gateway;
using Energy.Cluster.Registry;
using Energy.Ocpp;

namespace Energy.Cluster.Tests;

/// <summary>
/// How an OCPP upgrade's password is checked: PBKDF2 in bounded turns that answer "busy, retry" rather than keep a
/// charger waiting, and a password admitted before against the same object taken without PBKDF2, also after a restart.
/// </summary>
public sealed class OcppAdmissionTests : IDisposable
{
    private const string ChargePoint = "cp-admission-1";
    private const string Password = "a password long enough for OCPP";
    private static readonly NetworkId Network = NetworkId.Of("energy-test");
    private static readonly OperatorId Operator = OperatorId.Of("cpo-admission");
    private static readonly Timestamp Now = new(1_764_000_000_000);

    private readonly string _folder = Directory.CreateTempSubdirectory("energy-admission-").FullName;
    private readonly ChargePointCredentialTable _table = new();
    private readonly RevocationList _revocations = new();
    private readonly PasswordChecks _checks = new(2, TimeSpan.FromSeconds(5));

    public OcppAdmissionTests()
    {
        _table.Merge(PasswordObject(version: 1));
        _table.MarkLoaded();
    }

    public void Dispose()
    {
        _checks.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private static ChargePointPassword PasswordObject(ulong version, string password = Password) =>
        ChargePointPassword.For(Network, Operator, new DeviceId(ChargePoint), password, false, version, Now, ChargePointPassword.MinIterations);

    private OcppAuthenticator Authenticator(AdmittedPasswords admitted, PasswordChecks? checks = null) =>
        new(_table, _revocations, new ManualClock(Now), checks ?? _checks, admitted);

    private static Task<OcppAdmission> Admit(OcppAuthenticator authenticator, string password) =>
        authenticator.AdmitAsync(ChargePoint, OcppBasicAuthentication.Header(ChargePoint, password), IPAddress.Loopback, CancellationToken.None);

    [Fact]
    public async Task A_password_admitted_once_is_admitted_again_after_a_restart_without_a_PBKDF2_check()
    {
        var admitted = AdmittedPasswords.Open(_folder);
        Assert.Equal(OcppAdmissionOutcome.Accepted, (await Admit(Authenticator(admitted), Password)).Outcome);
        Assert.True(admitted.SaveIfChanged(_folder));

        // The restarted node's checks would all be refused as busy: only the remembered admission can let the charger in.
        using var refusing = new PasswordChecks(1, TimeSpan.Zero);
        using var holding = Hold(refusing);
        var restarted = AdmittedPasswords.Open(_folder);
        Assert.Equal(1, restarted.Count);
        Assert.Equal(OcppAdmissionOutcome.Accepted, (await Admit(Authenticator(restarted, refusing), Password)).Outcome);
        Assert.Equal(OcppAdmissionOutcome.Busy, (await Admit(Authenticator(restarted, refusing), "another password entirely")).Outcome);
    }

    [Fact]
    public async Task A_remembered_admission_is_good_only_for_the_password_object_it_matched()
    {
        var admitted = AdmittedPasswords.Open(_folder);
        Assert.Equal(OcppAdmissionOutcome.Accepted, (await Admit(Authenticator(admitted), Password)).Outcome);
        _table.Merge(PasswordObject(version: 2, password: "the operator's new password"));

        Assert.False(admitted.Admits(ChargePoint, _table.Find(ChargePoint)!, Password));
        Assert.Equal(OcppAdmissionOutcome.Refused, (await Admit(Authenticator(admitted), Password)).Outcome);
        Assert.Equal(OcppAdmissionOutcome.Accepted, (await Admit(Authenticator(admitted), "the operator's new password")).Outcome);
    }

    [Fact]
    public async Task A_revoked_charger_is_refused_even_with_a_remembered_password()
    {
        var admitted = AdmittedPasswords.Open(_folder);
        Assert.Equal(OcppAdmissionOutcome.Accepted, (await Admit(Authenticator(admitted), Password)).Outcome);
        _revocations.MarkRevoked(ChargePoint);
        Assert.Equal(OcppAdmissionOutcome.Refused, (await Admit(Authenticator(admitted), Password)).Outcome);
    }

    [Fact]
    public void Another_nodes_admissions_or_a_damaged_file_admit_nothing()
    {
        var password = _table.Find(ChargePoint)!;
        var admitted = AdmittedPasswords.Open(_folder);
        admitted.Remember(ChargePoint, password, Password);
        admitted.SaveIfChanged(_folder);

        var elsewhere = Directory.CreateTempSubdirectory("energy-admission-other-").FullName;
        try
        {
            File.Copy(Path.Combine(_folder, AdmittedPasswords.EntriesFile), Path.Combine(elsewhere, AdmittedPasswords.EntriesFile));
            var otherNode = AdmittedPasswords.Open(elsewhere);
            Assert.Equal(1, otherNode.Count);
            Assert.False(otherNode.Admits(ChargePoint, password, Password));
        }
        finally
        {
            Directory.Delete(elsewhere, recursive: true);
        }

        var path = Path.Combine(_folder, AdmittedPasswords.EntriesFile);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length - 5).ToArray());
        Assert.Equal(0, AdmittedPasswords.Open(_folder).Count);
        File.WriteAllBytes(path, "not an admissions file"u8.ToArray());
        Assert.Equal(0, AdmittedPasswords.Open(_folder).Count);
    }

    [Fact]
    public async Task A_check_that_would_wait_past_the_bound_is_refused_busy_with_a_time_to_come_back()
    {
        using var checks = new PasswordChecks(1, TimeSpan.Zero);
        using (Hold(checks))
        {
            var busy = await Admit(Authenticator(AdmittedPasswords.Open(_folder), checks), Password);
            Assert.Equal(OcppAdmissionOutcome.Busy, busy.Outcome);
            Assert.InRange(busy.RetryAfter, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
        }
        // Once the turn is free the same charger is checked and admitted; the busy answer counted as no failure.
        Assert.Equal(OcppAdmissionOutcome.Accepted, (await Admit(Authenticator(AdmittedPasswords.Open(_folder), checks), Password)).Outcome);
    }

    [Fact]
    public async Task Upgrades_refused_together_are_told_to_come_back_spread_over_the_time_their_checks_need()
    {
        using var checks = new PasswordChecks(1, TimeSpan.Zero);
        using (Hold(checks))
        {
            var told = new List<TimeSpan>();
            for (var i = 0; i < 1_000; i++)
            {
                var refused = await checks.RunAsync(() => true, CancellationToken.None);
                Assert.False(refused.Ran);
                told.Add(refused.RetryAfter);
            }
            // A thousand checks of about 5 ms each on one turn need about five seconds: the first come back at once, the last later.
            Assert.Equal(TimeSpan.FromSeconds(1), told[0]);
            Assert.InRange(told[^1], TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(7));
            Assert.Equal(told.Order().ToList(), told);
        }
    }

    [Fact]
    public async Task A_generated_key_is_admitted_with_one_HMAC_while_every_PBKDF2_turn_is_taken()
    {
        var key = ChargePointPassword.GenerateKey();
        _table.Merge(ChargePointPassword.For(Network, Operator, new DeviceId(ChargePoint), key, false, 2, Now, ChargePointPassword.KeyIterations));
        using var refusing = new PasswordChecks(1, TimeSpan.Zero);
        using var holding = Hold(refusing);
        var admitted = AdmittedPasswords.Open(_folder);

        Assert.Equal(OcppAdmissionOutcome.Accepted, (await Admit(Authenticator(admitted, refusing), key)).Outcome);
        // Another key, or the key in capitals, is refused at once: neither waits for a PBKDF2 turn nor is remembered.
        Assert.Equal(OcppAdmissionOutcome.Refused, (await Admit(Authenticator(admitted, refusing), ChargePointPassword.GenerateKey())).Outcome);
        Assert.Equal(OcppAdmissionOutcome.Refused, (await Admit(Authenticator(admitted, refusing), key.ToUpperInvariant())).Outcome);
        Assert.Equal(0, admitted.Count);
    }

    [Fact]
    public async Task A_wrong_password_is_refused_and_not_remembered()
    {
        var admitted = AdmittedPasswords.Open(_folder);
        Assert.Equal(OcppAdmissionOutcome.Refused, (await Admit(Authenticator(admitted), "guessed")).Outcome);
        Assert.Equal(0, admitted.Count);
        Assert.False(admitted.SaveIfChanged(_folder));
    }

    /// <summary>Takes the only turn of <paramref name="checks"/> with a check that runs until the returned scope ends.</summary>
    private static Holding Hold(PasswordChecks checks)
    {
        var entered = new ManualResetEventSlim();
        var release = new ManualResetEventSlim();
        var running = Task.Run(() => checks.RunAsync(() =>
        {
            entered.Set();
            release.Wait();
            return true;
        }, CancellationToken.None));
        Assert.True(entered.Wait(TimeSpan.FromSeconds(10)), "the holding check never ran");
        return new Holding(release, running);
    }

    private sealed class Holding(ManualResetEventSlim release, Task running) : IDisposable
    {
        public void Dispose()
        {
            release.Set();
            running.Wait(TimeSpan.FromSeconds(10));
        }
    }
}
