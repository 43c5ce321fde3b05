//! Finding the request in a message: the clause that asks for something and
//! the word that says what ("restart" in "there's a problem with nginx on
//! web-02, please restart it"; "restarted" in "make sure apache is
//! restarted"). Lead-ins ("I'd like to", "make sure", "can you", "please")
//! and statements of a problem ("there's …", "something is wrong with …") are
//! never the request word.

use opsbot_spec::EntityMatch;

use super::forms::words;
use super::lead_ins::{
    CLAUSE_WORDS, ENSURE, LIGHT_VERBS, OPENERS, PRONOUNS, STATEMENT_OPENERS, STATE_OPENERS,
    STATE_WORDS, WANT,
};

/// One word of a message.
#[derive(Debug, Clone)]
pub(super) struct Word {
    pub word: String,
    /// A value the extractor found ("orders", "web-01"), not a word.
    pub is_value: bool,
}

#[derive(Debug, Clone)]
enum Token {
    Word(Word),
    /// Sentence punctuation: a clause ends here.
    Break,
}

/// The message's tokens: words, values marked, and clause breaks.
fn tokens(text: &str, entities: &[EntityMatch]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut cursor = 0;
    let mut spans: Vec<&EntityMatch> = entities.iter().collect();
    spans.sort_by_key(|m| m.start);
    let plain = |part: &str, out: &mut Vec<Token>| {
        for (i, piece) in pieces(part).into_iter().enumerate() {
            if i > 0 {
                out.push(Token::Break);
            }
            out.extend(words(piece).map(|word| {
                Token::Word(Word {
                    word,
                    is_value: false,
                })
            }));
        }
    };
    for m in spans {
        if m.start < cursor || m.end > text.len() || !text.is_char_boundary(m.start) {
            continue;
        }
        plain(&text[cursor..m.start], &mut out);
        out.push(Token::Word(Word {
            word: m.surface.to_lowercase(),
            is_value: true,
        }));
        cursor = m.end;
    }
    if text.is_char_boundary(cursor) {
        plain(&text[cursor..], &mut out);
    }
    out
}

/// `text` cut at sentence punctuation: a comma, semicolon or dash anywhere,
/// a full stop, colon, "!" or "?" before a space or the end (not inside
/// "1.2" or "example.com").
fn pieces(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut from = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let ends_sentence = matches!(c, '.' | '!' | '?' | ':')
            && chars.peek().is_none_or(|(_, next)| next.is_whitespace());
        if ends_sentence || matches!(c, ',' | ';' | '—') {
            out.push(&text[from..at]);
            from = at + c.len_utf8();
        }
    }
    out.push(&text[from..]);
    out
}

/// The message's clauses, each a list of words.
fn clauses(text: &str, entities: &[EntityMatch]) -> Vec<Vec<Word>> {
    let mut clauses: Vec<Vec<Word>> = vec![Vec::new()];
    for token in tokens(text, entities) {
        match token {
            Token::Break => clauses.push(Vec::new()),
            Token::Word(word) => {
                let current = clauses.last_mut().expect("one clause at least");
                if !word.is_value
                    && !current.is_empty()
                    && CLAUSE_WORDS.contains(&word.word.as_str())
                {
                    clauses.push(vec![word]);
                } else {
                    current.push(word);
                }
            }
        }
    }
    clauses.retain(|c| !c.is_empty());
    clauses
}

/// A clause's words after its lead-ins; at least one word is kept ("please"
/// alone is a word of its own).
fn without_openers(clause: Vec<Word>) -> Vec<Word> {
    stripped(clause).0
}

/// A clause's words after its lead-ins, and whether they asked for a state
/// ("make sure …").
fn stripped(mut clause: Vec<Word>) -> (Vec<Word>, bool) {
    let starts_with = |clause: &[Word], at: usize, phrase: &str| {
        phrase.split(' ').enumerate().all(|(i, p)| {
            clause
                .get(at + i)
                .is_some_and(|w| !w.is_value && w.word == p)
        })
    };
    let mut start = 0;
    if let Some(ensure) = ENSURE
        .iter()
        .filter(|e| starts_with(&clause, 0, e))
        .max_by_key(|e| e.len())
    {
        start = ensure.split(' ').count();
        if let Some(state) = STATE_OPENERS
            .iter()
            .filter(|s| starts_with(&clause, start, s))
            .max_by_key(|s| s.len())
        {
            start += state.split(' ').count();
        }
        if start >= clause.len() {
            start = 0;
        }
    }
    let ensured = start > 0;
    let mut wants = false;
    'strip: loop {
        for opener in OPENERS_LONGEST_FIRST.iter() {
            let parts: Vec<&str> = opener.split(' ').collect();
            let fits = parts.iter().enumerate().all(|(i, p)| {
                clause
                    .get(start + i)
                    .is_some_and(|w| !w.is_value && w.word == *p)
            });
            // "run it again", "do that now": a light verb before a pronoun
            // is the request word itself.
            let before_pronoun = LIGHT_VERBS.contains(opener)
                && clause
                    .get(start + parts.len())
                    .is_some_and(|w| PRONOUNS.contains(&w.word.as_str()));
            if fits && !before_pronoun && start + parts.len() < clause.len() {
                start += parts.len();
                wants |= WANT.contains(opener);
                continue 'strip;
            }
        }
        break;
    }
    (clause.split_off(start), ensured || wants)
}

