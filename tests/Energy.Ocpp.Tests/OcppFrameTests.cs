using System.Text;
using System.Text.Json;

namespace Energy.Ocpp.Tests;

/// <summary>OCPP-J frames and 1.6 payloads: what is accepted, and the CALLERROR code for everything else.</summary>
public class OcppFrameTests
{
    private static OcppParse Parse(string text) => OcppFrames.Parse(Encoding.UTF8.GetBytes(text));

    private static OcppError? Validate(string action, string payload) =>
        Ocpp16.Validate(new OcppCall("1", action, JsonDocument.Parse(payload).RootElement.Clone()));

    [Fact]
    public void A_call_is_read_with_its_id_action_and_payload()
    {
        var call = Assert.IsType<OcppCall>(Parse("""[2,"abc","Heartbeat",{}]""").Frame);
        Assert.Equal(("abc", "Heartbeat"), (call.UniqueId, call.Action));
    }

    [Theory]
    [InlineData("not json", null)]
    [InlineData("{\"a\":1}", null)]
    [InlineData("[2,\"id\"]", null)]
    [InlineData("[2,5,\"Heartbeat\",{}]", null)]
    [InlineData("[2,\"\",\"Heartbeat\",{}]", null)]
    [InlineData("[2,\"0123456789012345678901234567890123456\",\"Heartbeat\",{}]", null)]
    [InlineData("[\"2\",\"id\",\"Heartbeat\",{}]", "id")]
    [InlineData("[2,\"id\",\"Heartbeat\",[]]", "id")]
    [InlineData("[2,\"id\",7,{}]", "id")]
    [InlineData("[2,\"id\",\"Heartbeat\",{},1]", "id")]
    [InlineData("[4,\"id\",\"GenericError\"]", "id")]
    public void A_malformed_frame_is_a_FormationViolation(string text, string? uniqueId)
    {
        var parsed = Parse(text);
        Assert.Null(parsed.Frame);
        Assert.Equal(OcppErrorCode.FormationViolation, parsed.Error!.Code);
        Assert.Equal(uniqueId, parsed.UniqueId);
    }

    public static TheoryData<byte[], string?> IllFormedText => new()
    {
        // A lone high surrogate as the unique id: 14 bytes.
        { "[3,\"\\ud800\",0]"u8.ToArray(), null },
        // A lone low surrogate.
        { "[2,\"\\udc00x\",\"Heartbeat\",{}]"u8.ToArray(), null },
        // A byte that is never UTF-8.
        { [.. "[2,\""u8, 0xFF, .. "\",\"Heartbeat\",{}]"u8], null },
        // An overlong NUL as the action.
        { [.. "[2,\"id\",\""u8, 0xC0, 0x80, .. "\",{}]"u8], "id" },
        // Two high surrogates in a payload.
        { "[2,\"id\",\"Authorize\",{\"idTag\":\"\\ud800\\ud800\"}]"u8.ToArray(), "id" },
        // A lone surrogate as a member name.
        { "[2,\"id\",\"Authorize\",{\"\\ud800\":\"v\"}]"u8.ToArray(), "id" },
        // A surrogate encoded in UTF-8 (CESU-8).
        { [.. "[3,\"id\",{\"a\":[\""u8, 0xED, 0xA0, 0x80, .. "\"]}]"u8], "id" },
        // In a CALLERROR's description.
        { "[4,\"id\",\"GenericError\",\"\\ud800\",{}]"u8.ToArray(), "id" },
    };

    [Theory]
    [MemberData(nameof(IllFormedText))]
    public void A_message_with_ill_formed_text_is_a_FormationViolation_that_can_be_answered(byte[] message, string? uniqueId)
    {
        var parsed = OcppFrames.Parse(message);
        Assert.Null(parsed.Frame);
        Assert.Equal(OcppErrorCode.FormationViolation, parsed.Error!.Code);
        Assert.Equal(uniqueId, parsed.UniqueId);
        Assert.StartsWith("[4,", OcppFrames.CallError(parsed.UniqueId ?? "-1", parsed.Error));
    }

