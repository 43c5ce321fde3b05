//! Text preparation shared by training, tagging and understanding, below all
//! three.

/// Blanks out the bot's name where it is a word of its own: addressing the bot
/// says nothing about what is asked. Same length, so entity offsets still hold.
pub fn mask_bot_name(text: &str, name: &str) -> String {
    if name.is_empty() {
        return text.to_string();
    }
    let lower = text.to_ascii_lowercase();
    let name = name.to_ascii_lowercase();
    let mut out = text.to_string();
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let mut from = 0;
    while let Some(pos) = lower[from..].find(&name) {
        let start = from + pos;
        let end = start + name.len();
        if !is_word(lower[..start].chars().next_back()) && !is_word(lower[end..].chars().next()) {
            out.replace_range(start..end, &" ".repeat(name.len()));
        }
        from = end;
    }
    out
}
