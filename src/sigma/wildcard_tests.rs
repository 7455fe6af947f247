use super::*;
use proptest::prelude::*;

fn matches(value: &str, hay: &str) -> bool {
    Pattern::compile(&SigmaStr::parse(value), false)
        .unwrap()
        .matches(hay)
}

fn cased(value: &str, hay: &str) -> bool {
    Pattern::compile(&SigmaStr::parse(value), true)
        .unwrap()
        .matches(hay)
}

#[test]
fn escapes_follow_the_spec() {
    let lit = |s: &str| SigmaStr::parse(s).plain();
    assert_eq!(lit(r"a\*b"), Some("a*b".into()));
    assert_eq!(lit(r"a\?b"), Some("a?b".into()));
    assert_eq!(lit(r"C:\Windows"), Some(r"C:\Windows".into()));
    assert_eq!(lit(r"C:\\Windows"), Some(r"C:\Windows".into()));
    assert_eq!(lit(r"a\\\\b"), Some(r"a\\b".into()));
    assert_eq!(lit(r"a\\\b"), Some(r"a\\b".into()));
    assert_eq!(lit(r"trailing\"), Some(r"trailing\".into()));
    assert_eq!(lit(r"a\\\*"), Some(r"a\*".into()));
    // `\\*` is a backslash followed by a wildcard.
    assert_eq!(
        SigmaStr::parse(r"a\\*").parts(),
        &[Part::Lit(r"a\".into()), Part::Star]
    );
    assert_eq!(SigmaStr::parse("a**b").parts().len(), 3);
}

#[test]
fn wildcards() {
    assert!(matches("Put*Policy", "PutUserPolicy"));
    assert!(matches("Put*Policy", "putpolicy"));
    assert!(!matches("Put*Policy", "PutUserPolicyX"));
    assert!(matches("us-east-?", "us-east-1"));
    assert!(!matches("us-east-?", "us-east-"));
    assert!(!matches("us-east-?", "us-east-12"));
    assert!(matches("*", ""));
    assert!(matches("a*b*c", "aXbYc"));
    assert!(matches("a*b*c", "abc"));
    assert!(!matches("a*b*c", "acb"));
    assert!(matches("*a?c*", "xxabcxx"));
    assert!(matches("?", "é"));
    assert!(!matches(r"q\?.csv", "q1.csv"));
    assert!(matches(r"q\?.csv", "q?.csv"));
}

#[test]
fn fast_paths_ignore_case() {
    assert!(matches("CreateUser", "createuser"));
    assert!(matches("create*", "CREATEUSER"));
    assert!(matches("*USER", "createuser"));
    assert!(matches("*EAT*", "createuser"));
    assert!(!matches("*eaT*", "crate"));
    assert!(matches("", ""));
    assert!(!matches("", "x"));
    assert!(matches("*9-x*", "a 9-X b"));
}

#[test]
fn unicode_case_folding() {
    assert!(matches("Überprüfung", "ÜBERPRÜFUNG"));
    assert!(matches("*prüf*", "ÜBERPRÜFUNG"));
    assert!(matches("ΟΔΟΣ", "οδος"));
    assert!(matches("οδοσ*", "ΟΔΟΣ"));
    assert!(matches("*FUNG", "überprüfung"));
    assert!(matches("Ü?ER*", "übERprüfung"));
    assert!(!matches("Überprüfung", "Uberprufung"));
}

#[test]
fn cased_patterns() {
    assert!(cased("TruffleHog", "TruffleHog"));
    assert!(!cased("TruffleHog", "trufflehog"));
    assert!(cased("*Hog*", "TruffleHog v3"));
    assert!(!cased("*hog*", "TruffleHog v3"));
    assert!(cased("aws-cli/*", "aws-cli/2"));
    assert!(!cased("aws-cli/*", "AWS-CLI/2"));
    assert!(cased("a?c", "abc"));
}

#[test]
fn windash_positions() {
    let w = SigmaStr::parse(" -EncodedCommand x-y /a").windash();
    let p = Pattern::compile(&w, false).unwrap();
    assert!(p.matches(" -EncodedCommand x-y /a"));
    assert!(p.matches(" /EncodedCommand x-y -a"));
    assert!(p.matches(" \u{2013}encodedcommand x-y \u{2015}a"));
    // A dash inside a word is not a flag.
    assert!(!p.matches(" -EncodedCommand x/y /a"));
    // At the start of the value, a dash followed by a word character is a flag.
    let start = Pattern::compile(&SigmaStr::parse("-foo").windash(), false).unwrap();
    assert!(start.matches("/foo"));
    assert!(!start.matches("xfoo"));
}

#[test]
fn placeholders() {
    let s = SigmaStr::parse(r"pre%name%post").insert_placeholders();
    assert_eq!(
        s.parts(),
        &[
            Part::Lit("pre".into()),
            Part::Placeholder("name".into()),
            Part::Lit("post".into()),
        ]
    );
    assert!(Pattern::compile(&s, false).is_err());
    // The spec's example: `\%` is a plain percent sign.
    let s = SigmaStr::parse(r"\%plain%name%").insert_placeholders();
    assert_eq!(
        s.parts(),
        &[Part::Lit("%plain".into()), Part::Placeholder("name".into())]
    );
    // A lone percent sign, or an empty name, is text.
    for text in ["a%%b", "100%", "%a\\b%"] {
        let plain = SigmaStr::parse(text).insert_placeholders();
        assert_eq!(
            plain.parts(),
            &[Part::Lit(SigmaStr::parse(text).plain().unwrap())]
        );
    }
}

/// The reference: the same pattern as a regular expression.
fn reference(value: &SigmaStr, hay: &str) -> bool {
    let mut re = String::from("(?is)^");
    for part in value.parts() {
        match part {
            Part::Lit(t) => re.push_str(&regex::escape(t)),
            Part::Star => re.push_str(".*"),
            Part::One => re.push('.'),
            Part::Dash => re.push_str("[-/\u{2013}\u{2014}\u{2015}]"),
            Part::Placeholder(_) => unreachable!(),
        }
    }
    re.push('$');
    regex::Regex::new(&re).unwrap().is_match(hay)
}

proptest! {
    #[test]
    fn matcher_agrees_with_a_regex(value in r"[ab*?\\-]{0,7}", hay in r"[aAbB\-/*?\\]{0,9}") {
        let s = SigmaStr::parse(&value).windash();
        let p = Pattern::compile(&s, false).unwrap();
        prop_assert_eq!(p.matches(&hay), reference(&s, &hay), "value {:?} hay {:?}", value, hay);
    }

    #[test]
    fn contains_agrees_with_a_regex(needle in "[aAbé]{0,4}", hay in "[aAbBéÉ]{0,10}") {
        let mut s = SigmaStr::literal(&needle);
        s.prepend_star();
        s.append_star();
        let p = Pattern::compile(&s, false).unwrap();
        prop_assert_eq!(p.matches(&hay), reference(&s, &hay));
    }
}