    [Fact]
    public void A_payload_with_a_lone_surrogate_is_a_FormationViolation_even_when_validated_alone()
    {
        Assert.Equal(OcppErrorCode.FormationViolation, Validate("Authorize", """{"idTag":"\ud800"}""")?.Code);
        Assert.Equal(OcppErrorCode.FormationViolation, Validate("Heartbeat", """{"\udfff":1}""")?.Code);
    }

    [Fact]
    public void Surrogate_pairs_and_other_escapes_are_well_formed_text()
    {
        var call = Assert.IsType<OcppCall>(Parse("""[2,"\ud83d\ude00\n\u00e9\"","Authorize",{"idTag":"\u0076-1"}]""").Frame);
        Assert.Equal("\U0001F600\n\u00e9\"", call.UniqueId);
        Assert.Null(Ocpp16.Validate(call));
    }

    [Theory]
    // The schema saw only the last value of a repeated key: 1 passed while "x" was sent too.
    [InlineData("""[2,"id","StartTransaction",{"connectorId":"x","connectorId":1,"idTag":"v","meterStart":1,"timestamp":"2026-11-24T10:00:00Z"}]""")]
    [InlineData("""[2,"id","Authorize",{"idTag":"a","id\u0054ag":"b"}]""")]
    [InlineData("""[2,"id","MeterValues",{"connectorId":1,"meterValue":[{"timestamp":"2026-11-24T10:00:10Z","sampledValue":[{"value":"1","value":"2"}]}]}]""")]
    [InlineData("""[3,"id",{"status":"Accepted","status":"Rejected"}]""")]
    [InlineData("""[4,"id","GenericError","",{"a":{},"a":{}}]""")]
    public void A_repeated_key_in_any_object_is_a_FormationViolation(string text)
    {
        var parsed = Parse(text);
        Assert.Null(parsed.Frame);
        Assert.Equal((OcppErrorCode.FormationViolation, "id"), (parsed.Error!.Code, parsed.UniqueId));
    }

    [Fact]
    public void A_payload_with_a_repeated_key_is_a_FormationViolation_even_when_validated_alone()
    {
        Assert.Equal(OcppErrorCode.FormationViolation, Validate("Authorize", """{"idTag":"a","idTag":"a"}""")?.Code);
    }

    [Theory]
    // One name spelled twice: plainly and with an escape.
    [InlineData("""{"idTag":"a","\u0069dTag":"a"}""")]
    // Past the members compared pair by pair: the repetition is still found.
    [InlineData("""{"m1":1,"m2":2,"m3":3,"m4":4,"m5":5,"m6":6,"m7":7,"m8":8,"m9":9,"m10":10,"m11":11,"m12":12,"m13":13,"m14":14,"m15":15,"m16":16,"idTag":"a","m1":1}""")]
    // The repetition is the last member of sixteen.
    [InlineData("""{"m1":1,"m2":2,"m3":3,"m4":4,"m5":5,"m6":6,"m7":7,"m8":8,"m9":9,"m10":10,"m11":11,"m12":12,"m13":13,"m14":14,"idTag":"a","m3":3}""")]
    public void A_key_repeated_however_it_is_spelled_and_wherever_it_stands_is_a_FormationViolation(string payload)
    {
        var error = Validate("Authorize", payload);
        Assert.Equal(OcppErrorCode.FormationViolation, error?.Code);
        Assert.Contains("more than once", error!.Description);
    }

    [Theory]
    // Names that share their start, their length or an escape are not the same name.
    [InlineData("""{"idTag":"a","idTa":"a"}""")]
    [InlineData("""{"idTag":"a","\u0069dTa":"a"}""")]
    public void Keys_that_differ_are_not_taken_for_a_repetition(string payload)
    {
        Assert.DoesNotContain("more than once", Validate("Authorize", payload)?.Description ?? "");
    }

