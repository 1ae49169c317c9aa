//! Errors as text for reports, manifests and messages.

/// An error and its causes on one line, `outer: cause: root cause`: what a report, a
/// manifest's `errors` or a check's detail shows of a failure.
pub fn text(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    #[derive(Debug, thiserror::Error)]
    #[error("reading DG2")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn causes_follow_on_one_line() {
        let e = Outer(std::io::Error::other("card removed"));
        assert_eq!(super::text(&e), "reading DG2: card removed");
        assert_eq!(super::text(&std::io::Error::other("alone")), "alone");
    }
}
