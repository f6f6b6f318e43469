//! Version constraints exactly as helm evaluates a chart's `kubeVersion` and dependency
//! ranges: the rules of the semver library helm uses (github.com/Masterminds/semver v3,
//! constraints.go and version.go, read from its repository): partial versions (`1.24`) and
//! wildcards are "dirty" and widen `<=`, `>`, `~` and `^`; a version with a pre-release
//! (`v1.30.2-eks-1234`) only matches an AND group that itself names a pre-release (`-0`);
//! `A - B` ranges, `||`, `,` or spaces between terms.

use std::cmp::Ordering;

/// A version as the library parses it: `v` optional, minor and patch optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    /// Pre-release, without the `-`; empty for a release.
    pub pre: String,
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

impl Version {
    pub fn parse(s: &str) -> Option<Version> {
        let s = s.trim();
        let s = s.strip_prefix('v').unwrap_or(s);
        let (s, meta) = match s.split_once('+') {
            Some((a, m)) => (a, Some(m)),
            None => (s, None),
        };
        if meta.is_some_and(|m| !is_ident(m)) {
            return None;
        }
        let (core, pre) = match s.split_once('-') {
            Some((c, p)) => (c, p),
            None => (s, ""),
        };
        if s.contains('-') && !is_ident(pre) {
            return None;
        }
        let mut nums = core.split('.');
        let mut next = |required: bool| -> Option<u64> {
            match nums.next() {
                Some(n) if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => n.parse().ok(),
                None if !required => Some(0),
                _ => None,
            }
        };
        let (major, minor, patch) = (next(true)?, next(false)?, next(false)?);
        if nums.next().is_some() {
            return None;
        }
        Some(Version {
            major,
            minor,
            patch,
            pre: pre.to_string(),
        })
    }

    /// Semver precedence, as the library compares (build metadata ignored).
    pub fn cmp_versions(&self, o: &Version) -> Ordering {
        self.compare(o)
    }

    fn compare(&self, o: &Version) -> Ordering {
        self.major
            .cmp(&o.major)
            .then(self.minor.cmp(&o.minor))
            .then(self.patch.cmp(&o.patch))
            .then_with(|| match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_pre(&self.pre, &o.pre),
            })
    }
}

fn compare_pre(a: &str, b: &str) -> Ordering {
    let (pa, pb): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    for i in 0..pa.len().max(pb.len()) {
        let (s, o) = (
            pa.get(i).copied().unwrap_or(""),
            pb.get(i).copied().unwrap_or(""),
        );
        let d = compare_pre_part(s, o);
        if d != Ordering::Equal {
            return d;
        }
    }
    Ordering::Equal
}

fn compare_pre_part(s: &str, o: &str) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if s.is_empty() {
        return Ordering::Less;
    }
    if o.is_empty() {
        return Ordering::Greater;
    }
    match (s.parse::<u64>(), o.parse::<u64>()) {
        (Ok(a), Ok(b)) => a.cmp(&b),
        // Numeric identifiers sort before alphanumeric ones.
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => s.cmp(o),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    TildeOrEqual,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    Tilde,
    Caret,
}

