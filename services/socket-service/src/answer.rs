use time::OffsetDateTime;

/// The reply to one client frame, and the socket's new expiry when the
/// frame was a `refresh` that was taken.
#[derive(Debug)]
pub struct Answer {
    pub text: String,
    pub expires_at: Option<OffsetDateTime>,
}

impl Answer {
    pub fn text(text: String) -> Self {
        Self {
            text,
            expires_at: None,
        }
    }
}
