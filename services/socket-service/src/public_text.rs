//! What an `error` frame may say. serde's messages are useful field
//! validation ("unknown field `x`, expected one of …", "missing field
//! `type`"), but some name the Rust type a value was meant for
//! ("expected struct ClientFrame") — internals a client cannot act on and
//! an attacker may map. Those are put in JSON terms here; everything else
//! in an error frame is written by us, never a library error's text.

/// `message` with Rust type names replaced by the JSON they stand for.
pub fn for_client(message: &str) -> String {
    let words: Vec<&str> = message.split(' ').collect();
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        // `struct Foo`, `tuple struct Foo`, `unit struct Foo`, `enum Foo`
        let (kind, name_at) = match (words[i], words.get(i + 1).copied()) {
            ("tuple" | "unit", Some("struct")) => ("struct", i + 2),
            ("struct", _) => ("struct", i + 1),
            ("enum", _) => ("enum", i + 1),
            _ => ("", i),
        };
        if !kind.is_empty()
            && let Some(name) = words.get(name_at)
            && is_type_name(name)
        {
            let trail = &name[name.trim_end_matches([',', '.', ';', ':']).len()..];
            let json = if kind == "struct" {
                "a JSON object"
            } else {
                "one of the allowed values"
            };
            i = name_at + 1;
            // serde also says "struct Foo with 5 elements" (a struct may
            // come as an array): the count is of Rust fields, not JSON.
            let mut trail = trail.to_owned();
            if trail.is_empty()
                && words.get(i) == Some(&"with")
                && words.get(i + 1).is_some_and(|n| n.parse::<usize>().is_ok())
                && let Some(unit) = words.get(i + 2)
                && unit.starts_with("element")
            {
                trail = unit[unit.trim_end_matches([',', '.', ';', ':']).len()..].to_owned();
                i += 3;
            }
            out.push(format!("{json}{trail}"));
            continue;
        }
        out.push(if words[i].contains("::") {
            "a value".to_owned()
        } else {
            words[i].to_owned()
        });
        i += 1;
    }
    out.join(" ")
}

/// `DepositRequest`, `ClientFrame,` — a capitalised Rust identifier.
fn is_type_name(word: &str) -> bool {
    let word = word.trim_end_matches([',', '.', ';', ':']);
    word.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::for_client;

    #[test]
    fn rust_type_names_become_json_words() {
        assert_eq!(
            for_client("invalid type: sequence, expected struct ClientFrame at line 1 column 1"),
            "invalid type: sequence, expected a JSON object at line 1 column 1"
        );
        assert_eq!(
            for_client("invalid type: string \"x\", expected struct DepositRequest"),
            "invalid type: string \"x\", expected a JSON object"
        );
        assert_eq!(
            for_client("invalid type: integer `1`, expected enum Currency, at"),
            "invalid type: integer `1`, expected one of the allowed values, at"
        );
        assert_eq!(
            for_client("invalid length 0, expected struct ClientFrame with 5 elements at line 1"),
            "invalid length 0, expected a JSON object at line 1"
        );
        assert_eq!(
            for_client("expected tuple struct Amount"),
            "expected a JSON object"
        );
        assert_eq!(
            for_client("bad ledgerline_contracts::frames::ClientFrame here"),
            "bad a value here"
        );
    }

    #[test]
    fn field_validation_messages_are_kept() {
        for message in [
            "unknown field `extra`, expected one of `type`, `requestId`, `command`, `body`, `token` at line 1 column 22",
            "unknown variant `foo`, expected one of `a`, `b`",
            "missing field `type` at line 1 column 21",
            "the struct of a deposit is documented", // lower-case: not a type name
            "expected value at line 1 column 1",
        ] {
            assert_eq!(for_client(message), message);
        }
    }
}