    [Theory]
    [InlineData("StartTransaction", """{"connectorId":99999999999,"idTag":"v","meterStart":1,"timestamp":"2026-11-24T10:00:00Z"}""")]
    [InlineData("StartTransaction", """{"connectorId":1,"idTag":"v","meterStart":2147483648,"timestamp":"2026-11-24T10:00:00Z"}""")]
    [InlineData("StatusNotification", """{"connectorId":-2147483649,"errorCode":"NoError","status":"Available"}""")]
    [InlineData("MeterValues", """{"connectorId":1,"transactionId":4294967296,"meterValue":[]}""")]
    [InlineData("StopTransaction", """{"meterStop":1,"timestamp":"2026-11-24T10:30:00Z","transactionId":1e3}""")]
    public void An_integer_beyond_32_bits_is_a_TypeConstraintViolation(string action, string payload)
    {
        Assert.Equal(OcppErrorCode.TypeConstraintViolation, Validate(action, payload)?.Code);
    }

    [Fact]
    public void The_32_bit_bounds_themselves_are_integers()
    {
        Assert.Null(Validate("StopTransaction", """{"meterStop":2147483647,"timestamp":"2026-11-24T10:30:00Z","transactionId":-2147483648}"""));
    }

    [Theory]
    [InlineData("2026-11-24T10:00:00Z")]
    [InlineData("2026-11-24T10:00:00.5Z")]
    [InlineData("2026-11-24T10:00:00.123456789Z")]
    [InlineData("2026-11-24T10:00:00+01:00")]
    [InlineData("2026-11-24T10:00:00.0000000-05:30")]
    [InlineData("2024-02-29T23:59:59Z")]
    [InlineData("0001-01-01T00:00:00Z")]
    [InlineData("9999-12-31T23:59:58.999999999Z")]
    [InlineData("2026-11-24T10:00:00+14:00")]
    [InlineData("2026-11-24T10:00:00-14:00")]
    [InlineData("0001-01-01T00:00:00-01:00")]
    public void A_date_time_with_a_zone_conforms(string timestamp)
    {
        Assert.Null(Validate("StopTransaction", $$"""{"meterStop":1,"timestamp":"{{timestamp}}","transactionId":5}"""));
    }

    [Theory]
    [InlineData("0:9")]                              // parsed leniently before, as a time of today
    [InlineData("2026-11-24")]
    [InlineData("2026-11-24T10:00:00")]              // no zone: local to whom?
    [InlineData("2026-11-24 10:00:00Z")]
    [InlineData("2026-11-24t10:00:00z")]
    [InlineData("2026-11-24T10:00Z")]
    [InlineData("2026-11-24T10:00:00.Z")]
    [InlineData("2026-11-24T10:00:00.1234567890Z")]
    [InlineData("2026-11-24T10:00:00+0100")]
    [InlineData("2026-11-24T10:00:00+24:00")]
    [InlineData("2026-11-24T10:00:00.123+21:00")]      // a valid RFC 3339 offset that no zone has
    [InlineData("2026-11-24T10:00:00-14:01")]
    [InlineData("0001-01-01T00:00:00+01:00")]          // before year 1 in UTC
    [InlineData("9999-12-31T23:30:00-01:00")]          // after year 9999 in UTC
    [InlineData("9999-12-31T23:59:59.99999999Z")]      // rounds to year 10000
    [InlineData("2026-11-24T10:00:00+01:60")]
    [InlineData("2026-11-24T24:00:00Z")]
    [InlineData("2026-11-24T10:60:00Z")]
    [InlineData("2026-11-24T10:00:60Z")]
    [InlineData("2025-02-29T10:00:00Z")]
    [InlineData("2026-13-01T10:00:00Z")]
    [InlineData("2026-00-01T10:00:00Z")]
    [InlineData("0000-01-01T00:00:00Z")]
    [InlineData("+2026-11-24T10:00:00Z")]
    [InlineData(" 2026-11-24T10:00:00Z")]
    [InlineData("2026-11-24T10:00:00Z ")]
    [InlineData("2026-11-24T10:00:00ZZ")]
    [InlineData("\u0662\u0660\u0662\u0666-11-24T10:00:00Z")] // Arabic-Indic digits
    [InlineData("Tue, 24 Nov 2026 10:00:00 GMT")]
    [InlineData("1795514400")]
    public void Anything_but_a_strict_date_time_with_a_zone_is_a_PropertyConstraintViolation(string timestamp)
    {
        Assert.Equal(OcppErrorCode.PropertyConstraintViolation,
            Validate("StopTransaction", $$"""{"meterStop":1,"timestamp":"{{timestamp}}","transactionId":5}""")?.Code);
    }

