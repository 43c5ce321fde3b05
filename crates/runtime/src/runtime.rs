//! The runtime the binary wires: services with their own fields, built once
//! ([`RuntimeBuilder`]), reached by doors through the [`Ingress`] (messages)
//! and the [`AlertDesk`] (pushed alerts), and by a refresh through the
//! [`Model`].
//!
//! ```text
//!   doors ──push──▶ Ingress ──▶ command ──▶ Conversations ──▶ Actions
//!                      │                         │  └──────▶ Review
//!   webhook ─────────▶ AlertDesk ◀───────────────┘
//!                      └── Floor: Store · Clock · Chat port ──┘
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use opsbot_nlu::Nlu;
use opsbot_spec::Project;

use crate::actions::Actions;
use crate::alert_desk::AlertDesk;
use crate::calendar::Calendar;
use crate::chat::Chat;
use crate::clock::{Clock, SystemClock};
use crate::conversations::Conversations;
use crate::floor::Floor;
use crate::inbox::Inbox;
use crate::ingress::Ingress;
use crate::model::{Model, Reloader};
use crate::reply::Reply;
use crate::review::Review;
use crate::store::{ConversationKey, Store};
use crate::RuntimeError;

/// Whether a user is an admin of the bot (may reload the model, or ask it to
/// leave a room): opsbot.yaml's `admins:` unless the builder was given one.
pub type IsAdmin = dyn Fn(&str) -> bool + Send + Sync;

/// Every service, for the ingress to dispatch to.
pub(crate) struct Services {
    pub floor: Arc<Floor>,
    pub model: Arc<Model>,
    pub conversations: Arc<Conversations>,
    pub alerts: Arc<AlertDesk>,
    pub calendar: Arc<Calendar>,
    pub review: Arc<Review>,
    /// Who is an admin instead of the project's `admins:` (the shell's
    /// operator; a door's deprecated setting).
    pub admins: Option<Arc<IsAdmin>>,
    /// How old a message may be instead of the project's `max_message_age`.
    pub max_message_age: Option<Duration>,
    /// The door's name in metrics ("matrix", "shell").
    pub door: &'static str,
}

pub struct Runtime {
    services: Arc<Services>,
    actions: Arc<Actions>,
    ingress: Ingress,
}

/// How a [`Runtime`] is built: everything but the project, model, store and
/// state folder has a default.
pub struct RuntimeBuilder {
    project: Project,
    nlu: Nlu,
    store: Arc<dyn Store>,
    state_dir: PathBuf,
    clock: Arc<dyn Clock>,
    dry_run: bool,
    action_limit: Option<usize>,
    max_message_age: Option<Duration>,
    door: &'static str,
    reloader: Option<Arc<Reloader>>,
    admins: Option<Arc<IsAdmin>>,
    inbox: Option<Inbox>,
}

impl RuntimeBuilder {
    /// The project the runtime starts with (a door reads its settings).
    pub fn project(&self) -> &Project {
        &self.project
    }

    /// Makes every request a dry run.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Lets at most `limit` actions run at once (others wait their turn),
    /// instead of the project's `max_concurrent_actions`.
    pub fn action_limit(mut self, limit: usize) -> Self {
        self.action_limit = Some(limit);
        self
    }

    /// Does not act on messages older than `age` when they arrive, instead
    /// of the project's `max_message_age`.
    /// The door's name in metrics ("matrix", "shell"; "chat" unless said).
    pub fn door(mut self, name: &'static str) -> Self {
        self.door = name;
        self
    }

    pub fn max_message_age(mut self, age: Duration) -> Self {
        self.max_message_age = Some(age);
        self
    }

    /// How to load the newest model when an admin says "reload the model".
    pub fn reloader(mut self, reloader: Arc<Reloader>) -> Self {
        self.reloader = Some(reloader);
        self
    }

    /// Who is an admin, instead of the project's `admins:` (the shell: the
    /// person at the terminal runs the bot).
    pub fn admins(mut self, is_admin: Arc<IsAdmin>) -> Self {
        self.admins = Some(is_admin);
        self
    }

    /// Records misread messages in `inbox` for review (see [`crate::inbox`]).
    pub fn inbox(mut self, inbox: Inbox) -> Self {
        self.inbox = Some(inbox);
        self
    }

    /// The clock (the system's by default; a [`crate::ManualClock`] in
    /// conversation tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn build(self) -> Runtime {
        // Fixed for the life of the runtime: a reloaded project does not
        // resize the running actions' limit.
        let action_limit = self
            .action_limit
            .unwrap_or_else(|| self.project.settings.action_limit());
        let floor = Arc::new(Floor::new(self.store, self.clock));
        let model = Arc::new(Model::new(
            self.project,
            self.nlu,
            self.reloader,
            floor.metrics.model_stale.clone(),
        ));
        let actions = Arc::new(Actions::new(floor.clone(), self.state_dir, action_limit));
        let alerts = Arc::new(AlertDesk::new(floor.clone(), model.clone()));
        let review = Arc::new(Review::new(floor.clone(), self.inbox));
        let conversations = Arc::new(Conversations::new(
            floor.clone(),
            actions.clone(),
            alerts.clone(),
            review.clone(),
            self.dry_run,
        ));
        let calendar = Arc::new(Calendar::new(floor.clone(), actions.clone()));
        let services = Arc::new(Services {
            floor,
            model,
            conversations,
            alerts,
            calendar,
            review,
            admins: self.admins,
            max_message_age: self.max_message_age,
            door: self.door,
        });
        Runtime {
            ingress: Ingress::new(&services),
            services,
            actions,
        }
    }
}

