//! bpfkit-build: compiles a libbpf-style `PROG.bpf.c` into a BPF object.
//!
//! [`build`] runs clang with CO-RE flags against a `vmlinux.h` (generated
//! from the running kernel's BTF and cached, or a pinned one), makes sure
//! the program's own types (event structs used only through local pointers)
//! are in the object's BTF, and strips DWARF while keeping `.BTF` and
//! `.BTF.ext`. [`build_cached`] does the same into a content-addressed cache
//! for `bpfkit run PROG.bpf.c`.

mod cache;
pub mod committed;
pub mod elf;
pub mod own_types;
pub mod toolchain;
pub mod vmlinux;

pub use toolchain::{INSTALL_HINT, find_clang};
pub use vmlinux::generate_vmlinux_h;

use own_types::OwnType;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

/// Bumped whenever post-processing changes, so cached objects from an older
/// bpfkit are not reused.
const PIPELINE_VERSION: &str = "1";

/// What to build and how; [`BuildOptions::new`] gives the defaults that
/// suit `bpfkit build PROG.bpf.c`.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The `.bpf.c` file.
    pub source: PathBuf,
    /// Where to write the object; default: next to the source, `.bpf.c`
    /// replaced by `.bpf.o`.
    pub output: Option<PathBuf>,
    /// Extra `-I` directories.
    pub include_dirs: Vec<PathBuf>,
    /// Extra `-D` definitions (`NAME` or `NAME=VALUE`).
    pub defines: Vec<String>,
    /// A pinned `vmlinux.h` to use instead of generating one from the
    /// running kernel. Its directory goes on the include path, so programs
    /// find it with `#include "vmlinux.h"` when the file has that name.
    pub vmlinux_header: Option<PathBuf>,
    /// The clang binary; default: `$BPFKIT_CLANG`, then clang, clang-19,
    /// clang-16, clang-14 on PATH.
    pub clang: Option<PathBuf>,
    /// `-mcpu` value; default: `v3` when the running kernel is 5.1 or newer.
    /// Fix it (e.g. to `v3`) for objects that must not depend on the
    /// building machine.
    pub cpu: Option<String>,
    /// `__TARGET_ARCH_*` value (`x86`, `arm64`, ...); default: the host's.
    pub target_arch: Option<String>,
    /// Cache root for [`build_cached`] and the generated vmlinux.h; default:
    /// `$XDG_CACHE_HOME/bpfkit` or `~/.cache/bpfkit`.
    pub cache_dir: Option<PathBuf>,
}

