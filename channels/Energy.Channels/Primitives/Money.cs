namespace Energy.Channels.Primitives;

/// <summary>An ISO-4217-style currency code: exactly three upper-case ASCII letters.</summary>
public readonly record struct Currency
{
    public string Code { get; }

    private Currency(string code) => Code = code;

    public static readonly Currency Eur = new("EUR");
    public static readonly Currency Usd = new("USD");
    public static readonly Currency Cny = new("CNY");

    public static Result<Currency> Parse(string? code)
    {
        if (code is null || code.Length != 3 || !code.All(c => c is >= 'A' and <= 'Z'))
            return new MalformedValue("currency", code ?? "(null)", "three upper-case ASCII letters");
        return new Currency(code);
    }

    public static Currency Of(string code) => Parse(code).Unwrap();

    public override string ToString() => Code ?? "???";
}

/// <summary>
/// An amount of money in integer minor units (cents, fen). Arithmetic is checked: an overflow is the
/// named error <see cref="AmountOverflow"/>, never a wrap. Money may be negative only as an
/// intermediate; the protocol rejects negative amounts wherever they would be signed or settled.
/// </summary>
public readonly record struct Money(long MinorUnits, Currency Currency) : IComparable<Money>
{
    public static Money Zero(Currency currency) => new(0, currency);

    public bool IsNegative => MinorUnits < 0;

    public Result<Money> Add(Money other)
    {
        if (other.Currency != Currency) return new CurrencyMismatch(Currency, other.Currency);
        long sum;
        try { sum = checked(MinorUnits + other.MinorUnits); }
        catch (OverflowException) { return new AmountOverflow("add", MinorUnits, other.MinorUnits); }
        return new Money(sum, Currency);
    }

    public Result<Money> Subtract(Money other)
    {
        if (other.Currency != Currency) return new CurrencyMismatch(Currency, other.Currency);
        long difference;
        try { difference = checked(MinorUnits - other.MinorUnits); }
        catch (OverflowException) { return new AmountOverflow("subtract", MinorUnits, other.MinorUnits); }
        return new Money(difference, Currency);
    }

    public int CompareTo(Money other)
    {
        if (other.Currency != Currency)
            throw new InvalidOperationException($"cannot compare {Currency} with {other.Currency}");
        return MinorUnits.CompareTo(other.MinorUnits);
    }

    public static bool operator <(Money left, Money right) => left.CompareTo(right) < 0;
    public static bool operator >(Money left, Money right) => left.CompareTo(right) > 0;
    public static bool operator <=(Money left, Money right) => left.CompareTo(right) <= 0;
    public static bool operator >=(Money left, Money right) => left.CompareTo(right) >= 0;

    public override string ToString() => $"{MinorUnits} {Currency} minor units";
}
