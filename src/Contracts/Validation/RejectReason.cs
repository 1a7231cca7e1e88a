namespace Siyu.Contracts.Validation;

/// <summary>
/// Stable reason codes for the dead-letter topic. Operators alert and chart on these,
/// so a code is never renamed or reused; new cases get new codes.
/// </summary>
public static class RejectReason
{
    public const string EmptyPayload = "empty_payload";
    public const string PayloadTooLarge = "payload_too_large";
    public const string InvalidUtf8 = "invalid_utf8";
    public const string MalformedJson = "malformed_json";
    public const string NotAnObject = "not_an_object";
    /// <summary>A key given twice in one object, anywhere in the event (readers would disagree on its value).</summary>
    public const string DuplicateKey = "duplicate_key";
    public const string WrongFieldType = "wrong_field_type";
    public const string MissingEventId = "missing_event_id";
    public const string InvalidEventId = "invalid_event_id";
    public const string MissingType = "missing_type";
    public const string UnknownType = "unknown_type";
    public const string MissingOccurredAt = "missing_occurred_at";
    public const string InvalidOccurredAt = "invalid_occurred_at";
    public const string OccurredAtOutOfRange = "occurred_at_out_of_range";
    public const string MissingIds = "missing_ids";
    public const string InvalidId = "invalid_id";
    public const string MissingField = "missing_field";
    public const string InvalidField = "invalid_field";
    public const string NegativeAmount = "negative_amount";
    public const string InvalidAmount = "invalid_amount";
    public const string InvalidItems = "invalid_items";
    public const string InvalidPayment = "invalid_payment";
    public const string UnknownTopic = "unknown_topic";

    /// <summary>Every id given is refused (placeholders such as "N/A" or "0", phones that are not possible numbers).</summary>
    public const string NoUsableIds = "no_usable_ids";

    // Rejected by the customer entity (valid JSON, but the business rules cannot take it).
    public const string RefundUnmatched = "refund_unmatched";
    public const string OrderRejected = "order_rejected";
}