impl BuildOptions {
    /// Options with every default, for `source`.
    pub fn new(source: impl Into<PathBuf>) -> BuildOptions {
        BuildOptions {
            source: source.into(),
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone)]
pub struct BuildOutput {
    /// The object written.
    pub object: PathBuf,
    /// The clang that compiled it.
    pub clang: PathBuf,
    /// The `vmlinux.h` it was compiled against.
    pub vmlinux_header: PathBuf,
    /// Own types that clang left out of BTF and that were added
    /// (`struct event`, ...).
    pub own_types_added: Vec<String>,
    /// Size of `.BTF` as clang wrote it and after own types were added.
    pub btf_size_before: usize,
    pub btf_size_after: usize,
    /// Things that did not stop the build but are worth telling the user.
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// clang or libbpf headers are missing; the message ends with the
    /// install command.
    #[error("{0}")]
    MissingToolchain(String),
    #[error("clang could not compile {} ({status}); its messages are above", file.display())]
    Compile { file: PathBuf, status: ExitStatus },
    #[error("could not run {}: {source}", program.display())]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot get vmlinux.h: {0}")]
    Vmlinux(String),
    #[error("cannot post-process {}: {message}", path.display())]
    Object { path: PathBuf, message: String },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl BuildError {
    pub(crate) fn io(what: String, source: std::io::Error) -> BuildError {
        BuildError::Io { what, source }
    }
}

/// Compiles `opts.source` into a BPF object (see the crate docs).
pub fn build(opts: &BuildOptions) -> Result<BuildOutput, BuildError> {
    let clang = find_clang(opts.clang.as_deref())?;
    toolchain::check_libbpf_headers(&opts.include_dirs)?;
    let source = std::fs::canonicalize(&opts.source)
        .map_err(|e| BuildError::io(format!("reading {}", opts.source.display()), e))?;
    let header = match &opts.vmlinux_header {
        Some(h) => h.clone(),
        None => vmlinux::running_kernel_header(opts.cache_dir.as_deref())?,
    };
    let output = opts
        .output
        .clone()
        .unwrap_or_else(|| default_output(&opts.source));
    let flags = compile_flags(opts, &source, &header);

    let raw_object = compile(&clang, &flags, &source, &output)?;
    let object_error = |message: String| BuildError::Object {
        path: output.clone(),
        message,
    };
    let btf =
        bpfkit_btf::elf::btf_from_elf(&raw_object).map_err(|e| object_error(e.to_string()))?;
    let btf_size_before = bpfkit_btf::elf::section_data(&raw_object, ".BTF")
        .ok()
        .flatten()
        .map_or(0, <[u8]>::len);

    let mut warnings = Vec::new();
    let kept = keep_own_types(&clang, &flags, &source, &header, &output, &btf);
    let (new_btf, own_types_added) = match kept {
        Ok(Some(added)) => (Some(added.btf), added.names),
        Ok(None) => (None, Vec::new()),
        Err(why) => {
            warnings.push(format!(
                "own types could not be added to BTF ({why}); events may not decode"
            ));
            (None, Vec::new())
        }
    };
    let btf_size_after = new_btf.as_ref().map_or(btf_size_before, Vec::len);
    let finished = elf::finish_object(&raw_object, new_btf.as_deref()).map_err(object_error)?;
    cache::write_atomic(&output, &finished)?;
    Ok(BuildOutput {
        object: output,
        clang,
        vmlinux_header: header,
        own_types_added,
        btf_size_before,
        btf_size_after,
        warnings,
    })
}

/// `dir/prog.bpf.c` → `dir/prog.bpf.o`; any other name gets `.o`.
pub fn default_output(source: &Path) -> PathBuf {
    let name = source.file_name().unwrap_or_default().to_string_lossy();
    let stem = name.strip_suffix(".c").unwrap_or(&name).to_string();
    source.with_file_name(format!("{stem}.o"))
}

/// Every clang flag but the input, output and mode (`-c`/`-E`).
fn compile_flags(opts: &BuildOptions, source: &Path, header: &Path) -> Vec<String> {
    let arch = opts
        .target_arch
        .clone()
        .unwrap_or_else(|| toolchain::target_arch_for(std::env::consts::ARCH).to_string());
    // -fno-addrsig: no .llvm_addrsig (a linker hint of raw symbol indices,
    // meaningless for BPF and stale once DWARF symbols are stripped).
    let mut flags: Vec<String> = ["-target", "bpf", "-O2", "-g", "-fno-addrsig"]
        .map(String::from)
        .to_vec();
    flags.push(format!("-D__TARGET_ARCH_{arch}"));
    let cpu = opts
        .cpu
        .clone()
        .or_else(|| toolchain::cpu_for_running_kernel().map(String::from));
    if let Some(cpu) = cpu {
        flags.push(format!("-mcpu={cpu}"));
    }
    // The program's directory first, like a plain `clang -c` would search it.
    for dir in &opts.include_dirs {
        flags.push(format!("-I{}", dir.display()));
    }
    let header_dir = header.parent().unwrap_or(Path::new("."));
    flags.push(format!("-I{}", header_dir.display()));
    if let Some(dir) = toolchain::multiarch_include() {
        flags.push(format!("-I{}", dir.display()));
    }
    for define in &opts.defines {
        flags.push(format!("-D{define}"));
    }
    // Paths recorded in BTF line info become relative to the program's
    // directory, so objects do not depend on where the tree is checked out.
    if let Some(dir) = source.parent() {
        flags.push(format!("-fdebug-prefix-map={}=.", dir.display()));
        // The compilation directory (the cwd) otherwise reaches the debug
        // info, and with it the order in which clang emits BTF types.
        flags.push("-fdebug-compilation-dir=.".into());
    }
    flags
}

/// Runs clang on `source`, diagnostics going straight to our stderr, and
/// returns the object it wrote.
fn compile(
    clang: &Path,
    flags: &[String],
    source: &Path,
    output: &Path,
) -> Result<Vec<u8>, BuildError> {
    let scratch = cache::temp_sibling(output, "clang.o");
    if let Some(dir) = scratch.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| BuildError::io(format!("creating {}", dir.display()), e))?;
    }
    let status = Command::new(clang)
        .args(flags)
        .arg("-c")
        .arg(source)
        .arg("-o")
        .arg(&scratch)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| BuildError::Spawn {
            program: clang.to_path_buf(),
            source: e,
        })?;
    if !status.success() {
        let _ = std::fs::remove_file(&scratch);
        return Err(BuildError::Compile {
            file: source.to_path_buf(),
            status,
        });
    }
    let object = cache::read(&scratch);
    let _ = std::fs::remove_file(&scratch);
    object
}

