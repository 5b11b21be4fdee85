//! What users of bpftool and bcc expect of a command-line tool: `-V`,
//! shell completions that load (and complete tools and their options), and
//! man pages for every command and tool that render without warnings.

mod common;

use common::{BPFKIT, output};
use std::path::Path;
use std::process::Command;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Status, stdout and stderr of `bpfkit args`.
fn bpfkit(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BPFKIT)
        .args(args)
        .output()
        .expect("running bpfkit");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn version_flags_print_name_and_version() {
    for flag in ["-V", "--version"] {
        assert_eq!(
            bpfkit(&[flag]),
            (0, format!("bpfkit {VERSION}\n"), String::new())
        );
        // argp's form, which libbpf-tools print.
        let tool = bpfkit(&["execsnoop", flag]);
        assert_eq!(
            tool,
            (0, format!("execsnoop (bpfkit) {VERSION}\n"), String::new())
        );
    }
    let help = bpfkit(&["execsnoop", "--help"]).1;
    assert!(help.contains("  -V, --version"), "{help}");
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let (code, stdout, stderr) = bpfkit(&["completions", "tcsh"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("invalid value 'tcsh'"), "{stderr}");
}

/// What bash completes for the command line `words` (the cursor at the end
/// of the last word), with bpfkit's script loaded.
fn bash_completions(bash: &Path, words: &[&str]) -> Vec<String> {
    let line = words.join(" ");
    let script = format!(
        "set -e; source <('{BPFKIT}' completions bash); complete -p bpfkit >/dev/null; \
         COMP_WORDS=({line}); COMP_CWORD={cword}; COMP_LINE='{line}'; COMP_POINT={point}; \
         _bpfkit bpfkit '{last}' '{prev}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        cword = words.len() - 1,
        point = line.len(),
        last = words[words.len() - 1],
        prev = words[words.len() - 2],
    );
    let out = Command::new(bash)
        .args(["-c", &script])
        .output()
        .expect("running bash");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.is_empty(), "{stderr}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .collect()
}

#[test]
fn bash_completes_commands_tools_and_their_options() {
    let Some(bash) =
        bpfkit_testkit::peer_tool("bash_completes_commands_tools_and_their_options", "bash")
    else {
        return;
    };
    let commands = bash_completions(&bash, &["bpfkit", ""]);
    for expected in ["run", "btf", "man", "completions", "execsnoop", "tcprtt"] {
        assert!(
            commands.iter().any(|c| c == expected),
            "{expected}: {commands:?}"
        );
    }
    assert_eq!(bash_completions(&bash, &["bpfkit", "execs"]), ["execsnoop"]);
    assert_eq!(
        bash_completions(&bash, &["bpfkit", "execsnoop", "--max-a"]),
        ["--max-args"]
    );
    assert_eq!(
        bash_completions(&bash, &["bpfkit", "run", "x.o", "--no-pr"]),
        ["--no-printk"]
    );
}

/// Checks a zsh or fish script with the shell's own parser (`-n`).
fn syntax_checked(test: &str, shell: &str) {
    let script = output(BPFKIT, &["completions", shell]);
    // The tools and their options are in the script.
    assert!(
        script.contains("execsnoop") && script.contains("max-args"),
        "{script}"
    );
    let Some(path) = bpfkit_testkit::peer_tool(test, shell) else {
        return;
    };
    let dir = bpfkit_testkit::TempDir::new(test);
    let file = dir.write(&format!("bpfkit.{shell}"), &script);
    let out = Command::new(path)
        .arg("-n")
        .arg(&file)
        .output()
        .expect("running the shell");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.is_empty(),
        "{shell} -n: {stderr}"
    );
}

#[test]
fn zsh_completion_script_parses() {
    syntax_checked("zsh_completion_script_parses", "zsh");
}

#[test]
fn fish_completion_script_parses() {
    syntax_checked("fish_completion_script_parses", "fish");
}

#[test]
fn every_command_and_tool_has_a_man_page_that_renders() {
    let test = "every_command_and_tool_has_a_man_page_that_renders";
    let dir = bpfkit_testkit::TempDir::new(test);
    let out_dir = dir.path().join("man1");
    let (code, _, stderr) = bpfkit(&["man", "--out", &out_dir.to_string_lossy()]);
    assert_eq!(code, 0, "{stderr}");
    let mut pages: Vec<String> = std::fs::read_dir(&out_dir)
        .expect("the man directory")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    pages.sort();
    let mut expected: Vec<String> = [
        "argdist",
        "btf",
        "btf-dump",
        "btf-list",
        "build",
        "cgroup",
        "completions",
        "feature",
        "funccount",
        "funclatency",
        "link",
        "man",
        "map",
        "net",
        "perf",
        "prog",
        "run",
        "serve",
        "stackcount",
        "tools",
        "top",
        "trace",
    ]
    .iter()
    .map(|c| format!("bpfkit-{c}.1"))
    .chain(
        bpfkit_tools::all()
            .iter()
            .map(|t| format!("bpfkit-{}.1", t.name)),
    )
    .chain(["bpfkit.1".to_string()])
    .collect();
    expected.sort();
    assert_eq!(pages, expected);
    let Some(groff) = bpfkit_testkit::peer_tool(test, "groff") else {
        return;
    };
    for page in &pages {
        let text = render(&groff, &out_dir.join(page));
        assert!(
            text.contains("NAME") && text.contains("SYNOPSIS"),
            "{page}: {text}"
        );
    }
    // A tool's page has its options (defaults too) and its spec's examples.
    let runqlat = render(&groff, &out_dir.join("bpfkit-runqlat.1"));
    for expected in [
        "--milliseconds",
        "--json",
        "--version",
        "EXAMPLES",
        "runqlat -mT 1",
    ] {
        assert!(runqlat.contains(expected), "{expected}: {runqlat}");
    }
    // `run`'s page has the options every run takes.
    let run = render(&groff, &out_dir.join("bpfkit-run.1"));
    assert!(
        run.contains("--no-printk") && run.contains("--duration"),
        "{run}"
    );
}

/// The page as text; groff's warnings (`-ww`) fail the test.
fn render(groff: &Path, page: &Path) -> String {
    let out = Command::new(groff)
        .args(["-man", "-Tutf8", "-ww", "-P-cbou"])
        .arg(page)
        .env("LC_ALL", "C.UTF-8")
        .output()
        .expect("running groff");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.is_empty(),
        "{}: {stderr}",
        page.display()
    );
    // Bold and hyphens as plain ASCII, for matching.
    String::from_utf8_lossy(&out.stdout).replace(['\u{2010}', '\u{2212}'], "-")
}

#[test]
fn man_into_a_file_is_one_clear_error() {
    let (code, stdout, stderr) = bpfkit(&["man", "--out", "/proc/version/man1"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.starts_with("bpfkit: creating /proc/version/man1"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
