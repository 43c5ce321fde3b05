//! Entity extraction: every entity of the project looked up in one message, with
//! overlaps between entities resolved (longest span wins).

use opsbot_spec::entity::remove_overlaps;
use opsbot_spec::{EntityMatch, Project};

/// Finds the values of all entities in a message.
#[derive(Debug, Clone, Default)]
pub struct EntityExtractor {
    entities: Vec<opsbot_spec::Entity>,
}

impl EntityExtractor {
    pub fn new(project: &Project) -> EntityExtractor {
        EntityExtractor {
            entities: project.entities.values().cloned().collect(),
        }
    }

    /// An extractor that finds nothing, for data sets without entities.
    pub fn empty() -> EntityExtractor {
        EntityExtractor::default()
    }

    pub fn extract(&self, text: &str) -> Vec<EntityMatch> {
        let all = self
            .entities
            .iter()
            .flat_map(|e| e.find_all(text))
            .collect();
        remove_overlaps(all)
    }
}
