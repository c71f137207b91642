//! Rust names for manifest names, and "did you mean" suggestions.

/// The Rust variant name derived from a manifest name.
///
/// The name is split into words on every character that is not an ASCII
/// letter or digit; each word gets a capital first letter and the words are
/// joined, with `_` between two words when the first ends and the second
/// starts with a digit (`gpt-4.1` is `Gpt4_1`, not the ambiguous `Gpt41`). A
/// name starting with a digit gets `prefix` in front (`M` for models, `P` for
/// providers), since an identifier cannot start with one.
///
/// The result is not checked: a name without any letter or digit gives an
/// empty string, which the caller reports.
pub fn variant_name(name: &str, prefix: char) -> String {
    let mut ident = String::with_capacity(name.len() + 1);
    for word in name.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = word.chars();
        let Some(first) = chars.next() else {
            continue;
        };
        if ident.ends_with(|c: char| c.is_ascii_digit()) && first.is_ascii_digit() {
            ident.push('_');
        }
        ident.push(first.to_ascii_uppercase());
        ident.push_str(chars.as_str());
    }
    if ident.starts_with(|c: char| c.is_ascii_digit()) {
        ident.insert(0, prefix);
    }
    ident
}

/// Whether `ident` can name an enum variant: an identifier, not a keyword.
pub fn is_valid_ident(ident: &str) -> bool {
    ident != "_" && syn::parse_str::<syn::Ident>(ident).is_ok()
}

/// The closest of `known` to `name`, if close enough to be a typo.
///
/// The same rule as llmax's crate-private `catalog::closest` (Jaro-Winkler
/// similarity of at least 0.8, best score wins), so that `model!("gpt-4oo")`
/// at compile time and `"gpt-4oo".parse::<Model>()` at run time suggest the
/// same name.
pub fn closest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(name, candidate), candidate))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

/// `` `a`, `b` or `c` ``: a list of choices for an error message.
pub fn one_of(choices: &[&str]) -> String {
    let quoted: Vec<String> = choices.iter().map(|c| format!("`{c}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variant_names_follow_the_readme() {
        assert_eq!(variant_name("gpt-4o", 'M'), "Gpt4o");
        assert_eq!(variant_name("gpt-4o-mini", 'M'), "Gpt4oMini");
        assert_eq!(variant_name("gpt-4.1-nano", 'M'), "Gpt4_1Nano");
        assert_eq!(
            variant_name("scaleway/llama-3.3-70b-instruct", 'M'),
            "ScalewayLlama3_3_70bInstruct"
        );
        assert_eq!(variant_name("openai-compatible", 'P'), "OpenaiCompatible");
        assert_eq!(variant_name("claude-3-5-sonnet", 'M'), "Claude3_5Sonnet");
        assert_eq!(variant_name("o1", 'M'), "O1");
        assert_eq!(variant_name("openai", 'P'), "Openai");
    }

    #[test]
    fn variant_names_keep_inner_case_and_skip_empty_words() {
        assert_eq!(variant_name("GPT--4o", 'M'), "GPT4o");
        assert_eq!(variant_name("-x-", 'M'), "X");
        assert_eq!(variant_name("qwen/qwen3_235b", 'M'), "QwenQwen3_235b");
        assert_eq!(variant_name("---", 'M'), "");
    }

    #[test]
    fn names_starting_with_a_digit_get_a_prefix() {
        assert_eq!(variant_name("01-ai/yi", 'M'), "M01AiYi");
        assert_eq!(variant_name("302ai", 'P'), "P302ai");
        assert_eq!(variant_name("4.5", 'M'), "M4_5");
    }

    #[test]
    fn derived_names_are_valid_idents() {
        for name in ["gpt-4o", "4o", "a.b.c", "Self-hosted"] {
            let ident = variant_name(name, 'M');
            assert!(is_valid_ident(&ident), "{name} -> {ident}");
        }
        assert!(!is_valid_ident(""));
        assert!(!is_valid_ident(&variant_name("self", 'M')));
        assert!(!is_valid_ident("_"));
        assert!(!is_valid_ident("a-b"));
    }

    #[test]
    fn closest_matches_the_runtime_rule() {
        let known = ["gpt-4o", "gpt-4o-mini", "claude-4.5-sonnet"];
        assert_eq!(closest("gpt-4oo", known), Some("gpt-4o"));
        assert_eq!(closest("gpt-4o-mimi", known), Some("gpt-4o-mini"));
        assert_eq!(closest("zzzzzz", known), None);
    }

    #[test]
    fn choices_read_as_a_sentence() {
        assert_eq!(one_of(&["a"]), "`a`");
        assert_eq!(one_of(&["a", "b"]), "`a` or `b`");
        assert_eq!(one_of(&["a", "b", "c"]), "`a`, `b` or `c`");
    }
}
