//! Reads: one object, lists filtered by label and field selectors and paged, and the event
//! log watches start from.

use std::borrow::Cow;

use super::*;

impl Store {
    pub fn get(&self, rt: &ResourceType, ns: &str, name: &str) -> Result<Value, ApiError> {
        self.get_gr(&(rt.group.clone(), rt.plural.clone()), ns, name)
            .map(|v| served_as(rt, v))
            .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))
    }

    /// An object, a copy to change.
    pub fn get_gr(&self, gr: &Gr, ns: &str, name: &str) -> Option<Value> {
        self.peek_gr(gr, ns, name).map(Cow::into_owned)
    }

    /// An object to read: borrowed where the store keeps it parsed.
    pub fn peek_gr(&self, gr: &Gr, ns: &str, name: &str) -> Option<Cow<'_, Value>> {
        let keep = self.keeps_parsed(gr);
        self.stored(gr, ns, name).map(|s| s.read(keep))
    }

    /// Whether an object exists (nothing parsed).
    pub fn has(&self, gr: &Gr, ns: &str, name: &str) -> bool {
        self.stored(gr, ns, name).is_some()
    }

    pub(super) fn stored(&self, gr: &Gr, ns: &str, name: &str) -> Option<&Stored> {
        self.objects
            .get(gr)
            .and_then(|m| m.get(&(ns.to_string(), name.to_string())))
    }

    /// All objects of a type (any namespace when `ns` is None): borrowed where the store keeps
    /// them parsed, else each parsed as it is reached.
    pub fn iter_gr<'a>(
        &'a self,
        gr: &Gr,
        ns: Option<&'a str>,
    ) -> impl Iterator<Item = Cow<'a, Value>> + use<'a> {
        let keep = self.keeps_parsed(gr);
        self.iter_stored(gr, ns).map(move |(_, v)| v.read(keep))
    }

    /// All objects of a type as kept, with their keys.
    pub(super) fn iter_stored<'a>(
        &'a self,
        gr: &Gr,
        ns: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a (String, String), &'a Stored)> + use<'a> {
        use std::ops::Bound;
        let start = match ns {
            Some(n) => Bound::Included((n.to_string(), String::new())),
            None => Bound::Unbounded,
        };
        // A namespace is one range of the keys: read it alone.
        self.objects
            .get(gr)
            .into_iter()
            .flat_map(move |m| m.range((start.clone(), Bound::Unbounded)))
            .take_while(move |((n, _), _)| ns.is_none_or(|want| want == n))
    }

    pub fn list(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
        limit: Option<usize>,
        continue_from: Option<&str>,
    ) -> Result<ListResult, ApiError> {
        let (refs, rv, continue_token, remaining) =
            self.select(rt, ns, labels, fields, limit, continue_from)?;
        Ok(ListResult {
            items: refs
                .into_iter()
                .map(|v| served_as(rt, v.read(false).into_owned()))
                .collect(),
            rv,
            continue_token,
            remaining,
        })
    }

    /// The objects a list would return, as kept (a watch's initial events are written from
    /// their bytes).
    pub fn list_refs(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
    ) -> Result<(Vec<&Stored>, u64), ApiError> {
        let (refs, rv, _, _) = self.select(rt, ns, labels, fields, None, None)?;
        Ok((refs, rv))
    }

    /// A list response written straight from the objects' bytes.
    #[allow(clippy::too_many_arguments)]
    pub fn list_json(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
        limit: Option<usize>,
        continue_from: Option<&str>,
    ) -> Result<Vec<u8>, ApiError> {
        let (refs, rv, continue_token, remaining) =
            self.select(rt, ns, labels, fields, limit, continue_from)?;
        let empty = ListResult {
            items: Vec::new(),
            rv,
            continue_token,
            remaining,
        };
        let mut head = serde_json::to_vec(&list_body(rt, empty)).unwrap_or_default();
        // Replace the empty `"items":[]}` tail with the items written in place.
        let tail = b"\"items\":[]}";
        if head.ends_with(tail) {
            head.truncate(head.len() - 2);
        } else {
            return Ok(head);
        }
        let mut out = head;
        out.reserve(refs.iter().map(|r| r.json().len() + 1).sum());
        let head = super::served_head(rt);
        for (i, item) in refs.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_served(&mut out, rt, &head, item);
        }
        out.extend_from_slice(b"]}");
        Ok(out)
    }

    /// The items of one page, in key order. A page costs time in proportion to the page, not
    /// to the collection: a namespaced list reads only its namespace's range, and the scan
    /// stops at the first match past the limit. `remainingItemCount` is given only without
    /// selectors, as the API server gives it; the first page counts the scope once and the
    /// continue token carries that count and the offset on.
    #[allow(clippy::type_complexity)]
    pub(super) fn select<'a>(
        &'a self,
        rt: &ResourceType,
        ns: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
        limit: Option<usize>,
        continue_from: Option<&str>,
    ) -> Result<(Vec<&'a Stored>, u64, Option<String>, Option<usize>), ApiError> {
        use std::ops::Bound;
        let gr = (rt.group.clone(), rt.plural.clone());
        let token = match continue_from {
            Some(tok) if !tok.is_empty() => Some(self.read_token(tok)?),
            _ => None,
        };
        let selective = !labels.is_empty() || !fields.is_empty();
        let keep = self.keeps_parsed(&gr);
        let mut items = Vec::new();
        let mut last_key = None;
        let mut more = false;
        let Some(m) = self.objects.get(&gr) else {
            return Ok((Vec::new(), self.rv, None, None));
        };
        let start = match (&token, ns) {
            (Some(t), _) => Bound::Excluded(t.after.clone()),
            (None, Some(n)) => Bound::Included((n.to_string(), String::new())),
            (None, None) => Bound::Unbounded,
        };
        for (k, v) in m.range((start, Bound::Unbounded)) {
            if ns.is_some_and(|want| want != k.0) {
                break;
            }
            if selective {
                let parsed = v.read(keep);
                if !labels.matches(&parsed) || !fields.matches(&parsed) {
                    continue;
                }
            }
            if limit.is_some_and(|l| items.len() >= l) {
                more = true;
                break;
            }
            items.push(v);
            last_key = Some(k.clone());
        }
        // How many the scope holds: carried by the token after the first page.
        let total = match (&token, limit, selective) {
            (_, None, _) | (_, _, true) => None,
            (Some(t), _, _) => t.total,
            (None, Some(_), false) => Some(match ns {
                Some(n) => m
                    .range((
                        Bound::Included((n.to_string(), String::new())),
                        Bound::Unbounded,
                    ))
                    .take_while(|(k, _)| k.0 == n)
                    .count(),
                None => m.len(),
            }),
        };
        let offset = token.as_ref().map_or(0, |t| t.offset) + items.len();
        let remaining = total.map(|t| t.saturating_sub(offset)).filter(|_| more);
        let continue_token = match (more, last_key) {
            (true, Some((n, name))) => {
                use base64::Engine;
                let total = total.map(|t| t.to_string()).unwrap_or_default();
                Some(
                    base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .encode(format!("{}\n{n}\n{name}\n{offset}\n{total}", self.rv)),
                )
            }
            _ => None,
        };
        Ok((items, self.rv, continue_token, remaining.filter(|r| *r > 0)))
    }

    /// A continue token: where the last page ended, and how far into how many it was.
    fn read_token(&self, tok: &str) -> Result<Continue, ApiError> {
        use base64::Engine;
        let bad = || ApiError::bad_request("invalid continue token");
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(tok)
            .map_err(|_| bad())?;
        let s = String::from_utf8_lossy(&raw).to_string();
        let mut parts = s.split('\n');
        let rv: u64 = parts.next().and_then(|r| r.parse().ok()).ok_or_else(bad)?;
        if rv < self.oldest_rv {
            return Err(ApiError::gone(
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
            ));
        }
        let ns = parts.next().ok_or_else(bad)?.to_string();
        let name = parts.next().ok_or_else(bad)?.to_string();
        let offset = parts.next().and_then(|o| o.parse().ok()).unwrap_or(0);
        let total = parts.next().and_then(|t| t.parse().ok());
        Ok(Continue {
            after: (ns, name),
            offset,
            total,
        })
    }

    /// Starts a watch: the events after `since` (410 if too old) and a live receiver.
    #[allow(clippy::type_complexity)]
    pub fn watch_from(
        &self,
        rt: &ResourceType,
        since: u64,
    ) -> Result<(Vec<Arc<WatchEvent>>, broadcast::Receiver<Arc<WatchEvent>>), ApiError> {
        if since < self.oldest_rv {
            return Err(ApiError::gone(format!(
                "too old resource version: {since} ({})",
                self.oldest_rv
            )));
        }
        let gr = (rt.group.clone(), rt.plural.clone());
        let backlog = self
            .log
            .iter()
            .filter(|e| e.rv > since && e.gr == gr)
            .cloned()
            .collect();
        Ok((backlog, self.tx.subscribe()))
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<WatchEvent>> {
        self.tx.subscribe()
    }
}

pub fn list_body(rt: &ResourceType, res: ListResult) -> Value {
    let mut meta = Map::new();
    meta.insert("resourceVersion".into(), json!(res.rv.to_string()));
    if let Some(c) = res.continue_token {
        meta.insert("continue".into(), json!(c));
    }
    if let Some(r) = res.remaining {
        meta.insert("remainingItemCount".into(), json!(r));
    }
    json!({
        "kind": format!("{}List", rt.kind),
        "apiVersion": rt.api_version(),
        "metadata": meta,
        "items": res.items,
    })
}

/// What a continue token says.
struct Continue {
    after: (String, String),
    offset: usize,
    total: Option<usize>,
}
