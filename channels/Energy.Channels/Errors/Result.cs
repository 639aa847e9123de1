using System.Diagnostics.CodeAnalysis;

namespace Energy.Channels;

/// <summary>Either a value or a named <see cref="ProtocolError"/>. Protocol operations return this instead of throwing.</summary>
public readonly struct Result<T>
{
    private readonly T? _value;

    public ProtocolError? Error { get; }

    private Result(T value) { _value = value; Error = null; }
    private Result(ProtocolError error) { _value = default; Error = error; }

    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsOk => Error is null;

    public T Value => Error is null ? _value! : throw new ProtocolException(Error);

    public static implicit operator Result<T>(T value) => new(value);
    public static implicit operator Result<T>(ProtocolError error) => new(error ?? throw new ArgumentNullException(nameof(error)));

    public T Unwrap() => Value;

    public bool TryGet([MaybeNullWhen(false)] out T value, [MaybeNullWhen(true)] out ProtocolError error)
    {
        value = _value!;
        error = Error;
        return Error is null;
    }

    public Result<TNext> Then<TNext>(Func<T, Result<TNext>> next) => Error is null ? next(_value!) : Error;

    public override string ToString() => Error is null ? $"Ok({_value})" : $"Error({Error})";
}

/// <summary>Thrown only where a caller asserts success (<see cref="Result{T}.Unwrap"/>) and it was not.</summary>
public sealed class ProtocolException : Exception
{
    public ProtocolError Error { get; }

    public ProtocolException(ProtocolError error) : base($"{error.Code}: {error.Describe()}") => Error = error;
}
