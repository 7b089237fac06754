use serde_json::Value;

/// The content type of every error answer (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An HTTP answer as a test reads it: its status, its content type and its
/// JSON body (`Null` when the body is not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Value,
}

impl Answer {
    /// Asserts a problem document with status `expect`: the HTTP status,
    /// the content type, the document's own `status`, a
    /// `urn:ledgerline:problem:` type and a title. `context` names the
    /// request in a failure.
    pub fn assert_problem(&self, expect: u16, context: &str) -> &Self {
        let problem = &self.body;
        assert_eq!(self.status, expect, "{context}: {problem}");
        assert_eq!(self.content_type, PROBLEM_JSON, "{context}: {problem}");
        assert_eq!(
            problem["status"].as_u64(),
            Some(u64::from(expect)),
            "{context}: {problem}"
        );
        assert!(
            self.problem_type()
                .is_some_and(|t| t.starts_with("urn:ledgerline:problem:")),
            "{context}: {problem}"
        );
        assert!(
            problem["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{context}: {problem}"
        );
        self
    }

    /// The problem's `type`.
    pub fn problem_type(&self) -> Option<&str> {
        self.body["type"].as_str()
    }

    /// The fields its `errors` name, in order.
    pub fn fields(&self) -> Vec<&str> {
        fields(&self.body)
    }
}

/// The fields a problem document's (or a socket error frame's) `errors`
/// name, in order.
pub fn fields(problem: &Value) -> Vec<&str> {
    problem["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["field"].as_str())
        .collect()
}
