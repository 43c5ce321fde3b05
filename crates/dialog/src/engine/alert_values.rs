//! Values from the alert a message is about: they fill only what the
//! person neither said nor carries over from their last request, and when
//! several alerts are open and the message is in none of their threads,
//! none of them is taken: the person is asked which one.

use super::*;

impl<'a> Step<'a> {
    /// Values from the alert the message is about, for slots the message
    /// left open and nothing carries over into (`known`: the request with its
    /// carried-over values); a value the slot's entity refuses is said, not
    /// used. Returns those refusals, and a question when several alerts are
    /// open and one of them would have filled a slot.
    pub(super) fn fill_from_alert(
        &self,
        dialog: &Dialog,
        request: &mut Request,
        known: &Request,
    ) -> (Vec<String>, Option<String>) {
        let open = |s: &&Slot| !known.slots.contains_key(&s.name);
        let Some(alert) = self.ctx.alert else {
            return (Vec::new(), self.which_alert(dialog, known));
        };
        let mut errors = Vec::new();
        for slot in dialog.slots.iter().filter(open) {
            let Some(value) = alert.values.get(&slot.name) else {
                continue;
            };
            match self.slot_value(slot, value) {
                Ok(value) => {
                    request.slots.insert(
                        slot.name.clone(),
                        SlotValue {
                            value,
                            origin: SlotOrigin::FromAlert,
                        },
                    );
                    request.alert = Some(AlertLink {
                        id: alert.id.clone(),
                        name: alert.name.clone(),
                    });
                }
                Err(reason) => errors.push(format!("from the alert {}: {reason}", alert.name)),
            }
        }
        (errors, None)
    }

    /// "Which alert do you mean?" when a message outside any alert's thread
    /// leaves open a slot that more than one open alert would fill: taking
    /// the newest would let whoever sends alerts decide what "it" is.
    fn which_alert(&self, dialog: &Dialog, known: &Request) -> Option<String> {
        let alerts = self.ctx.open_alerts;
        let would_fill = dialog.slots.iter().any(|s| {
            !known.slots.contains_key(&s.name)
                && alerts.iter().any(|a| a.values.contains_key(&s.name))
        });
        if alerts.len() < 2 || !would_fill {
            return None;
        }
        let described: Vec<String> = alerts
            .iter()
            .map(|a| {
                let values: Vec<&str> = a.values.values().map(String::as_str).collect();
                if values.is_empty() {
                    a.name.clone()
                } else {
                    format!("{} ({})", a.name, values.join(", "))
                }
            })
            .collect();
        Some(format!(
            "{} alerts are open in this room: {}. Which one do you mean? Reply in its thread, or name the values; I take none from an alert without knowing which.",
            alerts.len(),
            opsbot_spec::join_or(&described.iter().map(String::as_str).collect::<Vec<_>>())
                .replacen(" or ", " and ", 1)
        ))
    }
}
