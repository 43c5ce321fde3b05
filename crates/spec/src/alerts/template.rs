//! Slot templates of alert routes: `{labels.NAME}`, `{annotations.NAME}`,
//! optionally `| host`, with literal text around them.

use std::collections::BTreeMap;

/// A template's text and holes (`{field}`, `{field | host}`); `F` is what a
/// hole names. Alert slot templates and generic hooks share this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece<F> {
    Text(String),
    Hole { field: F, host: bool },
}

/// Splits `text` into pieces; `field` turns a hole's inside (its filter
/// removed) into what it names, or says why it cannot.
pub(crate) fn pieces<F>(
    text: &str,
    field: impl Fn(&str) -> Result<F, String>,
) -> Result<Vec<Piece<F>>, String> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            parts.push(Piece::Text(rest[..open].to_string()));
        }
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| format!("`{text}` opens a `{{` it does not close"))?;
        let inner = rest[open + 1..open + close].trim();
        let (path, filter) = match inner.split_once('|') {
            Some((path, filter)) => (path.trim(), Some(filter.trim())),
            None => (inner, None),
        };
        let host = match filter {
            None => false,
            Some("host") => true,
            Some(other) => return Err(format!("unknown filter `{other}`; expected `host`")),
        };
        parts.push(Piece::Hole {
            field: field(path)?,
            host,
        });
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        parts.push(Piece::Text(rest.to_string()));
    }
    Ok(parts)
}

/// The text with each hole filled by `value`; `Err` is the first hole it
/// has no value for.
pub(crate) fn fill<F>(
    parts: &[Piece<F>],
    value: impl Fn(&F) -> Option<String>,
) -> Result<String, &F> {
    let mut out = String::new();
    for part in parts {
        match part {
            Piece::Text(text) => out.push_str(text),
            Piece::Hole { field, host } => {
                let found = value(field).ok_or(field)?;
                out.push_str(if *host { host_of(&found) } else { &found });
            }
        }
    }
    Ok(out)
}

/// Where a slot's value comes from in an alert: `{labels.NAME}` or
/// `{annotations.NAME}`, optionally `| host` (an `instance` such as
/// `web-01:9100` becomes `web-01`), with literal text around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelTemplate {
    /// (from the annotations, name)
    parts: Vec<Piece<(bool, String)>>,
}

impl LabelTemplate {
    pub fn parse(text: &str) -> Result<LabelTemplate, String> {
        let parts = pieces(text, |path| {
            match path.split_once('.') {
            Some(("labels", name)) if !name.is_empty() => Ok((false, name.to_string())),
            Some(("annotations", name)) if !name.is_empty() => Ok((true, name.to_string())),
            _ => Err(format!(
                "`{{{path}}}` names no alert field; expected `{{labels.NAME}}` or `{{annotations.NAME}}`"
            )),
        }
        })?;
        Ok(LabelTemplate { parts })
    }

    /// The value for an alert with these labels and annotations; `None` when
    /// a field it names is missing or empty.
    pub fn render(
        &self,
        labels: &BTreeMap<String, String>,
        annotations: &BTreeMap<String, String>,
    ) -> Option<String> {
        fill(&self.parts, |(annotation, name)| {
            let source = if *annotation { annotations } else { labels };
            source.get(name).filter(|v| !v.trim().is_empty()).cloned()
        })
        .ok()
    }
}

/// `web-01:9100` → `web-01`, `[::1]:80` → `::1`; anything else unchanged.
pub fn host_of(instance: &str) -> &str {
    match instance.rsplit_once(':') {
        Some((host, port))
            if !host.is_empty()
                && !port.is_empty()
                && port.chars().all(|c| c.is_ascii_digit())
                && (!host.contains(':') || host.starts_with('[')) =>
        {
            host.trim_start_matches('[').trim_end_matches(']')
        }
        _ => instance,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn slot_templates_take_values_from_labels_and_annotations() {
        let labels = map(&[
            ("instance", "web-01:9100"),
            ("job", "apache"),
            ("v6", "[::1]:80"),
        ]);
        let annotations = map(&[("service", "httpd")]);
        let render = |t: &str| {
            LabelTemplate::parse(t)
                .unwrap()
                .render(&labels, &annotations)
        };
        assert_eq!(
            render("{labels.instance | host}").as_deref(),
            Some("web-01")
        );
        assert_eq!(render("{labels.instance}").as_deref(), Some("web-01:9100"));
        assert_eq!(render("{ labels.v6|host }").as_deref(), Some("::1"));
        assert_eq!(
            render("{annotations.service}-{labels.job}").as_deref(),
            Some("httpd-apache")
        );
        assert_eq!(render("{labels.missing}"), None);
        assert_eq!(
            host_of("fe80::1"),
            "fe80::1",
            "a bare IPv6 address has no port"
        );
        for bad in ["{labels.job", "{job}", "{labels.job | upper}", "{labels.}"] {
            assert!(LabelTemplate::parse(bad).is_err(), "{bad}");
        }
    }
}
