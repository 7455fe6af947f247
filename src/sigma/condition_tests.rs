use super::*;

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn id(s: &str) -> Cond {
    Cond::Id(s.into())
}

#[test]
fn precedence_or_and_not() {
    assert_eq!(
        parse("a or b and not c").unwrap(),
        Cond::Or(vec![
            id("a"),
            Cond::And(vec![id("b"), Cond::Not(Box::new(id("c")))])
        ])
    );
    assert_eq!(
        parse("(a or b) and c").unwrap(),
        Cond::And(vec![Cond::Or(vec![id("a"), id("b")]), id("c")])
    );
    assert_eq!(
        parse("not not a").unwrap(),
        Cond::Not(Box::new(Cond::Not(Box::new(id("a")))))
    );
    assert_eq!(
        parse("selection and not 1 of filter_*").unwrap(),
        Cond::And(vec![
            id("selection"),
            Cond::Not(Box::new(Cond::Of {
                all: false,
                pattern: "filter_*".into()
            }))
        ])
    );
}

#[test]
fn keywords_inside_names_are_names() {
    assert_eq!(
        parse("notsel and order").unwrap(),
        Cond::And(vec![id("notsel"), id("order")])
    );
    assert_eq!(parse("sel-1").unwrap(), id("sel-1"));
}

#[test]
fn syntax_errors() {
    for bad in [
        "",
        "a and",
        "(a",
        "a)",
        "a b",
        "1 of",
        "not",
        "a | count() > 5",
        "a & b",
        "sel*",
        "and a",
    ] {
        assert!(parse(bad).is_err(), "{bad:?} should be rejected");
    }
    let deep = format!("{}a{}", "(".repeat(100), ")".repeat(100));
    assert!(parse(&deep).unwrap_err().contains("deeper"));
}

#[test]
fn selectors_and_them() {
    let n = names(&["selection", "sel_a", "filter_1", "_hidden", "filter_2"]);
    let r = |s: &str| resolve(&parse(s).unwrap(), &n);
    assert_eq!(
        r("1 of them").unwrap(),
        Logic::Or(vec![
            Logic::Search(0),
            Logic::Search(1),
            Logic::Search(2),
            Logic::Search(4)
        ])
    );
    assert_eq!(
        r("all of filter_*").unwrap(),
        Logic::And(vec![Logic::Search(2), Logic::Search(4)])
    );
    assert_eq!(
        r("any of sel*").unwrap(),
        Logic::Or(vec![Logic::Search(0), Logic::Search(1)])
    );
    assert_eq!(r("1 of _h*").unwrap(), Logic::Or(vec![Logic::Search(3)]));
    assert_eq!(r("1 of *_1").unwrap(), Logic::Or(vec![Logic::Search(2)]));
    assert!(r("1 of nothing*")
        .unwrap_err()
        .contains("matches no search identifier"));
    assert!(r("missing")
        .unwrap_err()
        .contains("not a search identifier"));
}

#[test]
fn name_patterns() {
    assert!(selects("a*b*c", "a_x_b_y_c"));
    assert!(!selects("a*b*c", "a_x_c"));
    assert!(selects("*", "x"));
    assert!(!selects("*", "_x"));
    assert!(selects("sel", "sel"));
    assert!(!selects("sel", "sel2"));
    assert!(selects("a*a", "aa"));
    assert!(!selects("a*a", "a"));
}