/// Runs clang quietly (for the helper steps whose failure only costs own
/// types), returning stdout.
fn run_quiet(clang: &Path, args: &[&std::ffi::OsStr]) -> Result<Vec<u8>, String> {
    let out = Command::new(clang)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running {}: {e}", clang.display()))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().find(|l| l.contains("error")).unwrap_or("");
        return Err(format!("clang {}: {first}", out.status));
    }
    Ok(out.stdout)
}

/// The result of [`keep_own_types`].
struct AddedTypes {
    /// The new `.BTF` section.
    btf: Vec<u8>,
    /// C names of the types added.
    names: Vec<String>,
}

/// New `.BTF` bytes with the program's own types added, and their names;
/// `None` when nothing was missing.
fn keep_own_types(
    clang: &Path,
    flags: &[String],
    source: &Path,
    header: &Path,
    output: &Path,
    btf: &bpfkit_btf::Btf,
) -> Result<Option<AddedTypes>, String> {
    let mut args: Vec<&std::ffi::OsStr> = flags.iter().map(|f| f.as_ref()).collect();
    args.extend([std::ffi::OsStr::new("-E"), source.as_os_str()]);
    let preprocessed = String::from_utf8(run_quiet(clang, &args)?)
        .map_err(|_| "preprocessed source is not UTF-8".to_string())?;
    let is_own_file = |file: &str| is_own_file(Path::new(file), header);
    let own = own_types::own_type_definitions(&preprocessed, is_own_file);
    let missing = own_types::missing_types(&own, btf);
    if missing.is_empty() {
        return Ok(None);
    }
    let harvested = harvest(clang, flags, &preprocessed, &missing, output)?;
    let roots = own_types::anchored_roots(&harvested, missing.len());
    let bytes = own_types::merge(btf, &harvested, &roots)?;
    Ok(Some(AddedTypes {
        btf: bytes,
        names: missing.iter().map(OwnType::c_name).collect(),
    }))
}

/// Whether types defined in `file` (as named in clang's line markers) are
/// the program's own: not clang's pseudo files (`<built-in>`), not the
/// vmlinux header, and not libbpf headers vendored into a user include dir
/// (`.../bpf/bpf_*.h`); system headers are excluded by their marker flag.
fn is_own_file(file: &Path, header: &Path) -> bool {
    let name = file.file_name().unwrap_or_default();
    let in_bpf_dir = file
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|d| d == "bpf");
    !file.as_os_str().to_string_lossy().starts_with('<')
        && Some(name) != header.file_name()
        && !(in_bpf_dir && name.to_string_lossy().starts_with("bpf_"))
}