impl Runtime {
    pub fn builder(
        project: Project,
        nlu: Nlu,
        store: impl Store + 'static,
        state_dir: PathBuf,
    ) -> RuntimeBuilder {
        RuntimeBuilder {
            project,
            nlu,
            store: Arc::new(store),
            state_dir,
            clock: Arc::new(SystemClock),
            dry_run: false,
            action_limit: None,
            max_message_age: None,
            door: "chat",
            reloader: None,
            admins: None,
            inbox: None,
        }
    }

    /// A runtime with every default.
    pub fn new(
        project: Project,
        nlu: Nlu,
        store: impl Store + 'static,
        state_dir: PathBuf,
    ) -> Runtime {
        Runtime::builder(project, nlu, store, state_dir).build()
    }

    /// The one way in for messages from every door.
    pub fn ingress(&self) -> &Ingress {
        &self.ingress
    }

    /// The chat port attached by the door, if any.
    pub(crate) fn chat(&self) -> Option<std::sync::Arc<dyn crate::chat::Chat>> {
        self.services.floor.chat()
    }

    /// The floor the services share (the scheduler keeps there what it
    /// could not say).
    pub(crate) fn floor(&self) -> &crate::floor::Floor {
        &self.services.floor
    }

    /// Resolves when a request is scheduled (the scheduler looks again).
    pub(crate) async fn jobs_changed(&self) {
        self.services.floor.jobs_changed.notified().await
    }

    /// Runs the scheduled requests that are due and returns what they said
    /// (see [`Ingress::fire_due`]): for doors without a chat port (the shell)
    /// and conversation tests, which move their own clock.
    pub async fn fire_due(&self) -> Result<Vec<crate::chat::Outbound>, RuntimeError> {
        self.ingress.fire_due().await
    }

    /// Cancels the scheduled request `id` for an operator at the machine
    /// (`by`, "cli:alice", is named in the audit record); `None` when no
    /// request has that id. See [`Ingress::cancel_scheduled`].
    pub async fn cancel_scheduled(
        &self,
        id: &str,
        by: &str,
    ) -> Result<Option<crate::store::Job>, RuntimeError> {
        self.ingress.cancel_scheduled(id, by).await
    }

    /// Accepts pushed alerts and delivers them to rooms.
    pub fn alerts(&self) -> &AlertDesk {
        &self.services.alerts
    }

    /// The project and model in use, swapped on a refresh.
    pub fn model(&self) -> &Model {
        &self.services.model
    }

    /// Lets the bot speak first through a door's port (see [`Chat`]).
    pub fn attach_chat(&self, chat: Arc<dyn Chat>) {
        self.services.floor.attach_chat(chat);
        // Alert groups waiting for a port can be delivered now.
        self.services.alerts.wake();
    }

    /// Says `text` as `key` and passes the replies to `reply` (see
    /// [`Ingress::handle`]).
    pub async fn handle(
        &self,
        key: &ConversationKey,
        text: &str,
        reply: &mut Reply<'_>,
    ) -> Result<(), RuntimeError> {
        self.ingress.handle(key, text, reply).await
    }

    /// Puts every user in `zone` (conversation tests that pin a time zone).
    pub fn set_time_zone(&self, zone: chrono_tz::Tz) {
        self.services.conversations.set_time_zone(zone);
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.services.floor.now()
    }

    /// What a door says of its connection: `Ok` once it reaches its chat
    /// server, `Err(why)` while it does not. For `/readyz`.
    pub fn set_door_ready(&self, ready: Result<(), String>) {
        *self
            .services
            .floor
            .door_ready
            .write()
            .expect("readiness lock") = Some(ready);
    }

    /// Whether the bot can serve, part by part: the store answers a read,
    /// a model is loaded, and the door (when it reports) reaches its
    /// server. For `/readyz`.
    pub fn readiness(&self) -> Vec<(&'static str, Result<(), String>)> {
        let store = self.store().jobs().map(|_| ()).map_err(|e| e.to_string());
        let model = Ok(());
        let mut parts = vec![("store", store), ("model", model)];
        if let Some(door) = self
            .services
            .floor
            .door_ready
            .read()
            .expect("readiness lock")
            .clone()
        {
            parts.push(("door", door));
        }
        parts
    }

    /// What works but needs attention, one line each (the model is served
    /// stale). For `/readyz`, which still answers ready.
    pub fn warnings(&self) -> Vec<String> {
        self.services
            .model
            .warning()
            .map(|w| format!("model: {w}"))
            .into_iter()
            .collect()
    }

    /// What the bot counts, for `/metrics`.
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.services.floor.metrics
    }

    /// The store, for the CLI's reads and for tests.
    pub fn store(&self) -> &dyn Store {
        self.services.floor.store.as_ref()
    }

    /// The review inbox, when misread messages are recorded.
    pub fn inbox(&self) -> Option<&Inbox> {
        self.services.review.inbox()
    }

    #[cfg(test)]
    pub(crate) fn conversations(&self) -> &Conversations {
        &self.services.conversations
    }

    /// The folder actions get as `OPSBOT_STATE_DIR`.
    pub fn state_dir(&self) -> &Path {
        self.actions.state_dir()
    }
}
