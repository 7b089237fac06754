use ledgerline_domain::UserId;
use ledgerline_runtime::ApiProblem;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    /// May rebuild projections, read the unfiltered event stream and stats.
    Operator,
}

/// Who a request acts for, from a verified bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: UserId,
    pub role: Role,
}

impl Caller {
    pub fn is_operator(&self) -> bool {
        self.role == Role::Operator
    }

    pub fn require_operator(&self) -> Result<(), ApiProblem> {
        if self.is_operator() {
            Ok(())
        } else {
            Err(ApiProblem::forbidden("this route needs the operator role"))
        }
    }
}
