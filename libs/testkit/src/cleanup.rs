use std::future::Future;

/// Runs `cleanup` to its end on a runtime of its own and waits for it:
/// `Drop` cannot await, and the test's runtime may be a single thread that
/// is busy dropping the fixture.
pub(crate) fn run_to_end(cleanup: impl Future<Output = ()> + Send + 'static) {
    let worker = std::thread::spawn(move || {
        if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            runtime.block_on(cleanup);
        }
    });
    let _ = worker.join();
}
