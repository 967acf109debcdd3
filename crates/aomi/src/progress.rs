//! The progress bar of `aomi bench` and `aomi eval` (drawn on stderr, hidden when it is not a terminal).

use indicatif::{ProgressBar, ProgressStyle};

/// A bar counting `unit`; its length is set by the run.
pub fn bar(unit: &str) -> ProgressBar {
    let bar = ProgressBar::new(0);
    let template = format!("{{spinner}} {{msg:24}} [{{bar:40}}] {{pos}}/{{len}} {unit} {{elapsed}}");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// A counter of `unit` for runs of a set time rather than a set number (no bar).
pub fn counter(unit: &str) -> ProgressBar {
    let counter = ProgressBar::new_spinner();
    let template = format!("{{spinner}} {{msg:24}} {{pos}} {unit} {{elapsed}}");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        counter.set_style(style);
    }
    counter
}
