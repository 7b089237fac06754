/// What a `ledgerline` process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// Every service, in one process.
    All,
    CommandApi,
    CommandProcessor,
    /// The event store's reads: account, event and stats routes, and the
    /// reads other components make of the store.
    EventStore,
    BalanceService,
    HistoryService,
    AuditService,
    SocketService,
    /// Delete this NATS_PREFIX's streams and exit (for test clean-up).
    CleanupStreams,
}

impl Target {
    pub const SERVICES: [Target; 7] = [
        Target::EventStore,
        Target::CommandApi,
        Target::CommandProcessor,
        Target::BalanceService,
        Target::HistoryService,
        Target::AuditService,
        Target::SocketService,
    ];

    /// The services a list of targets names, `all` expanded, each once.
    pub fn services(targets: &[Target]) -> Vec<Target> {
        let all = targets.is_empty() || targets.contains(&Target::All);
        Self::SERVICES
            .into_iter()
            .filter(|s| all || targets.contains(s))
            .collect()
    }

    /// Whether this service runs a read model (they share the process's
    /// event feed).
    pub fn is_read_model(self) -> bool {
        matches!(
            self,
            Target::BalanceService | Target::HistoryService | Target::AuditService
        )
    }
}
