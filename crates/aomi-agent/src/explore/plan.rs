//! The explore app's two typed subroutine answers: the branches to try ([`ExplorePlan`]) and the
//! judge's verdict on the branches that ran ([`Judgement`]), each with the checks a schema cannot
//! say.

use aomi_llm::schemars::JsonSchema;
use aomi_tools::ToolRegistry;
use serde::Deserialize;

use crate::batch_app::PlannedCall;

/// The highest score the judge may give.
pub const MAX_SCORE: u8 = 10;

/// The candidate branches the model proposes before anything runs.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(crate = "aomi_llm::schemars")]
#[serde(deny_unknown_fields)]
pub struct ExplorePlan {
    /// Candidate ways to answer, each tried on its own; they run at the same time. May be empty
    /// when the answer needs no tool.
    pub branches: Vec<PlannedBranch>,
}

/// One candidate branch: a short sequence of read-only calls.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(crate = "aomi_llm::schemars")]
#[serde(deny_unknown_fields)]
pub struct PlannedBranch {
    /// What the branch tries, in a few words ("the 0.05% USDC/WETH pool").
    pub label: String,
    /// Its calls, run in this order (none may need another's result).
    pub calls: Vec<PlannedCall>,
}

impl ExplorePlan {
    /// Checks what the schema cannot: every branch has a call, every call names one of `tools` (the
    /// explore app's read-only set, so a wallet tool is not one) with an object of arguments.
    /// Budgets are not checked here: a branch over them is pruned, not refused.
    pub fn check(&self, tools: &ToolRegistry) -> Result<(), String> {
        for (index, branch) in self.branches.iter().enumerate() {
            if branch.calls.is_empty() {
                return Err(format!("branch {index} has no calls"));
            }
            for call in &branch.calls {
                if tools.get(&call.tool).is_none() {
                    return Err(format!("\"{}\" is not one of the listed tools", call.tool));
                }
                if !call.arguments.is_object() && !call.arguments.is_null() {
                    return Err(format!("the arguments of \"{}\" must be a JSON object", call.tool));
                }
            }
        }
        Ok(())
    }
}

/// The judge's verdict on the branches that reached a result.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(crate = "aomi_llm::schemars")]
#[serde(deny_unknown_fields)]
pub struct Judgement {
    /// The number of the branch whose results best answer the question.
    pub best: usize,
    /// One score per candidate branch, each listed once.
    pub scores: Vec<BranchScore>,
    /// Why the best one is best, in a sentence.
    pub reason: String,
}

/// The judge's score of one branch.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[schemars(crate = "aomi_llm::schemars")]
#[serde(deny_unknown_fields)]
pub struct BranchScore {
    /// The branch's number.
    pub branch: usize,
    /// 0 (useless) to 10 (answers the question fully).
    pub score: u8,
}

impl Judgement {
    /// Checks the verdict against the `candidates` (the numbers of the branches judged): the best
    /// is one of them, each is scored exactly once and no other, every score is at most
    /// [`MAX_SCORE`], and no branch scores above the best.
    pub fn check(&self, candidates: &[usize]) -> Result<(), String> {
        if !candidates.contains(&self.best) {
            return Err(format!("best is {}, which is not one of the candidate branches {candidates:?}", self.best));
        }
        for score in &self.scores {
            if !candidates.contains(&score.branch) {
                return Err(format!("branch {} is scored but is not a candidate", score.branch));
            }
            if score.score > MAX_SCORE {
                return Err(format!("branch {} scores {}; scores go from 0 to {MAX_SCORE}", score.branch, score.score));
            }
        }
        for candidate in candidates {
            let count = self.scores.iter().filter(|score| score.branch == *candidate).count();
            if count != 1 {
                return Err(format!("branch {candidate} must be scored exactly once (it is scored {count} times)"));
            }
        }
        let best = self.score_of(self.best).unwrap_or_default();
        if let Some(higher) = self.scores.iter().find(|score| score.score > best) {
            return Err(format!(
                "best is branch {} (score {best}) but branch {} scores higher ({})",
                self.best, higher.branch, higher.score
            ));
        }
        Ok(())
    }

    /// The score of branch `branch`, if it was scored.
    pub fn score_of(&self, branch: usize) -> Option<u8> {
        self.scores.iter().find(|score| score.branch == branch).map(|score| score.score)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judgement(best: usize, scores: &[(usize, u8)]) -> Judgement {
        Judgement {
            best,
            scores: scores.iter().map(|&(branch, score)| BranchScore { branch, score }).collect(),
            reason: "r".into(),
        }
    }

    #[test]
    fn a_judgement_must_pick_and_score_the_candidates_only() {
        assert_eq!(judgement(2, &[(0, 3), (2, 9)]).check(&[0, 2]), Ok(()));
        let errors = [
            judgement(1, &[(0, 3), (2, 9)]).check(&[0, 2]),
            judgement(2, &[(2, 9)]).check(&[0, 2]),
            judgement(2, &[(0, 3), (2, 9), (2, 8)]).check(&[0, 2]),
            judgement(2, &[(0, 3), (1, 2), (2, 9)]).check(&[0, 2]),
            judgement(2, &[(0, 3), (2, 11)]).check(&[0, 2]),
            judgement(0, &[(0, 3), (2, 9)]).check(&[0, 2]),
        ];
        for error in errors {
            assert!(error.is_err(), "{error:?}");
        }
    }

    #[test]
    fn a_plan_names_only_listed_tools_and_no_branch_is_empty() {
        let tools = ToolRegistry::new();
        let plan: ExplorePlan = serde_json::from_value(serde_json::json!({ "branches": [] })).unwrap();
        assert_eq!(plan.check(&tools), Ok(()));
        let plan: ExplorePlan = serde_json::from_value(serde_json::json!({
            "branches": [{ "label": "a", "calls": [{ "tool": "send_transaction_to_wallet", "arguments": {} }] }]
        }))
        .unwrap();
        assert!(plan.check(&tools).unwrap_err().contains("not one of the listed tools"));
        let plan: ExplorePlan =
            serde_json::from_value(serde_json::json!({ "branches": [{ "label": "a", "calls": [] }] })).unwrap();
        assert!(plan.check(&tools).unwrap_err().contains("no calls"));
    }
}
