//! `berth build --progress`: how the build's output is shown.
//!
//! `plain` prints the legacy builder's text as the daemon sends it. `tty` keeps the
//! step lines (`Step N/M : ...`, ` ---> ...`, `Successfully ...`) and shows a running
//! step's output on one status line rewritten in place; when the build fails, the failing
//! step's whole output is printed before the error. `quiet` prints the image id alone.
//! `auto` is `tty` on a terminal, `plain` otherwise.

use std::io::{self, IsTerminal, Write};

use clap::ValueEnum;

/// How to show progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Progress {
    /// `tty` when stdout is a terminal, else `plain`.
    Auto,
    /// The legacy builder's lines, as they come.
    Plain,
    /// Step lines kept, step output on one line rewritten in place.
    Tty,
    /// The image id alone.
    Quiet,
}

impl Progress {
    /// `auto` decided for this process's stdout.
    pub fn resolve(self) -> Progress {
        match self {
            Progress::Auto if io::stdout().is_terminal() => Progress::Tty,
            Progress::Auto => Progress::Plain,
            other => other,
        }
    }
}

/// The widest status line shown (a step's output line is cut to it).
const STATUS_WIDTH: usize = 100;

/// Renders the stream's text to `out` in one mode.
pub struct Renderer<W: Write> {
    out: W,
    tty: bool,
    /// A line not yet ended by `\n`.
    partial: String,
    /// The running step's output lines (tty: replayed when the build fails).
    step_output: Vec<String>,
    /// Whether a status line is on screen.
    status_shown: bool,
}

impl<W: Write> Renderer<W> {
    /// A renderer for `mode` (`plain` or `tty`; `auto` must be resolved first).
    pub fn new(out: W, mode: Progress) -> Self {
        Renderer {
            out,
            tty: mode == Progress::Tty,
            partial: String::new(),
            step_output: Vec::new(),
            status_shown: false,
        }
    }

    /// A chunk of the stream's text (any number of lines, maybe a partial one).
    pub fn text(&mut self, chunk: &str) -> io::Result<()> {
        if !self.tty {
            self.out.write_all(chunk.as_bytes())?;
            return self.out.flush();
        }
        self.partial.push_str(chunk);
        while let Some(end) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=end).collect();
            self.line(line.trim_end_matches('\n'))?;
        }
        self.out.flush()
    }

    fn line(&mut self, line: &str) -> io::Result<()> {
        let structural = line.starts_with("Step ")
            || line.starts_with(" ---> ")
            || line.starts_with("Successfully ")
            || line.starts_with("[Warning]")
            || line.starts_with("Removing intermediate container");
        if structural {
            self.clear_status()?;
            if line.starts_with("Step ") {
                self.step_output.clear();
            }
            return writeln!(self.out, "{line}");
        }
        self.step_output.push(line.to_string());
        let shown: String = line.chars().take(STATUS_WIDTH).collect();
        // Carriage return and erase-line: the status line is rewritten in place.
        write!(self.out, "\r\x1b[2K  > {shown}")?;
        self.status_shown = true;
        Ok(())
    }

    fn clear_status(&mut self) -> io::Result<()> {
        if self.status_shown {
            write!(self.out, "\r\x1b[2K")?;
            self.status_shown = false;
        }
        Ok(())
    }

    /// The stream ended: the rest of a partial line; on failure (tty), the failing step's
    /// whole output, which the status line showed only in part.
    pub fn finish(&mut self, failed: bool) -> io::Result<()> {
        if !self.tty {
            return self.out.flush();
        }
        if !self.partial.is_empty() {
            let rest = std::mem::take(&mut self.partial);
            self.line(&rest)?;
        }
        self.clear_status()?;
        if failed {
            for line in &self.step_output {
                writeln!(self.out, "{line}")?;
            }
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(mode: Progress, chunks: &[&str], failed: bool) -> String {
        let mut out = Vec::new();
        let mut renderer = Renderer::new(&mut out, mode);
        for chunk in chunks {
            renderer.text(chunk).unwrap();
        }
        renderer.finish(failed).unwrap();
        String::from_utf8(out).unwrap()
    }

    const BUILD: &[&str] = &[
        "Step 1/2 : FROM busybox\n",
        " ---> 0123456789ab\n",
        "Step 2/2 : RUN make\n",
        " ---> Running in 1234\n",
        "compiling a\ncompil",
        "ing b\n",
        " ---> ba9876543210\n",
        "Successfully built ba9876543210\n",
    ];

    #[test]
    fn plain_is_the_legacy_builders_text() {
        assert_eq!(render(Progress::Plain, BUILD, false), BUILD.concat());
    }

    #[test]
    fn tty_rewrites_step_output_on_one_line() {
        let text = render(Progress::Tty, BUILD, false);
        assert_eq!(
            text,
            "Step 1/2 : FROM busybox\n ---> 0123456789ab\nStep 2/2 : RUN make\n ---> Running in 1234\n\
             \r\x1b[2K  > compiling a\r\x1b[2K  > compiling b\r\x1b[2K ---> ba9876543210\n\
             Successfully built ba9876543210\n"
        );
    }

    #[test]
    fn tty_replays_the_failing_steps_output() {
        let chunks = &BUILD[..5];
        let text = render(Progress::Tty, chunks, true);
        assert!(
            text.ends_with("\r\x1b[2K  > compil\r\x1b[2Kcompiling a\ncompil\n"),
            "{text:?}"
        );
    }

    #[test]
    fn tty_cuts_long_output_lines() {
        let long = format!("{}\n", "x".repeat(300));
        let text = render(Progress::Tty, &[&long], false);
        assert_eq!(text, format!("\r\x1b[2K  > {}\r\x1b[2K", "x".repeat(100)));
    }
}
