//! Progress for `verify` on a terminal (indicatif): which plugin of how many, a spinner while a
//! crate builds, a bar over the corpus stage's events (both passes) and the property stage's
//! generated events, and a spinner while a failure shrinks. Drawn on stderr only when stderr
//! is a terminal; otherwise nothing at all (no bar, no carriage returns), and the stages are
//! given no sink. Without colour when `NO_COLOR` is set.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::model::json::one_line;
use crate::stages::{ProgressSink, StageProgress};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Spinner,
    Bar,
}

#[derive(Clone)]
struct Drawn {
    bar: ProgressBar,
    mode: Arc<Mutex<Mode>>,
    color: bool,
}

/// The progress display of one `verify` run.
pub struct ProgressDisplay {
    drawn: Option<Drawn>,
}

/// Whether colour is wanted: as `--color` says (anstream's global choice), and on `auto` not
/// when `NO_COLOR` is set to anything but the empty string.
pub fn color_wanted() -> bool {
    match anstream::ColorChoice::global() {
        anstream::ColorChoice::Never => false,
        anstream::ColorChoice::Always | anstream::ColorChoice::AlwaysAnsi => true,
        anstream::ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
        }
    }
}

impl ProgressDisplay {
    /// A display drawn on stderr when `terminal` (stderr is a terminal), else one that draws
    /// nothing; coloured when `color`.
    pub fn new(terminal: bool, color: bool) -> ProgressDisplay {
        let drawn = terminal.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(style(Mode::Spinner, color));
            bar.enable_steady_tick(Duration::from_millis(120));
            Drawn {
                bar,
                mode: Arc::new(Mutex::new(Mode::Spinner)),
                color,
            }
        });
        ProgressDisplay { drawn }
    }

    /// What the stages report to: this display, or nowhere when nothing is drawn.
    pub fn sink(&self) -> ProgressSink {
        match &self.drawn {
            Some(drawn) => {
                let drawn = drawn.clone();
                ProgressSink::new(move |progress| drawn.stage(progress))
            }
            None => ProgressSink::default(),
        }
    }

    /// Plugin `index` (from 0) of `total` begins.
    pub fn plugin(&self, index: usize, total: usize, path: &Path) {
        if let Some(drawn) = &self.drawn {
            drawn.set_mode(Mode::Spinner);
            drawn.bar.set_prefix(format!("{}/{total}", index + 1));
            drawn.bar.set_message(format!(
                "verifying {}",
                one_line(&path.display().to_string())
            ));
        }
    }

    /// Runs `write` (which prints to stderr) with the progress line out of the way.
    pub fn suspend<R>(&self, write: impl FnOnce() -> R) -> R {
        match &self.drawn {
            Some(drawn) => drawn.bar.suspend(write),
            None => write(),
        }
    }

    /// Removes the progress line.
    pub fn finish(&self) {
        if let Some(drawn) = &self.drawn {
            drawn.bar.finish_and_clear();
        }
    }
}

impl Drawn {
    fn set_mode(&self, mode: Mode) {
        let mut current = self.mode.lock().unwrap_or_else(|e| e.into_inner());
        if *current != mode {
            *current = mode;
            self.bar.set_style(style(mode, self.color));
        }
    }

    fn stage(&self, progress: StageProgress<'_>) {
        match progress {
            StageProgress::Building { plugin } => {
                self.set_mode(Mode::Spinner);
                self.bar.set_message(format!(
                    "building {} (cargo, in the sandbox)",
                    one_line(plugin)
                ));
            }
            StageProgress::Step { stage, done, total } => {
                self.set_mode(Mode::Bar);
                self.bar.set_length(total);
                self.bar.set_message(stage.name());
                self.bar.set_position(done);
            }
            StageProgress::Shrinking { steps } => {
                self.set_mode(Mode::Spinner);
                self.bar.set_message(format!(
                    "property: shrinking a failing event ({steps} candidates)"
                ));
            }
        }
    }
}

fn style(mode: Mode, color: bool) -> ProgressStyle {
    let template = match (mode, color) {
        (Mode::Spinner, true) => "{spinner:.cyan} {prefix:.bold} {msg} {elapsed:.dim}",
        (Mode::Spinner, false) => "{spinner} {prefix} {msg} {elapsed}",
        (Mode::Bar, true) => {
            "{spinner:.cyan} {prefix:.bold} {msg:8} [{bar:30.cyan/blue}] {pos}/{len} {elapsed:.dim}"
        }
        (Mode::Bar, false) => "{spinner} {prefix} {msg:8} [{bar:30}] {pos}/{len} {elapsed}",
    };
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .progress_chars("=> ")
}
