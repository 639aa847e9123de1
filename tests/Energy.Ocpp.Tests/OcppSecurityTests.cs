using System.Text;

namespace Energy.Ocpp.Tests;

/// <summary>Basic authentication as OCPP security profiles 1 and 2 send it, and the slow-down of repeated failures.</summary>
public class OcppSecurityTests
{
    private static string Basic(string text) => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    [Fact]
    public void The_password_is_what_follows_the_charge_point_id_even_when_either_holds_colons()
    {
        Assert.Equal(new BasicCredentials(PresentedCredentials.Password, "s3cret"), OcppBasicAuthentication.Read(Basic("cp-1:s3cret"), "cp-1"));
        Assert.Equal(new BasicCredentials(PresentedCredentials.Password, "a:b:c"), OcppBasicAuthentication.Read(Basic("site:cp:1:a:b:c"), "site:cp:1"));
        Assert.Equal(new BasicCredentials(PresentedCredentials.Password, ""), OcppBasicAuthentication.Read(Basic("cp-1:"), "cp-1"));
        Assert.Equal(OcppBasicAuthentication.Read(OcppBasicAuthentication.Header("cp-1", "pässword"), "cp-1"), new(PresentedCredentials.Password, "pässword"));
    }

    [Fact]
    public void No_header_is_profile_0()
    {
        Assert.Equal(PresentedCredentials.None, OcppBasicAuthentication.Read(null, "cp-1").Presented);
        Assert.Equal(PresentedCredentials.None, OcppBasicAuthentication.Read("", "cp-1").Presented);
    }

    [Theory]
    [InlineData("Bearer abc")]
    [InlineData("Basic not-base64!")]
    [InlineData("Basic")]
    [InlineData("Basic //79")] // base64 of bytes that are not UTF-8
    public void A_header_that_is_not_basic_authentication_is_malformed(string header) =>
        Assert.Equal(new BasicCredentials(PresentedCredentials.Malformed, null), OcppBasicAuthentication.Read(header, "cp-1"));

    [Theory]
    [InlineData("cp-2:secret")]
    [InlineData("cp-1secret")]
    [InlineData("CP-1:secret")]
    [InlineData("cp-:secret")]
    public void Another_user_than_the_charge_point_itself_is_malformed(string userAndPassword) =>
        Assert.Equal(PresentedCredentials.Malformed, OcppBasicAuthentication.Read(Basic(userAndPassword), "cp-1").Presented);

    [Fact]
    public void An_overlong_header_is_not_decoded() =>
        Assert.Equal(PresentedCredentials.Malformed, OcppBasicAuthentication.Read(Basic("cp-1:" + new string('x', 2_000)), "cp-1").Presented);

    [Fact]
    public void Locks_double_after_the_free_failures_up_to_the_bound()
    {
        var policy = ThrottlePolicy.PerChargePoint;
        Assert.All(Enumerable.Range(0, policy.FreeFailures + 1), n => Assert.Equal(TimeSpan.Zero, policy.LockAfter(n)));
        Assert.Equal(TimeSpan.FromSeconds(1), policy.LockAfter(policy.FreeFailures + 1));
        Assert.Equal(TimeSpan.FromSeconds(2), policy.LockAfter(policy.FreeFailures + 2));
        Assert.Equal(TimeSpan.FromSeconds(32), policy.LockAfter(policy.FreeFailures + 6));
        Assert.Equal(policy.MaxLock, policy.LockAfter(policy.FreeFailures + 7));
        Assert.Equal(policy.MaxLock, policy.LockAfter(int.MaxValue));
        Assert.Equal(TimeSpan.FromMinutes(5), ThrottlePolicy.PerAddress.LockAfter(int.MaxValue));
    }

    [Fact]
    public void A_key_is_locked_out_after_its_free_failures_and_may_try_again_when_the_lock_ends()
    {
        var throttle = new AuthenticationThrottle(ThrottlePolicy.PerChargePoint);
        var now = 1_000_000L;
        for (var i = 0; i < 5; i++) Assert.Equal(TimeSpan.Zero, throttle.RecordFailure("cp-1", now++));
        Assert.Equal(TimeSpan.Zero, throttle.RetryAfter("cp-1", now));
        Assert.Equal(TimeSpan.FromSeconds(1), throttle.RecordFailure("cp-1", now));
        Assert.Equal(TimeSpan.FromMilliseconds(600), throttle.RetryAfter("cp-1", now + 400));
        Assert.Equal(TimeSpan.Zero, throttle.RetryAfter("cp-2", now + 400));
        Assert.Equal(TimeSpan.Zero, throttle.RetryAfter("cp-1", now + 1_000));
        Assert.Equal(TimeSpan.FromSeconds(2), throttle.RecordFailure("cp-1", now + 1_000));
    }

    [Fact]
    public void A_success_or_a_quiet_while_starts_a_key_again_from_zero()
    {
        var policy = ThrottlePolicy.PerChargePoint;
        var throttle = new AuthenticationThrottle(policy);
        for (var i = 0; i < 7; i++) throttle.RecordFailure("cp-1", i);
        throttle.RecordSuccess("cp-1");
        Assert.Equal(TimeSpan.Zero, throttle.RetryAfter("cp-1", 10));
        Assert.Equal(TimeSpan.Zero, throttle.RecordFailure("cp-1", 10));

        for (var i = 0; i < 7; i++) throttle.RecordFailure("cp-2", i);
        var later = 7 + (long)policy.ForgetAfter.TotalMilliseconds + 1;
        Assert.Equal(TimeSpan.Zero, throttle.RecordFailure("cp-2", later));
    }

    [Fact]
    public void The_table_stays_within_its_bound_under_a_flood_of_new_keys()
    {
        var policy = ThrottlePolicy.PerAddress with { MaxEntries = 100 };
        var throttle = new AuthenticationThrottle(policy);
        for (var i = 0; i < 5_000; i++) throttle.RecordFailure($"key-{i}", 1_000 + i);
        Assert.InRange(throttle.Count, 1, policy.MaxEntries);
        // The newest keys are kept: a flood evicts the keys that failed longest ago first.
        for (var i = 0; i < 30; i++) throttle.RecordFailure("key-4999", 10_000);
        Assert.True(throttle.RetryAfter("key-4999", 10_000) > TimeSpan.Zero);
    }

    [Fact]
    public void Concurrent_failures_of_one_key_are_all_counted()
    {
        var throttle = new AuthenticationThrottle(ThrottlePolicy.PerChargePoint with { MaxLock = TimeSpan.FromDays(1) });
        Parallel.For(0, 1_000, _ => throttle.RecordFailure("cp-1", 0));
        Assert.True(throttle.RetryAfter("cp-1", 0) > TimeSpan.FromHours(23));
    }
}
