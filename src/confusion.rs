//! The confusion matrix as an SVG image: rows are the expected intents, columns
//! the predicted ones, darker cells hold more examples; off-diagonal cells (the
//! mistakes) are drawn in red so they stand out.

use std::fmt::Write as _;
use std::path::Path;

use opsbot_nlu::evaluate::Confusion;

const CELL: usize = 18;
const LABEL_WIDTH: usize = 190;

pub fn write_svg(confusion: &Confusion, path: &Path) -> std::io::Result<()> {
    std::fs::write(path, render(confusion))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn render(confusion: &Confusion) -> String {
    let n = confusion.classes.len();
    let size = LABEL_WIDTH + n * CELL + 10;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{LABEL_WIDTH}" y="12" font-weight="bold">predicted →  (rows: expected)</text>"#
    );
    for (i, class) in confusion.classes.iter().enumerate() {
        let y = LABEL_WIDTH + i * CELL + CELL / 2 + 4;
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{y}" text-anchor="end">{}</text>"#,
            LABEL_WIDTH - 4,
            escape(class)
        );
        let x = LABEL_WIDTH + i * CELL + CELL / 2 + 4;
        let _ = writeln!(
            svg,
            r#"<text x="{x}" y="{}" text-anchor="start" transform="rotate(-90 {x} {})">{}</text>"#,
            LABEL_WIDTH - 4,
            LABEL_WIDTH - 4,
            escape(class)
        );
    }
    for (e, row) in confusion.counts.iter().enumerate() {
        let total: usize = row.iter().sum::<usize>().max(1);
        for (p, &count) in row.iter().enumerate() {
            if count == 0 {
                continue;
            }
            let share = count as f64 / total as f64;
            let (hue, label) = if e == p { (210, "right") } else { (0, "wrong") };
            let lightness = 95.0 - 55.0 * share.sqrt();
            let _ = writeln!(
                svg,
                r#"<rect x="{}" y="{}" width="{CELL}" height="{CELL}" fill="hsl({hue},70%,{lightness:.0}%)"><title>{} → {}: {count} ({label})</title></rect>"#,
                LABEL_WIDTH + p * CELL,
                LABEL_WIDTH + e * CELL,
                escape(&confusion.classes[e]),
                escape(&confusion.classes[p]),
            );
            if n <= 40 {
                let _ = writeln!(
                    svg,
                    r#"<text x="{}" y="{}" text-anchor="middle" font-size="9">{count}</text>"#,
                    LABEL_WIDTH + p * CELL + CELL / 2,
                    LABEL_WIDTH + e * CELL + CELL / 2 + 3
                );
            }
        }
    }
    let _ = writeln!(
        svg,
        r#"<rect x="{LABEL_WIDTH}" y="{LABEL_WIDTH}" width="{}" height="{}" fill="none" stroke="gray"/>"#,
        n * CELL,
        n * CELL
    );
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_every_nonzero_cell_with_its_count() {
        let confusion = Confusion {
            classes: vec!["deploy".into(), "restart <x>".into()],
            counts: vec![vec![5, 1], vec![0, 7]],
        };
        let svg = render(&confusion);
        assert!(svg.starts_with("<svg"));
        assert_eq!(svg.matches("<title>").count(), 3);
        assert!(svg.contains("deploy → restart &lt;x&gt;: 1 (wrong)"));
        assert!(svg.contains("restart &lt;x&gt; → restart &lt;x&gt;: 7 (right)"));
    }
}
