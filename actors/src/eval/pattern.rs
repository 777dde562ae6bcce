//! `MatchRegex` / `NotMatchRegex` patterns with .NET semantics (featbit-protocol.md §5.3, §5.7).
//!
//! FeatBit runs `Regex.IsMatch(userValue, pattern)`: an unanchored search with .NET syntax. `fancy-regex` accepts
//! the .NET constructs users write (lookaround, backreferences, named groups) and hands simple patterns to the
//! linear-time `regex` crate. The one everyday difference is `$` (and `\Z`): .NET matches it at the end *or before
//! a final `\n`*, Rust only at the end. The two agree unless the input ends with `\n`, so a second, translated
//! regex (`$` → `(?=\n?\z)`) is compiled and used only for such inputs; the common case stays on the fast path.
//!
//! Patterns are interned by source text ([`Pattern::shared`]): flags that use the same regex (an email domain, a
//! version scheme) share one compiled automaton and one set of matching caches. A 3,000-flag sync otherwise walks
//! hundreds of separately allocated caches, and that memory traffic, not matching, was most of its cost.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};

use fancy_regex::{Regex, RegexBuilder};

/// Bound on backtracking steps per match: a catastrophic pattern (`(a+)+$` on a long input) gives up within
/// about a millisecond and counts as "no match" instead of stalling the node (.NET ELS has no timeout at all).
const BACKTRACK_LIMIT: usize = 100_000;

/// What `$`/`\Z` become when the input ends with a newline: end, or before one final `\n`.
const DOTNET_END: &str = r"(?=\n?\z)";

/// Compiled patterns by source text. Entries are weak, so a pattern no flag uses any more is freed with its last
/// flag; dead entries are swept whenever the map has doubled since the last sweep.
struct Interner {
    patterns: HashMap<Box<str>, Weak<Pattern>>,
    sweep_at: usize,
}

static INTERNED: LazyLock<Mutex<Interner>> =
    LazyLock::new(|| Mutex::new(Interner { patterns: HashMap::new(), sweep_at: 64 }));

/// A compiled user pattern.
#[derive(Debug)]
pub(crate) struct Pattern {
    /// The pattern as written; exact for inputs that do not end with `\n`.
    plain: Regex,
    /// The `$`-translated pattern, present only if the pattern has an end anchor whose meaning differs.
    before_final_newline: Option<Regex>,
}

impl Pattern {
    /// The compiled `pattern`, shared with every other condition that uses the same text; `None` if it is invalid.
    /// Compiling happens under the interner's lock: flags are compiled when loaded or changed, never per request.
    pub(crate) fn shared(pattern: &str) -> Option<Arc<Self>> {
        let mut interner = INTERNED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(live) = interner.patterns.get(pattern).and_then(Weak::upgrade) {
            return Some(live);
        }
        let compiled = Arc::new(Self::compile(pattern)?);
        interner.patterns.insert(pattern.into(), Arc::downgrade(&compiled));
        if interner.patterns.len() >= interner.sweep_at {
            interner.patterns.retain(|_, p| p.strong_count() > 0);
            interner.sweep_at = (interner.patterns.len() * 2).max(64);
        }
        Some(compiled)
    }

    /// Compiles `pattern`; `None` if it is invalid (the condition then never matches).
    pub(crate) fn compile(pattern: &str) -> Option<Self> {
        let plain = build(pattern)?;
        let before_final_newline = match translate_end_anchors(pattern) {
            Some(translated) => Some(build(&translated)?),
            None => None,
        };
        Some(Self { plain, before_final_newline })
    }

    /// Unanchored search; a search that exceeds the backtracking bound counts as no match.
    pub(crate) fn is_match(&self, input: &str) -> bool {
        let re = match &self.before_final_newline {
            Some(re) if input.ends_with('\n') => re,
            _ => &self.plain,
        };
        re.is_match(input).unwrap_or(false)
    }
}

