namespace Energy.Channels.Identity;

/// <summary>What a device is. Stable byte values: they are signed inside endorsements.</summary>
public enum DeviceRole : byte
{
    Vehicle = 1,
    Charger = 2,
    Meter = 3,
    Gantry = 4,
}

public static class DeviceRoles
{
    public static bool IsDefined(byte value) => value is >= 1 and <= 4;
}