    [Fact]
    public void An_unknown_message_type_is_a_ProtocolError()
    {
        Assert.Equal(OcppErrorCode.ProtocolError, Parse("""[7,"id","Heartbeat",{}]""").Error!.Code);
    }

    [Fact]
    public void An_oversized_message_is_refused_before_parsing()
    {
        var big = "[2,\"id\",\"Heartbeat\",{\"x\":\"" + new string('a', OcppFrames.MaxMessageBytes) + "\"}]";
        Assert.Equal(OcppErrorCode.FormationViolation, Parse(big).Error!.Code);
    }

    [Fact]
    public void Call_results_and_errors_are_written_as_OCPP_J_arrays()
    {
        Assert.Equal("""[3,"id",{"status":"Accepted"}]""", OcppFrames.CallResult("id", new { status = "Accepted" }));
        Assert.Equal("""[4,"id","NotImplemented","nope",{}]""", OcppFrames.CallError("id", new OcppError(OcppErrorCode.NotImplemented, "nope")));
    }

    [Theory]
    [InlineData("BootNotification", """{"chargePointVendor":"Energy","chargePointModel":"Wallbox 22"}""")]
    [InlineData("Heartbeat", "{}")]
    [InlineData("StatusNotification", """{"connectorId":1,"errorCode":"NoError","status":"Available","timestamp":"2026-11-24T10:00:00Z"}""")]
    [InlineData("Authorize", """{"idTag":"vehicle-1"}""")]
    [InlineData("StartTransaction", """{"connectorId":1,"idTag":"vehicle-1","meterStart":1000,"timestamp":"2026-11-24T10:00:00Z"}""")]
    [InlineData("MeterValues", """{"connectorId":1,"transactionId":5,"meterValue":[{"timestamp":"2026-11-24T10:00:10Z","sampledValue":[{"value":"1.25","measurand":"Energy.Active.Import.Register","unit":"kWh"}]}]}""")]
    [InlineData("StopTransaction", """{"meterStop":2500,"timestamp":"2026-11-24T10:30:00Z","transactionId":5,"reason":"EVDisconnected"}""")]
    public void Valid_requests_conform(string action, string payload)
    {
        Assert.Null(Validate(action, payload));
    }

    [Theory]
    [InlineData("BootNotification", """{"chargePointVendor":"Energy"}""", OcppErrorCode.OccurenceConstraintViolation)]
    [InlineData("StartTransaction", """{"connectorId":"1","idTag":"v","meterStart":1,"timestamp":"2026-11-24T10:00:00Z"}""", OcppErrorCode.TypeConstraintViolation)]
    [InlineData("StartTransaction", """{"connectorId":1.5,"idTag":"v","meterStart":1,"timestamp":"2026-11-24T10:00:00Z"}""", OcppErrorCode.TypeConstraintViolation)]
    [InlineData("Authorize", """{"idTag":"012345678901234567890"}""", OcppErrorCode.PropertyConstraintViolation)]
    [InlineData("StatusNotification", """{"connectorId":1,"errorCode":"NoError","status":"Sleeping"}""", OcppErrorCode.PropertyConstraintViolation)]
    [InlineData("StopTransaction", """{"meterStop":1,"timestamp":"yesterday","transactionId":5}""", OcppErrorCode.PropertyConstraintViolation)]
    [InlineData("Heartbeat", """{"extra":1}""", OcppErrorCode.FormationViolation)]
    [InlineData("MeterValues", """{"connectorId":1,"meterValue":[{"timestamp":"2026-11-24T10:00:10Z","sampledValue":[{"unit":"kWh"}]}]}""", OcppErrorCode.OccurenceConstraintViolation)]
    [InlineData("MeterValues", """{"connectorId":1,"meterValue":{}}""", OcppErrorCode.TypeConstraintViolation)]
    [InlineData("DataTransfer", """{"vendorId":"x"}""", OcppErrorCode.NotImplemented)]
    public void Invalid_requests_get_the_matching_CALLERROR_code(string action, string payload, string code)
    {
        Assert.Equal(code, Validate(action, payload)?.Code);
    }

