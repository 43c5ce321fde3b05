//! Runbooks: a dialog's `steps:` — programs, yes/no questions and waits run
//! one after another, each maybe only `when:` a condition holds, reading
//! values from its output for later steps — and its `rollback:` steps: the
//! checked types, the conditions (evalexpr) and how outputs are read. The
//! checks are `runbook_checks.rs`.

use evalexpr::{ContextWithMutableVariables, HashMapContext, Node, Value};

use super::*;

/// The variables a step adds, for later steps, conditions and messages:
/// `steps.NAME.output` (its output, trimmed), `steps.NAME.exit_code` and each
/// declared output; conditions may also read `steps.NAME.ran` and
/// `steps.NAME.succeeded`.
pub const STEP_VARS: &[&str] = &["output", "exit_code"];
/// Only conditions read these: whether a step ran, and whether it succeeded.
pub const STEP_FLAGS: &[&str] = &["ran", "succeeded"];
/// Result messages of a runbook may also name the step that failed.
pub const FAILED_STEP_VAR: &str = "failed_step";

/// A dialog's sequence of steps (`steps:`) and what undoes them (`rollback:`).
#[derive(Debug, Clone)]
pub struct Runbook {
    pub steps: Vec<RunbookStep>,
    /// Run in order after a step with `on_failure: rollback` fails (or its
    /// question is answered no), or when the requester aborts.
    pub rollback: Vec<RunbookStep>,
}

#[derive(Debug, Clone)]
pub struct RunbookStep {
    /// An identifier: `check_lag`.
    pub name: String,
    /// What it does, as the plan and the progress message say it.
    pub description: Template,
    pub does: StepKind,
    /// Only run when this holds; skipped otherwise.
    pub when: Option<Condition>,
    pub outputs: Vec<StepOutput>,
    pub on_failure: OnFailure,
    /// A program step run again until it succeeds (`until:`).
    pub until: Option<Until>,
    /// A program step that another member of these groups approves first.
    pub approval: Option<Approval>,
}

#[derive(Debug, Clone)]
pub enum StepKind {
    Program(ProgramAction),
    /// A yes/no question to the requester: yes goes on, no is the step's failure.
    Ask(Template),
    /// A pause before the next step, kept in the store (it survives a
    /// restart; the requester may abort it).
    Wait(Duration),
}

/// `until:`: try again every `every` until the program succeeds, giving up
/// once `within` has passed since the first try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Until {
    pub every: Duration,
    pub within: Duration,
}

/// What a failed step (or a question answered no) leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Nothing more runs.
    Stop,
    /// The next step runs as if it had succeeded.
    Continue,
    /// The `rollback:` steps run, then nothing more.
    Rollback,
}

/// A value read from a step's output.
#[derive(Debug, Clone)]
pub struct StepOutput {
    pub name: String,
    pub from: OutputSource,
}

#[derive(Debug, Clone)]
pub enum OutputSource {
    /// A field of the JSON the program printed: `lag.seconds`, `items.0.id`.
    Json(Vec<String>),
    /// A regex over the output: the capture named like the output, else the
    /// first group, else the whole match.
    Regex(Regex),
}

impl StepOutput {
    /// The value in a program's output, or `None` when it is not there.
    pub fn read(&self, output: &str) -> Option<String> {
        match &self.from {
            OutputSource::Json(path) => {
                // The whole output, or else its first line that is JSON
                // (what the program wrote to stderr comes after).
                let mut value: serde_json::Value =
                    serde_json::from_str(output.trim()).ok().or_else(|| {
                        output
                            .lines()
                            .find_map(|l| serde_json::from_str(l.trim()).ok())
                    })?;
                for field in path {
                    value = match value {
                        serde_json::Value::Object(mut map) => map.remove(field)?,
                        serde_json::Value::Array(mut items) => {
                            let i: usize = field.parse().ok()?;
                            (i < items.len()).then(|| items.swap_remove(i))?
                        }
                        _ => return None,
                    };
                }
                match value {
                    serde_json::Value::Null => None,
                    serde_json::Value::String(s) => Some(s),
                    other => Some(other.to_string()),
                }
            }
            OutputSource::Regex(regex) => {
                let captures = regex.captures(output)?;
                captures
                    .name(&self.name)
                    .or_else(|| captures.get(1))
                    .or_else(|| captures.get(0))
                    .map(|m| m.as_str().to_string())
            }
        }
    }
}

/// A `when:` condition: an expression in evalexpr's language
/// (`steps.check_lag.seconds < 5 && environment == "production"`).
#[derive(Debug, Clone)]
pub struct Condition {
    source: String,
    tree: Node,
}

