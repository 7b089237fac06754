use axum::Router;
use tokio::task::JoinHandle;

use crate::Readiness;

/// A started service: its HTTP routes, what it needs to be ready, and its
/// background tasks (consumers), which end after shutdown is signalled.
pub struct ServiceHandle {
    pub name: &'static str,
    pub router: Router,
    pub readiness: Readiness,
    pub tasks: Vec<JoinHandle<()>>,
}

impl ServiceHandle {
    pub fn new(name: &'static str, router: Router, readiness: Readiness) -> Self {
        Self {
            name,
            router,
            readiness,
            tasks: Vec::new(),
        }
    }

    pub fn task(mut self, task: JoinHandle<()>) -> Self {
        self.tasks.push(task);
        self
    }
}