#[derive(Debug, Clone)]
struct Term {
    op: Op,
    con: Version,
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

/// A parsed constraint: OR groups of AND terms.
#[derive(Debug, Clone)]
pub struct Constraint {
    groups: Vec<(Vec<Term>, bool)>,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

/// One term's version part: `1`, `1.2`, `1.2.x`, `1.24-0`, `*`.
fn term(op: Op, text: &str) -> Option<Term> {
    let text = text.strip_prefix('v').unwrap_or(text);
    let (text, _meta) = text.split_once('+').unwrap_or((text, ""));
    let (core, pre) = match text.split_once('-') {
        Some((c, p)) if is_ident(p) => (c, p),
        Some(_) => return None,
        None => (text, ""),
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !(is_x(p) || p.chars().all(|c| c.is_ascii_digit())))
    {
        return None;
    }
    let num = |p: &str| p.parse::<u64>().ok();
    let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
    let (major, minor, patch) = match parts.as_slice() {
        [m, ..] if is_x(m) => {
            dirty = true;
            (0, 0, 0)
        }
        [m] => {
            minor_dirty = true;
            dirty = true;
            (num(m)?, 0, 0)
        }
        [m, n, ..] if is_x(n) => {
            minor_dirty = true;
            dirty = true;
            (num(m)?, 0, 0)
        }
        [m, n] => {
            patch_dirty = true;
            dirty = true;
            (num(m)?, num(n)?, 0)
        }
        [m, n, p] if is_x(p) => {
            patch_dirty = true;
            dirty = true;
            (num(m)?, num(n)?, 0)
        }
        [m, n, p] => (num(m)?, num(n)?, num(p)?),
        _ => return None,
    };
    Some(Term {
        op,
        con: Version {
            major,
            minor,
            patch,
            pre: pre.to_string(),
        },
        dirty,
        minor_dirty,
        patch_dirty,
    })
}

fn op_of(s: &str) -> Option<Op> {
    Some(match s {
        "" | "=" => Op::TildeOrEqual,
        "!=" => Op::NotEqual,
        ">" => Op::Greater,
        "<" => Op::Less,
        ">=" | "=>" => Op::GreaterEqual,
        "<=" | "=<" => Op::LessEqual,
        "~" | "~>" => Op::Tilde,
        "^" => Op::Caret,
        _ => return None,
    })
}

/// Rewrites `A - B` (spaces around the dash) into `>= A, <= B`.
fn rewrite_ranges(s: &str) -> String {
    let words: Vec<&str> = s.split_whitespace().collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if i + 2 < words.len()
            && words[i + 1] == "-"
            && words[i]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '*')
            && !words[i].ends_with(',')
        {
            out.push(format!(">= {}, <= {}", words[i], words[i + 2]));
            i += 3;
        } else {
            out.push(words[i].to_string());
            i += 1;
        }
    }
    out.join(" ")
}

/// A version range helm would not read, by the part it cannot (helm's own words).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("improper constraint: {0:?}")]
pub struct ImproperConstraint(pub String);

impl Constraint {
    pub fn parse(s: &str) -> Result<Constraint, ImproperConstraint> {
        let improper = |g: &str| ImproperConstraint(g.trim().to_string());
        let rewritten = rewrite_ranges(s);
        let mut groups = Vec::new();
        for g in rewritten.split("||") {
            let mut terms = Vec::new();
            let chars: Vec<char> = g.chars().collect();
            let mut i = 0;
            let mut first = true;
            loop {
                // Between terms: whitespace or one comma with whitespace.
                let start = i;
                while i < chars.len() && chars[i].is_whitespace() {
                    i += 1;
                }
                if i < chars.len() && chars[i] == ',' && !first {
                    i += 1;
                    while i < chars.len() && chars[i].is_whitespace() {
                        i += 1;
                    }
                } else if !first && i == start && i < chars.len() {
                    return Err(improper(g));
                }
                if i >= chars.len() {
                    break;
                }
                let op_start = i;
                while i < chars.len() && "=!<>~^".contains(chars[i]) {
                    i += 1;
                }
                let op: String = chars[op_start..i].iter().collect();
                let op = op_of(&op).ok_or_else(|| improper(g))?;
                while i < chars.len() && chars[i].is_whitespace() {
                    i += 1;
                }
                let v_start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || "-.+*".contains(chars[i]))
                {
                    i += 1;
                }
                let text: String = chars[v_start..i].iter().collect();
                terms.push(term(op, &text).ok_or_else(|| improper(g))?);
                first = false;
            }
            if terms.is_empty() {
                return Err(improper(g));
            }
            let has_pre = terms.iter().any(|t| !t.con.pre.is_empty());
            groups.push((terms, has_pre));
        }
        Ok(Constraint { groups })
    }

    pub fn check(&self, v: &Version) -> bool {
        self.groups
            .iter()
            .any(|(terms, has_pre)| terms.iter().all(|t| t.check(v, *has_pre)))
    }
}