/// Compiles the preprocessed program plus one anchor per missing type and
/// returns that throw-away object's BTF.
fn harvest(
    clang: &Path,
    flags: &[String],
    preprocessed: &str,
    missing: &[OwnType],
    output: &Path,
) -> Result<bpfkit_btf::Btf, String> {
    let input = cache::temp_sibling(output, "keep.i");
    let object = cache::temp_sibling(output, "keep.o");
    let text = format!("{preprocessed}\n{}", own_types::anchors(missing));
    let result = std::fs::write(&input, text)
        .map_err(|e| format!("writing {}: {e}", input.display()))
        .and_then(|()| {
            // Only code-generation flags matter after preprocessing.
            let mut args: Vec<&std::ffi::OsStr> = flags
                .iter()
                .filter(|f| !f.starts_with("-I") && !f.starts_with("-D"))
                .map(|f| f.as_ref())
                .collect();
            args.extend(["-x", "cpp-output", "-c"].map(std::ffi::OsStr::new));
            args.extend([input.as_os_str(), "-o".as_ref(), object.as_os_str()]);
            run_quiet(clang, &args)
        })
        .and_then(|_| bpfkit_btf::Btf::from_any_file(&object).map_err(|e| e.to_string()));
    let _ = std::fs::remove_file(&input);
    let _ = std::fs::remove_file(&object);
    result
}

/// Builds `opts.source` into bpfkit's object cache (`opts.output` is
/// ignored) and returns the object's path. The key covers the source, its
/// own `#include "..."` headers, the options, the vmlinux.h identity (the
/// pinned header's bytes or the running kernel's BTF) and the clang binary
/// (path, size, mtime), so a hit needs no clang run at all.
pub fn build_cached(opts: &BuildOptions) -> Result<PathBuf, BuildError> {
    let clang = find_clang(opts.clang.as_deref())?;
    let key = cache_key(opts, &clang)?;
    let root = match &opts.cache_dir {
        Some(dir) => dir.clone(),
        None => cache::cache_root()?,
    };
    let name = opts
        .source
        .file_name()
        .unwrap_or_default()
        .to_string_lossy();
    let stem = name
        .strip_suffix(".bpf.c")
        .or(name.strip_suffix(".c"))
        .unwrap_or(&name);
    let path = root.join("obj").join(format!("{stem}-{key}.bpf.o"));
    if path.is_file() {
        return Ok(path);
    }
    let mut opts = opts.clone();
    opts.output = Some(path.clone());
    opts.clang = Some(clang);
    Ok(build(&opts)?.object)
}

fn cache_key(opts: &BuildOptions, clang: &Path) -> Result<String, BuildError> {
    let mut key = cache::KeyHasher::default();
    key.add("pipeline", PIPELINE_VERSION.as_bytes());
    key.add("source", &cache::read(&opts.source)?);
    for header in cache::local_headers(&opts.source, &opts.include_dirs) {
        key.add("header path", header.to_string_lossy().as_bytes());
        key.add("header", &cache::read(&header)?);
    }
    let options = format!(
        "{:?} {:?} {:?} {:?}",
        opts.include_dirs, opts.defines, opts.cpu, opts.target_arch
    );
    key.add("options", options.as_bytes());
    match &opts.vmlinux_header {
        Some(h) => key.add("vmlinux.h", &cache::read(h)?),
        None => key.add("kernel btf", vmlinux::kernel_btf_hash()?.as_bytes()),
    };
    let meta = std::fs::metadata(clang)
        .map_err(|e| BuildError::io(format!("reading {}", clang.display()), e))?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let identity = format!("{} {} {modified}", clang.display(), meta.len());
    key.add("clang", identity.as_bytes());
    Ok(key.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_files_exclude_vmlinux_and_libbpf_headers() {
        let header = Path::new("/cache/vmlinux-1/vmlinux.h");
        assert!(is_own_file(Path::new("/src/prog.bpf.c"), header));
        assert!(is_own_file(Path::new("./event.h"), header));
        assert!(!is_own_file(Path::new("/other/vmlinux.h"), header));
        assert!(!is_own_file(Path::new("<built-in>"), header));
        assert!(!is_own_file(Path::new("vendor/bpf/bpf_helpers.h"), header));
    }

    #[test]
    fn default_output_replaces_the_c_suffix() {
        assert_eq!(
            default_output(Path::new("a/x.bpf.c")),
            Path::new("a/x.bpf.o")
        );
        assert_eq!(default_output(Path::new("x")), Path::new("x.o"));
    }
}
