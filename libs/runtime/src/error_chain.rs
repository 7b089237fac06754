use std::error::Error;

/// Whether `error`, or an error it wraps, is a `T`: body errors arrive
/// wrapped by each layer they passed (the length limit, axum's body).
pub(crate) fn caused_by<'e, T: Error + 'static>(error: &'e (dyn Error + 'static)) -> Option<&'e T> {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if let Some(found) = error.downcast_ref::<T>() {
            return Some(found);
        }
        cause = error.source();
    }
    None
}