impl Term {
    fn check(&self, v: &Version, include_pre: bool) -> bool {
        if !v.pre.is_empty() && !include_pre {
            return false;
        }
        let c = &self.con;
        match self.op {
            Op::TildeOrEqual if self.dirty => self.tilde(v),
            Op::TildeOrEqual => v.compare(c) == Ordering::Equal,
            Op::NotEqual => {
                if self.dirty {
                    if c.major != v.major {
                        return true;
                    }
                    if c.minor != v.minor && !self.minor_dirty {
                        return true;
                    } else if self.minor_dirty {
                        return false;
                    } else if c.patch != v.patch && !self.patch_dirty {
                        return true;
                    } else if self.patch_dirty {
                        return (!v.pre.is_empty() || !c.pre.is_empty())
                            && compare_pre(&v.pre, &c.pre) != Ordering::Equal;
                    }
                }
                v.compare(c) != Ordering::Equal
            }
            Op::Greater => {
                if !self.dirty {
                    return v.compare(c) == Ordering::Greater;
                }
                if v.major != c.major {
                    return v.major > c.major;
                }
                if self.minor_dirty {
                    return false;
                }
                if self.patch_dirty {
                    return v.minor > c.minor;
                }
                v.compare(c) == Ordering::Greater
            }
            Op::Less => v.compare(c) == Ordering::Less,
            Op::GreaterEqual => v.compare(c) != Ordering::Less,
            Op::LessEqual => {
                if !self.dirty {
                    return v.compare(c) != Ordering::Greater;
                }
                !(v.major > c.major
                    || (v.major == c.major && v.minor > c.minor && !self.minor_dirty))
            }
            Op::Tilde => self.tilde(v),
            Op::Caret => {
                if v.compare(c) == Ordering::Less {
                    return false;
                }
                if c.major > 0 || self.minor_dirty {
                    return v.major == c.major;
                }
                if v.major > 0 {
                    return false;
                }
                if c.minor > 0 || self.patch_dirty {
                    return v.minor == c.minor;
                }
                if v.minor > 0 {
                    return false;
                }
                c.patch == v.patch
            }
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        v.minor == c.minor || self.minor_dirty
    }
}

/// Does `version` (as the cluster reports it, `v1.30.2-eks-1234` included) satisfy
/// `constraint`, as helm decides? An unparsable constraint or version satisfies nothing.
pub fn satisfies(constraint: &str, version: &str) -> bool {
    match (Constraint::parse(constraint), Version::parse(version)) {
        (Ok(c), Some(v)) => c.check(&v),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::satisfies;

    /// Edge cases, each with helm's answer (`tests/helm_semver.rs` asks the real helm for
    /// every constraint in the chart corpus).
    #[test]
    fn edge_cases() {
        let table: &[(&str, &str, bool)] = &[
            (">= 1.24-0", "v1.33.2", true),
            (">= 1.24-0", "v1.24.0", true),
            (">= 1.24-0", "v1.23.17", false),
            (">= 1.24-0", "v1.30.2-eks-1234", true),
            (">= 1.24", "v1.30.2-eks-1234", false),
            (">= 1.24.0", "v1.30.2", true),
            ("<= 1.25-0", "v1.25.9", true),
            ("<= 1.25-0", "v1.26.0", false),
            (">= 1.22-0 <= 1.24-0", "v1.24.17", true),
            (">= 1.22-0 <= 1.24-0", "v1.25.0", false),
            (">= 1.22-0 <= 1.24-0", "v1.21.9", false),
            (">=1.23.0-0, <1.26.0-0", "v1.25.16-gke.100", true),
            ("< 1.26", "v1.26.0", false),
            ("> 1.25", "v1.26.0", true),
            ("> 1.25", "v1.25.9", false),
            ("~1.25", "v1.25.3", true),
            ("~1.25", "v1.26.0", false),
            ("^1.20", "v1.33.0", true),
            ("^1.20", "v2.0.0", false),
            ("1.2.x", "v1.2.9", true),
            ("1.2.x", "v1.3.0", false),
            ("*", "v1.33.0", true),
            ("1.20 - 1.24", "v1.24.5", true),
            ("1.20 - 1.24", "v1.25.0", false),
            (">= 1.30 || < 1.20", "v1.18.0", true),
            (">= 1.30 || < 1.20", "v1.25.0", false),
            ("!= 1.25.0", "v1.25.0", false),
            ("!= 1.25.0", "v1.25.1", true),
            ("banana", "v1.25.0", false),
            (">= 1.24-0", "not a version", false),
        ];
        for (c, v, want) in table {
            assert_eq!(satisfies(c, v), *want, "{c} against {v}");
        }
    }
}
