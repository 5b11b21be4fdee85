//! `scripts/build-bpf.sh`: rebuilds the repository's committed BPF objects
//! reproducibly, or with `--check` fails listing every committed object that
//! differs from what its source gives (see `bpfkit_build::committed`).

use bpfkit_build::committed::{check_committed, rebuild_committed};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn relative<'a>(path: &'a Path, root: &Path) -> &'a Path {
    path.strip_prefix(root).unwrap_or(path)
}

fn run(root: &Path, check: bool) -> Result<bool, String> {
    if !check {
        for object in rebuild_committed(root).map_err(|e| e.to_string())? {
            println!("built {}", relative(&object, root).display());
        }
        return Ok(true);
    }
    let stale = check_committed(root).map_err(|e| e.to_string())?;
    if !stale.is_empty() {
        eprintln!("committed BPF objects differ from their sources (run scripts/build-bpf.sh):");
        for object in &stale {
            eprintln!("  {}", relative(object, root).display());
        }
    }
    Ok(stale.is_empty())
}

fn main() -> ExitCode {
    let check = std::env::args().skip(1).any(|a| a == "--check");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = std::fs::canonicalize(&root).unwrap_or(root);
    match run(&root, check) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("build-bpf: {e}");
            ExitCode::FAILURE
        }
    }
}