static OPENERS_LONGEST_FIRST: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| {
        let mut openers: Vec<&str> = OPENERS.iter().chain(WANT).copied().collect();
        openers.sort_by_key(|o| std::cmp::Reverse(o.len()));
        openers
    });

/// The words of the clause that makes the request, from its request word on:
/// the first clause that does not state a problem. In a clause that names
/// its values first, a word after a state word ("apache is restarted", "the
/// cert renewed") is the request word. Empty when no clause asks anything.
pub(super) fn request_words(text: &str, entities: &[EntityMatch]) -> Vec<Word> {
    let clauses: Vec<(Vec<Word>, bool)> =
        clauses(text, entities).into_iter().map(stripped).collect();
    let count = clauses.len();
    for (i, (clause, ensured)) in clauses.into_iter().enumerate() {
        let last = i + 1 == count;
        let Some(first) = clause.first() else {
            continue;
        };
        // "make sure the cert is renewed": the state asked for says what.
        let passive = clause.windows(2).position(|pair| {
            STATE_WORDS.contains(&pair[0].word.as_str()) && is_participle(&pair[1].word)
        });
        if let (true, Some(at)) = (ensured, passive) {
            return clause.into_iter().skip(at + 1).collect();
        }
        // "I need the alerts on web-01 muted": the last participle.
        let wanted = clause
            .iter()
            .rposition(|w| !w.is_value && is_participle(&w.word))
            .filter(|&at| at > 0);
        if let (true, Some(at)) = (ensured, wanted) {
            return clause.into_iter().skip(at).collect();
        }
        if first.is_value {
            // "apache on web-01 is restarted", "nginx on web-02 bounced":
            // the first word after the values that is not a value or a
            // state word says what is wanted.
            if !last {
                // "frontend failed on a flaky test, run it again".
                continue;
            }
            if let Some(at) = clause
                .iter()
                .position(|w| !w.is_value && is_participle(&w.word))
            {
                return clause.into_iter().skip(at).collect();
            }
            return clause;
        }
        if STATEMENT_OPENERS.contains(&first.word.as_str()) {
            if !last {
                continue;
            }
            // A problem stated and nothing asked; a participle after a state
            // word ("it is restarted") still says what is wanted.
            let after_state = clause
                .iter()
                .position(|w| STATE_WORDS.contains(&w.word.as_str()))
                .map(|at| at + 1)
                .filter(|&at| clause.get(at).is_some_and(|w| is_participle(&w.word)));
            return match after_state {
                Some(at) => clause.into_iter().skip(at).collect(),
                None => Vec::new(),
            };
        }
        return clause;
    }
    Vec::new()
}

/// "restarted", "renewed", "taken": a word that says a thing was done.
fn is_participle(word: &str) -> bool {
    word.chars().count() > 4 && (word.ends_with("ed") || word.ends_with("en"))
}

/// Every word of the message outside values, lead-ins and statements' openers:
/// what the whole message says.
pub(super) fn content_words(text: &str, entities: &[EntityMatch]) -> Vec<Word> {
    clauses(text, entities)
        .into_iter()
        .flat_map(without_openers)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(text: &str) -> Option<String> {
        request_words(text, &[]).first().map(|w| w.word.clone())
    }

    #[test]
    fn lead_ins_and_statements_are_never_the_request_word() {
        for (text, word) in [
            ("restart apache", "restart"),
            ("please restart apache", "restart"),
            ("can you restart apache", "restart"),
            ("I'd like to restart apache", "restart"),
            ("we need to restart apache", "restart"),
            ("make sure we have a backup of orders", "backup"),
            ("make sure the cert is renewed", "renewed"),
            ("I need the alerts on the host muted for an hour", "muted"),
            ("we need the failed build restarted", "restarted"),
            ("I need a backup of orders", "backup"),
            ("there's a problem with nginx, restart it please", "restart"),
            (
                "there is something wrong with apache, please restart it",
                "restart",
            ),
            ("something is wrong with apache so restart it", "restart"),
            ("it keeps crashing, bounce it", "bounce"),
            ("someone dropped a table in billing, restore it", "restore"),
            ("it failed on a flaky test, run it one more time", "run"),
            ("do a failover of pg-main", "failover"),
            ("upgrade the cluster to postgres 17", "upgrade"),
        ] {
            assert_eq!(request(text).as_deref(), Some(word), "{text}");
        }
    }

    #[test]
    fn a_problem_stated_asks_nothing() {
        for text in [
            "something is wrong with apache",
            "there's a problem with nginx",
        ] {
            assert_eq!(request(text), None, "{text}");
        }
    }

    #[test]
    fn values_first_then_a_participle() {
        let text = "apache on web-01 restarted asap";
        let entities = vec![
            EntityMatch {
                entity: "service".into(),
                start: 0,
                end: 6,
                surface: "apache".into(),
                value: "apache".into(),
                source: opsbot_spec::MatchSource::Lexicon,
                confidence: 1.0,
            },
            EntityMatch {
                entity: "host".into(),
                start: 10,
                end: 16,
                surface: "web-01".into(),
                value: "web-01".into(),
                source: opsbot_spec::MatchSource::Pattern,
                confidence: 1.0,
            },
        ];
        let words = request_words(text, &entities);
        assert_eq!(words[0].word, "restarted");
    }
}