impl Condition {
    pub fn parse(source: &str) -> Result<Condition, String> {
        let tree = evalexpr::build_operator_tree(source).map_err(|e| e.to_string())?;
        // evalexpr finds an operator missing its operand only when it
        // evaluates: so evaluate once with every variable empty, where only
        // such mistakes (not the values' types) stop it.
        let mut context = HashMapContext::new();
        for name in tree.iter_variable_identifiers() {
            context
                .set_value(name.to_string(), Value::Empty)
                .map_err(|e| e.to_string())?;
        }
        if let Err(
            e @ (evalexpr::EvalexprError::WrongOperatorArgumentAmount { .. }
            | evalexpr::EvalexprError::WrongFunctionArgumentAmount { .. }
            | evalexpr::EvalexprError::FunctionIdentifierNotFound(_)
            | evalexpr::EvalexprError::ContextNotMutable),
        ) = tree.eval_with_context(&context)
        {
            return Err(e.to_string());
        }
        Ok(Condition {
            source: source.trim().to_string(),
            tree,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The variables it reads.
    pub fn variables(&self) -> Vec<String> {
        self.tree
            .iter_variable_identifiers()
            .map(str::to_string)
            .collect()
    }

    /// Whether it holds for these values (a number, `true`/`false` or text
    /// each); an error names what could not be decided and why.
    pub fn holds(&self, values: &BTreeMap<String, String>) -> Result<bool, String> {
        let mut context = HashMapContext::new();
        for name in self.variables() {
            let Some(text) = values.get(&name) else {
                return Err(format!(
                    "`{name}` has no value (its step did not run or gave none)"
                ));
            };
            let value = if let Ok(i) = text.trim().parse::<i64>() {
                Value::Int(i)
            } else if let Ok(f) = text.trim().parse::<f64>() {
                Value::Float(f)
            } else if let Ok(b) = text.trim().parse::<bool>() {
                Value::Boolean(b)
            } else {
                Value::String(text.clone())
            };
            context.set_value(name, value).map_err(|e| e.to_string())?;
        }
        self.tree
            .eval_boolean_with_context(&context)
            .map_err(|e| format!("`{}` could not be decided: {e}", self.source))
    }
}

impl Runbook {
    /// Every step, the rollback's after the runbook's.
    pub fn all_steps(&self) -> impl Iterator<Item = &RunbookStep> {
        self.steps.iter().chain(&self.rollback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(name: &str, from: OutputSource) -> StepOutput {
        StepOutput {
            name: name.into(),
            from,
        }
    }

    #[test]
    fn outputs_are_read_from_json_fields_and_regex_captures() {
        let json = output(
            "seconds",
            OutputSource::Json(vec!["lag".into(), "seconds".into()]),
        );
        assert_eq!(
            json.read(r#"{"lag": {"seconds": 0.4}}"#).as_deref(),
            Some("0.4")
        );
        assert_eq!(json.read(r#"{"lag": {}}"#), None);
        assert_eq!(json.read("not json"), None);
        let item = output("id", OutputSource::Json(vec!["items".into(), "1".into()]));
        assert_eq!(item.read(r#"{"items": ["a", "b"]}"#).as_deref(), Some("b"));
        let named = output(
            "colour",
            OutputSource::Regex(Regex::new(r"idle=(?P<colour>\w+) (\d+)").unwrap()),
        );
        assert_eq!(
            named.read("live=blue idle=green 7").as_deref(),
            Some("green")
        );
        let first = output(
            "n",
            OutputSource::Regex(Regex::new(r"took (\d+)ms").unwrap()),
        );
        assert_eq!(first.read("it took 41ms").as_deref(), Some("41"));
        assert_eq!(first.read("nothing"), None);
    }

    #[test]
    fn conditions_read_numbers_flags_and_text() {
        let values = BTreeMap::from([
            ("steps.check.seconds".to_string(), "0.4".to_string()),
            ("steps.check.ran".to_string(), "true".to_string()),
            ("environment".to_string(), "production".to_string()),
        ]);
        let holds = |source: &str| Condition::parse(source).unwrap().holds(&values);
        assert_eq!(holds("steps.check.seconds < 5"), Ok(true));
        assert_eq!(
            holds("steps.check.ran && environment == \"production\""),
            Ok(true)
        );
        assert_eq!(holds("environment != \"production\""), Ok(false));
        assert!(holds("steps.other.seconds < 5")
            .unwrap_err()
            .contains("no value"));
        assert!(holds("environment < 5").is_err());
        let incomplete = Condition::parse("steps.check.seconds <");
        assert!(incomplete.is_err() || incomplete.unwrap().holds(&values).is_err());
    }
}