fn build(pattern: &str) -> Option<Regex> {
    RegexBuilder::new(pattern).backtrack_limit(BACKTRACK_LIMIT).build().ok()
}

/// Rewrites `$` and `\Z` outside character classes to [`DOTNET_END`]; `None` if there is nothing to rewrite, or
/// if the pattern switches on multi-line mode inline (there `$` already means "before any `\n`" in both engines).
fn translate_end_anchors(pattern: &str) -> Option<String> {
    if enables_multiline(pattern) {
        return None;
    }
    let mut out = String::with_capacity(pattern.len() + 16);
    let (mut changed, mut in_class, mut class_start) = (false, false, false);
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        let at_class_start = std::mem::take(&mut class_start);
        match c {
            '\\' => match chars.next() {
                Some('Z') if !in_class => {
                    out.push_str(DOTNET_END);
                    changed = true;
                }
                Some(next) => {
                    out.push('\\');
                    out.push(next);
                }
                None => out.push('\\'),
            },
            '$' if !in_class => {
                out.push_str(DOTNET_END);
                changed = true;
            }
            '[' if !in_class => {
                in_class = true;
                class_start = true;
                out.push(c);
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
            }
            // A `]` right after `[` or `[^` is a literal in both dialects.
            ']' if in_class && !at_class_start => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    changed.then_some(out)
}

/// Whether an inline option group such as `(?m)` or `(?im:` turns multi-line mode on.
fn enables_multiline(pattern: &str) -> bool {
    pattern.match_indices("(?").any(|(i, _)| {
        let flags = pattern[i + 2..].split([':', ')']).next().unwrap_or("");
        let on = flags.split('-').next().unwrap_or("");
        on.chars().all(|c| c.is_ascii_alphabetic()) && on.contains('m')
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::Pattern;

    fn is_match(pattern: &str, input: &str) -> bool {
        Pattern::compile(pattern).expect("valid pattern").is_match(input)
    }

    #[test]
    fn searches_unanchored() {
        assert!(is_match("b+", "abbbc"));
        assert!(!is_match("^b", "abc"));
    }

    #[test]
    fn dollar_matches_before_a_final_newline_like_dotnet() {
        assert!(is_match("abc$", "abc\n"));
        assert!(is_match(r"abc\Z", "abc\n"));
        assert!(!is_match("abc$", "abc\n\n"));
        assert!(!is_match(r"abc\z", "abc\n"));
        assert!(is_match("abc$", "abc"));
        assert!(is_match("[$]", "a$\n"));
        assert!(is_match(r"\$$", "a$\n"));
    }

    #[test]
    fn supports_dotnet_constructs() {
        assert!(is_match(r"^(?=.*\d)(?<w>[a-z]+)\k<w>", "abab1"));
        assert!(is_match(r"(?<!x)y", "ay"));
        assert!(is_match(r"(a)\1", "xaa"));
    }

    #[test]
    fn invalid_patterns_do_not_compile() {
        assert!(Pattern::compile("a(").is_none());
        assert!(Pattern::compile("[z-a]").is_none());
    }

    #[test]
    fn equal_texts_share_one_compiled_pattern_until_the_last_user_drops_it() {
        let text = "^shared-[0-9]+$";
        let (a, b) = (Pattern::shared(text).expect("valid"), Pattern::shared(text).expect("valid"));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &Pattern::shared("^other$").expect("valid")));
        let weak = Arc::downgrade(&a);
        drop((a, b));
        assert!(weak.upgrade().is_none(), "the interner must not keep unused patterns alive");
        assert!(Pattern::shared(text).expect("valid").is_match("shared-42"));
        assert!(Pattern::shared("a(").is_none());
    }

    #[test]
    fn catastrophic_backtracking_gives_up_as_no_match() {
        let input = format!("{}!", "a".repeat(40));
        assert!(!is_match(r"^(a+)+\1$", &input));
    }
}
