using System.Runtime.CompilerServices;

namespace Energy.Channels;

/// <summary>
/// The code each named error travels under, known from its type alone: a device that hears a refusal over the wire
/// (code and sentence) tells which error it is by the error's type, as the network does in-process, never by a string
/// written again by hand.
/// </summary>
public static class ErrorCodes
{
    /// <summary>The code <typeparamref name="TError"/> is sent with (its type name, unless the error names another).</summary>
    public static string Of<TError>() where TError : ProtocolError => CodeOf<TError>.Code;

    /// <summary>Whether <paramref name="code"/> is the code of <typeparamref name="TError"/>.</summary>
    public static bool Is<TError>(string? code) where TError : ProtocolError => code == CodeOf<TError>.Code;

    // An error's code depends on its type, not its values: it is read once, from an instance whose values are unset.
    private static class CodeOf<TError> where TError : ProtocolError
    {
        public static readonly string Code = ((TError)RuntimeHelpers.GetUninitializedObject(typeof(TError))).Code;
    }
}
