//! Diagnostics that point into the author's YAML: `file:line:column: message`.
//!
//! serde reports type errors with a position, but semantic mistakes (an unknown
//! entity inside an example, a template naming a missing slot) are found after
//! deserialisation. [`PositionIndex`] maps a value's path in the document to where
//! it starts, so those mistakes can be reported just as precisely.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A place in a source file; line and column count from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl Location {
    pub fn new(file: impl Into<PathBuf>, line: usize, column: usize) -> Self {
        Location {
            file: file.into(),
            line,
            column,
        }
    }

    /// The same place moved right by `columns` characters on the same line.
    pub fn shifted(&self, columns: usize) -> Location {
        Location {
            column: self.column + columns,
            ..self.clone()
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// One mistake in the author's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub location: Location,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// Every mistake found, in file order, so authors can fix them all in one pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, location: Location, message: impl Into<String>) {
        self.0.push(Diagnostic {
            location,
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn sort(&mut self) {
        self.0.sort_by(|a, b| {
            (&a.location.file, a.location.line, a.location.column).cmp(&(
                &b.location.file,
                b.location.line,
                b.location.column,
            ))
        });
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// Where a node starts, and whether its text is offset by an opening quote.
#[derive(Debug, Clone, Copy)]
struct NodeStart {
    line: usize,
    column: usize,
    quoted: bool,
}

/// Positions of every node in one YAML file, keyed by a dotted path such as
/// `intents.restart.examples.3` (mapping keys by name, sequence items by index).
#[derive(Debug, Clone)]
pub struct PositionIndex {
    file: PathBuf,
    nodes: HashMap<String, NodeStart>,
}

impl PositionIndex {
    /// Builds the index; a file the parser rejects yields an empty index, whose
    /// lookups fall back to the start of the file.
    pub fn build(file: &Path, source: &str) -> PositionIndex {
        let mut recorder = Recorder::default();
        let mut parser = Parser::new_from_str(source);
        if parser.load(&mut recorder, false).is_err() {
            recorder.nodes.clear();
        }
        PositionIndex {
            file: file.to_path_buf(),
            nodes: recorder.nodes,
        }
    }

    /// Location of the node at `path`, or of its nearest recorded ancestor.
    pub fn locate(&self, path: &str) -> Location {
        let mut probe = path;
        loop {
            if let Some(start) = self.nodes.get(probe) {
                return Location::new(&self.file, start.line, start.column);
            }
            match probe.rfind('.') {
                Some(dot) => probe = &probe[..dot],
                None => break,
            }
        }
        match self.nodes.get("") {
            Some(start) => Location::new(&self.file, start.line, start.column),
            None => Location::new(&self.file, 1, 1),
        }
    }

    /// Location of the character `offset` characters into the scalar at `path`
    /// (exact for single-line scalars, which is what examples and templates are).
    pub fn locate_in_scalar(&self, path: &str, offset: usize) -> Location {
        match self.nodes.get(path) {
            Some(start) => Location::new(
                &self.file,
                start.line,
                start.column + offset + usize::from(start.quoted),
            ),
            None => self.locate(path),
        }
    }

    pub fn file(&self) -> &Path {
        &self.file
    }
}

enum Frame {
    /// `key` is the pending key and where it was written; `first_key` is set
    /// until the mapping's first key arrives (its position is the mapping's).
    Mapping {
        key: Option<(String, Marker)>,
        unplaced: bool,
    },
    Sequence {
        next: usize,
    },
}

#[derive(Default)]
struct Recorder {
    stack: Vec<(String, Frame)>,
    nodes: HashMap<String, NodeStart>,
}

impl Recorder {
    /// The path of the node that starts now and, for a mapping value, where its
    /// key was written; advances the parent's cursor. `None` when the node is a
    /// mapping key.
    fn next_child_path(&mut self) -> Option<(String, Option<Marker>)> {
        let Some((parent_path, frame)) = self.stack.last_mut() else {
            return Some((String::new(), None));
        };
        let (segment, key_mark) = match frame {
            Frame::Mapping { key, .. } => {
                let (name, mark) = key.take()?;
                (name, Some(mark))
            }
            Frame::Sequence { next } => {
                *next += 1;
                ((*next - 1).to_string(), None)
            }
        };
        let path = if parent_path.is_empty() {
            segment
        } else {
            format!("{parent_path}.{segment}")
        };
        Some((path, key_mark))
    }

    fn record(&mut self, path: String, mark: Marker, quoted: bool) {
        self.nodes.entry(path).or_insert(NodeStart {
            line: mark.line(),
            column: mark.col() + 1,
            quoted,
        });
    }
}

impl MarkedEventReceiver for Recorder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        match event {
            Event::Scalar(value, style, ..) => match self.next_child_path() {
                Some((path, _)) => {
                    let quoted = matches!(
                        style,
                        TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted
                    );
                    self.record(path, mark, quoted);
                }
                None => {
                    if let Some((path, Frame::Mapping { key, unplaced })) = self.stack.last_mut() {
                        *key = Some((value, mark));
                        if std::mem::take(unplaced) {
                            // The parser marks a block mapping after its first
                            // key; the key itself is where the mapping starts.
                            let path = path.clone();
                            self.nodes.remove(&path);
                            self.record(path, mark, false);
                        }
                    }
                }
            },
            Event::Alias(_) => {
                if let Some((path, _)) = self.next_child_path() {
                    self.record(path, mark, false);
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                // A collection used as a mapping key has no useful path; index it
                // under a placeholder so its children do not clobber real paths.
                let (path, key_mark) = self
                    .next_child_path()
                    .unwrap_or_else(|| ("\u{0}complex-key".to_string(), None));
                // A collection under a key is reported where its key is written.
                self.record(path.clone(), key_mark.unwrap_or(mark), false);
                let frame = if matches!(event, Event::MappingStart(..)) {
                    Frame::Mapping {
                        key: None,
                        unplaced: key_mark.is_none(),
                    }
                } else {
                    Frame::Sequence { next: 0 }
                };
                self.stack.push((path, frame));
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_one_based_positions() {
        let src = "intents:\n  restart:\n    examples:\n      - restart [apache](service)\n      - \"bounce it\"\n";
        let index = PositionIndex::build(Path::new("x.yaml"), src);
        let loc = index.locate("intents.restart.examples.0");
        assert_eq!((loc.line, loc.column), (4, 9));
        let quoted = index.locate_in_scalar("intents.restart.examples.1", 0);
        assert_eq!((quoted.line, quoted.column), (5, 10));
        let missing = index.locate("intents.restart.examples.9");
        assert_eq!(
            (missing.line, missing.column),
            (3, 5),
            "falls back to the nearest ancestor, at its key"
        );
        let nested =
            "dialogs:\n  restart:\n    slots:\n      - entity: service\n        prompt: x\n";
        let index = PositionIndex::build(Path::new("d.yaml"), nested);
        let restart = index.locate("dialogs.restart");
        assert_eq!((restart.line, restart.column), (2, 3));
        let slot = index.locate("dialogs.restart.slots.0");
        assert_eq!(
            (slot.line, slot.column),
            (4, 9),
            "a mapping in a list starts at its first key"
        );
    }
}