    [Theory]
    [InlineData("MeterValues", """{"connectorId":1,"meterValue":[{"timestamp":"2026-11-24T10:00:10Z","sampledValue":[{"value":"1"},{"unit":"kWh"}]}]}""",
        "MeterValues.meterValue[0].sampledValue[1].value is required")]
    [InlineData("MeterValues", """{"connectorId":1,"meterValue":[{"timestamp":"2026-11-24T10:00:10Z","sampledValue":[],"extra":1}]}""",
        "MeterValues.meterValue[0].extra is not a field of this message")]
    [InlineData("MeterValues", """{"connectorId":1,"meterValue":[{"timestamp":"2026-11-24T10:00:10Z","sampledValue":[]},{"timestamp":"now","sampledValue":[]}]}""",
        "MeterValues.meterValue[1].timestamp is not a date-time of the form yyyy-MM-ddTHH:mm:ss[.fraction](Z|+hh:mm|-hh:mm)")]
    [InlineData("StartTransaction", """{"connectorId":1.5,"idTag":"v","meterStart":1,"timestamp":"2026-11-24T10:00:00Z"}""",
        "StartTransaction.connectorId must be an integer of 32 bits")]
    [InlineData("StatusNotification", """{"connectorId":1,"errorCode":"NoError","status":"Sleeping"}""",
        "StatusNotification.status 'Sleeping' is not one of the allowed values")]
    [InlineData("Authorize", """{"idTag":"012345678901234567890"}""", "Authorize.idTag is longer than 20 characters")]
    [InlineData("MeterValues", """{"connectorId":1,"meterValue":[7]}""", "MeterValues.meterValue[0] must be an object")]
    public void A_violation_names_the_path_of_its_field(string action, string payload, string description)
    {
        Assert.Equal(description, Validate(action, payload)?.Description);
    }

    [Theory]
    // Twenty characters, each written as an escape: the limit counts characters, not what spells them.
    [InlineData("Authorize", """{"idTag":"\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041"}""")]
    // Twenty characters of two bytes each in UTF-8.
    [InlineData("Authorize", """{"idTag":"éééééééééééééééééééé"}""")]
    [InlineData("Authorize", """{"id\u0054ag":"v"}""")]
    [InlineData("StatusNotification", """{"connectorId":1,"errorCode":"NoError","status":"Avail\u0061ble"}""")]
    [InlineData("StopTransaction", """{"meterStop":1,"timestamp":"2026-11-24T10:30:00\u005A","transactionId":5}""")]
    public void Escaped_and_multi_byte_text_conforms_as_what_it_spells(string action, string payload)
    {
        Assert.Null(Validate(action, payload));
    }

    [Theory]
    [InlineData("Authorize", """{"idTag":"\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041"}""",
        OcppErrorCode.PropertyConstraintViolation)]
    [InlineData("Authorize", """{"idTag":"ééééééééééééééééééééé"}""", OcppErrorCode.PropertyConstraintViolation)]
    // Ten characters outside the basic plane are twenty UTF-16 units, as a string counts them; eleven are too many.
    [InlineData("Authorize", """{"idTag":"😀😀😀😀😀😀😀😀😀😀😀"}""", OcppErrorCode.PropertyConstraintViolation)]
    [InlineData("Authorize", """{"idTa\u0067s":"v"}""", OcppErrorCode.FormationViolation)]
    [InlineData("StatusNotification", """{"connectorId":1,"errorCode":"NoError","status":"Avail\u0061bl"}""", OcppErrorCode.PropertyConstraintViolation)]
    [InlineData("StopTransaction", """{"meterStop":1,"timestamp":"2026-11-24T10:30:00.1234567890Z","transactionId":5}""", OcppErrorCode.PropertyConstraintViolation)]
    [InlineData("StopTransaction", """{"meterStop":1,"timestamp":"2026-11-24T10:30:00.123456789+01:00 ","transactionId":5}""", OcppErrorCode.PropertyConstraintViolation)]
    public void Escaped_and_multi_byte_text_is_refused_as_what_it_spells(string action, string payload, string code)
    {
        Assert.Equal(code, Validate(action, payload)?.Code);
    }
}
