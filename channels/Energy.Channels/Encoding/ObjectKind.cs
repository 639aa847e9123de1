namespace Energy.Channels;

/// <summary>
/// The kind of a signed object. The tag is the domain separator: it is inside the signed bytes, so a
/// signature made over one kind never verifies as another. Tags are stable forever; add, never reuse.
/// </summary>
public enum ObjectKind : byte
{
    Endorsement = 0x01,
    // 0x02 is retired: the voucher that named no purpose and no increment. It is refused by name
    // (UnsupportedVoucherVersion), so a device still signing it learns why.
    CloseRequest = 0x03,
    DuplexState = 0x04,
    // 0x05 is retired: closes of both channel kinds use CloseRequest.
    MeterReading = 0x06,
    TollRequest = 0x07,
    AuthenticationChallenge = 0x08,
    SettlementBlock = 0x09,
    Revocation = 0x0A,
    StreamingOpening = 0x0B,
    FundingOrder = 0x0C,
    WithdrawalOrder = 0x0D,
    DuplexOpening = 0x0E,
    GantryTariff = 0x0F,
    Quarantine = 0x10,
    Admission = 0x11,
    ChargePointPassword = 0x12,
    ViewerKey = 0x13,
    ApiRequest = 0x14,

    /// <summary>A voucher that names its increment and what it pays for (a session, a toll pass, or nothing).</summary>
    Voucher = 0x15,

    /// <summary>The authority admits (or withdraws) a node's key as a signer of ledger blocks.</summary>
    LedgerNodeAdmission = 0x16,

    /// <summary>A meter's bid or offer in its grid zone's energy market for one interval.</summary>
    MarketOrder = 0x17,
}

public static class ObjectKinds
{
    /// <summary>The tag of the voucher without a purpose, retired for <see cref="ObjectKind.Voucher"/>.</summary>
    public const byte RetiredVoucher = 0x02;

    public static bool IsDefined(byte tag) => tag is >= 0x01 and <= 0x17 and not 0x05 and not RetiredVoucher;
}
