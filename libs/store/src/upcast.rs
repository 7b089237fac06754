//! Upcasters: stored events keep the shape they were written in; reading
//! brings them to the current shape, one version step at a time, so the
//! domain only ever knows the newest.

use serde_json::Value;

/// `data` of a stored event brought to the current schema version.
pub fn upcast(event_type: &str, mut schema_version: u32, mut data: Value) -> (Value, u32) {
    loop {
        match (event_type, schema_version) {
            // v2 added a payer's `reference`; v1 deposits had none.
            ("MoneyDeposited", 1) => {
                if let Value::Object(fields) = &mut data {
                    fields.entry("reference").or_insert(Value::Null);
                }
                schema_version = 2;
            }
            _ => return (data, schema_version),
        }
    }
}

#[cfg(test)]
mod tests {
    use ledgerline_domain::AccountEvent;
    use serde_json::json;

    use super::*;

    #[test]
    fn a_v1_deposit_needs_its_upcaster_and_reads_as_v2() {
        let v1 = json!({"amount": 500, "balanceAfter": 1300});
        let raw = json!({"eventType": "MoneyDeposited", "data": v1});
        assert!(
            serde_json::from_value::<AccountEvent>(raw).is_err(),
            "v1 alone does not decode"
        );
        let (data, version) = upcast("MoneyDeposited", 1, v1);
        assert_eq!(version, 2);
        let event: AccountEvent =
            serde_json::from_value(json!({"eventType": "MoneyDeposited", "data": data})).unwrap();
        assert!(matches!(
            event,
            AccountEvent::MoneyDeposited {
                reference: None,
                ..
            }
        ));
    }

    #[test]
    fn current_shapes_pass_through() {
        let data = json!({"amount": 5, "balanceAfter": 5, "reference": "x"});
        assert_eq!(upcast("MoneyDeposited", 2, data.clone()), (data.clone(), 2));
        assert_eq!(upcast("MoneyWithdrawn", 1, data.clone()), (data, 1));
    }
}
