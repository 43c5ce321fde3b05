//! What the scheduler keeps until it is due: a request confirmed for later,
//! a reminder, or the next post of a recurring schedule from the YAML. One
//! shape for the store (one tree, one transaction with the step that makes
//! or drops it), told apart by [`Work`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ConversationKey;

/// A piece of work kept until it is due.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// The conversation it belongs to: a request runs there, as its
    /// requester; a reminder is said in its room. A post's key names its
    /// schedule (its rooms come from the YAML).
    pub key: ConversationKey,
    /// Flattened, so a job kept as `{key, request}` before reminders existed
    /// still reads as a request.
    #[serde(flatten)]
    pub work: Work,
}

/// What a job does when it is due.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Work {
    /// A change confirmed now to run later ("deploy … at 21:00"); its `at`
    /// says when.
    Request(Box<opsbot_dialog::Request>),
    /// "remind me to check the backups in 2 hours".
    Reminder(Reminder),
    /// The next run of a recurring `schedules:` entry.
    Post(Post),
}

/// A reminder someone asked for; no action runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reminder {
    pub id: String,
    pub at: DateTime<Utc>,
    /// What to be reminded of, as said ("check the backups").
    pub text: String,
    /// Who is reminded.
    pub to: Audience,
    /// How the time was said ("in 2 hours", "every weekday at 9").
    pub said: String,
    /// For a recurring reminder: when the next one falls.
    pub every: Option<Recurrence>,
}

/// Who a reminder is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// The person who asked ("remind me").
    Requester,
    /// Everyone in the room ("remind us", "remind the room").
    Room,
    /// Named people ("remind bob").
    People(Vec<String>),
}

/// A cron expression read in a time zone (DST-correct: "09:00 Europe/Berlin"
/// stays 09:00 local across the change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recurrence {
    pub cron: String,
    pub zone: String,
}

/// The next post of a recurring schedule declared in the YAML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Post {
    /// [`Job::post_id`] of the schedule.
    pub id: String,
    /// The schedule's name under `schedules:`.
    pub schedule: String,
    pub at: DateTime<Utc>,
    /// The expression this was armed from: a changed one re-arms it.
    pub every: Recurrence,
}

impl Job {
    /// The id the store keeps it under and people cancel it by.
    pub fn id(&self) -> &str {
        match &self.work {
            Work::Request(request) => &request.id,
            Work::Reminder(reminder) => &reminder.id,
            Work::Post(post) => &post.id,
        }
    }

    /// The first four characters of the id, as shown in chat.
    /// (a post is named by its schedule).
    pub fn short_id(&self) -> &str {
        if let Work::Post(post) = &self.work {
            return &post.schedule;
        }
        let id = self.id();
        id.get(..4).unwrap_or(id)
    }

    /// When it is due; a request without a time is due at once.
    pub fn due_at(&self) -> DateTime<Utc> {
        match &self.work {
            Work::Request(request) => request.at.unwrap_or(DateTime::<Utc>::MIN_UTC),
            Work::Reminder(reminder) => reminder.at,
            Work::Post(post) => post.at,
        }
    }

    /// The request it runs, if it is one.
    pub fn request(&self) -> Option<&opsbot_dialog::Request> {
        match &self.work {
            Work::Request(request) => Some(request),
            _ => None,
        }
    }

    /// A request confirmed for later, kept in its requester's conversation.
    pub fn of_request(key: ConversationKey, request: opsbot_dialog::Request) -> Job {
        Job {
            key,
            work: Work::Request(Box::new(request)),
        }
    }

    /// The store key of a schedule's post job: a schedule has one next post,
    /// kept apart from request and reminder ids (which are hex).
    pub fn post_id(schedule: &str) -> String {
        format!("schedule:{schedule}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_kept_before_reminders_existed_still_reads_as_a_request() {
        let request = serde_json::json!({
            "id": "7f3a0000", "dialog": "deploy_app", "intent": "deploy_app",
            "confidence": 0.9, "slots": {}, "messages": ["deploy shop at 21:00"],
            "started_at": "2026-03-02T18:00:00Z", "touched_at": "2026-03-02T18:00:00Z",
            "at": "2026-03-02T21:00:00Z"
        });
        let old = serde_json::json!({"key": {"room": "!r", "user": "alice"}, "request": request});
        let job = serde_json::from_value::<Job>(old).expect("the old shape reads");
        assert_eq!(job.id(), "7f3a0000");
        assert_eq!(job.request().map(|r| r.dialog.as_str()), Some("deploy_app"));
        assert_eq!(
            job.due_at(),
            "2026-03-02T21:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        let reminder = Job {
            key: ConversationKey::new("!r", "alice"),
            work: Work::Reminder(Reminder {
                id: "ab12cd34".into(),
                at: "2026-03-02T21:00:00Z".parse().unwrap(),
                text: "check the backups".into(),
                to: Audience::Requester,
                said: "in 2 hours".into(),
                every: None,
            }),
        };
        let text = serde_json::to_string(&reminder).unwrap();
        assert!(text.contains("\"reminder\":"), "{text}");
        assert_eq!(serde_json::from_str::<Job>(&text).unwrap(), reminder);
    }
}
