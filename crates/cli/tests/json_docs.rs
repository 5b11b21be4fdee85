//! docs/json.md, the JSON-lines schema, against the code and real runs:
//! every record type the code writes is documented, every example line
//! parses and has exactly its type's documented members, and the records
//! of real runs have no member the document does not describe.

mod common;

use common::{ChildGuard, Run, example};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// One `### \`TYPE\`` section of docs/json.md.
struct RecordDoc {
    kind: String,
    /// Member names and whether each is optional.
    members: Vec<(String, bool)>,
    examples: Vec<Value>,
}

/// The `-T` members, which any record may have.
const TIME_MEMBERS: [&str; 2] = ["time", "timestamp"];

fn json_doc() -> Vec<RecordDoc> {
    let path = bpfkit_testkit::repo_path("docs/json.md");
    let text = std::fs::read_to_string(&path).expect("docs/json.md");
    let mut docs: Vec<RecordDoc> = Vec::new();
    let mut in_example = false;
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("### ") {
            let kind = heading.trim_matches('`').to_string();
            docs.push(RecordDoc {
                kind,
                members: Vec::new(),
                examples: Vec::new(),
            });
            continue;
        }
        let Some(doc) = docs.last_mut() else {
            continue;
        };
        if line.starts_with("```") {
            in_example = line == "```json";
        } else if in_example {
            let record = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}: example does not parse: {e}\n{line}", doc.kind));
            doc.examples.push(record);
        } else if let Some(row) = line.strip_prefix("| `") {
            let name = row.split('`').next().unwrap_or_default().to_string();
            doc.members.push((name, row.contains("(optional")));
        }
    }
    docs
}

/// Why `record` does not match its type's documentation, if it does not.
fn mismatch(docs: &[RecordDoc], record: &Value) -> Option<String> {
    let Some(object) = record.as_object() else {
        return Some("not an object".into());
    };
    let kind = object.get("type").and_then(Value::as_str).unwrap_or("");
    let Some(doc) = docs.iter().find(|d| d.kind == kind) else {
        return Some(format!("record type '{kind}' is not documented"));
    };
    let documented = |name: &str| {
        name == "type" || TIME_MEMBERS.contains(&name) || doc.members.iter().any(|(m, _)| m == name)
    };
    if let Some(name) = object.keys().find(|k| !documented(k)) {
        return Some(format!("member '{name}' of '{kind}' is not documented"));
    }
    let missing = doc
        .members
        .iter()
        .find(|(name, optional)| !optional && !object.contains_key(name));
    missing.map(|(name, _)| format!("'{kind}' lacks its member '{name}'"))
}

#[test]
fn every_example_has_its_documented_members() {
    let docs = json_doc();
    assert!(docs.len() >= 9, "record sections: {}", docs.len());
    for doc in &docs {
        assert!(!doc.members.is_empty(), "{}: no member table", doc.kind);
        assert!(!doc.examples.is_empty(), "{}: no example", doc.kind);
        for example in &doc.examples {
            assert_eq!(example["type"], doc.kind.as_str(), "{example}");
            assert_eq!(mismatch(&docs, example), None, "{example}");
        }
    }
}

/// The record types written by the code in `dir` (tests left out): the
/// `type` of `records::start("lost")`, `write_record("global", ..)`,
/// `json!({"type": "stack", ..})` and literal `{"type":"map",..` lines.
fn record_types_in(dir: &Path, found: &mut BTreeSet<String>) {
    const PATTERNS: [&str; 4] = [
        "start(\"",
        "write_record(\"",
        "\"type\": \"",
        "{\\\"type\\\":\\\"",
    ];
    for entry in std::fs::read_dir(dir).expect("a source directory") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            record_types_in(&path, found);
            continue;
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !name.ends_with(".rs") || name.contains("test") || name.contains("fuzz") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a source file");
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for pattern in PATTERNS {
            for (at, _) in code.match_indices(pattern) {
                let rest = &code[at + pattern.len()..];
                let kind: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect();
                if !kind.is_empty() {
                    found.insert(kind);
                }
            }
        }
    }
}

#[test]
fn every_record_type_the_code_writes_is_documented() {
    let mut written = BTreeSet::new();
    for dir in ["crates/output/src", "crates/cli/src"] {
        record_types_in(&bpfkit_testkit::repo_path(dir), &mut written);
    }
    // The scan itself must find the types it is known to write.
    for known in ["event", "map", "hist", "lost", "exit", "stack", "global"] {
        assert!(written.contains(known), "{known} not found: {written:?}");
    }
    let documented: BTreeSet<String> = json_doc().into_iter().map(|d| d.kind).collect();
    let missing: Vec<_> = written.difference(&documented).collect();
    assert!(missing.is_empty(), "not in docs/json.md: {missing:?}");
}

/// Every record of a finished run matches docs/json.md.
fn assert_documented(records: &[Value]) {
    let docs = json_doc();
    for record in records {
        assert_eq!(mismatch(&docs, record), None, "{record}");
    }
}

#[test]
fn records_of_real_runs_are_as_documented() {
    if !bpfkit_testkit::privileged("records_of_real_runs_are_as_documented") {
        return;
    }
    // attached, event and exit, with the -T members.
    let mut run = Run::start(&example("execsnoop.bpf.o"), &["-T"]);
    run.wait_attached(&["tracepoint__syscalls__sys_enter_execve"]);
    let mut child = ChildGuard::spawn(&mut Command::new("/bin/true"));
    let pid = child.pid();
    child.wait();
    run.wait_for("the exec event", |r| {
        r["type"] == "event" && r["data"]["pid"] == pid
    });
    let execs = run.stop();
    assert_documented(&execs.records);
    // map (at exit), hist and printk are the other common ones.
    let mut runqlat = Run::start(&example("runqlat.bpf.o"), &["-d", "300ms"]);
    runqlat.wait_attached(&["sched_switch"]);
    let hists = runqlat.finish();
    assert!(
        hists.records.iter().any(|r| r["type"] == "hist"),
        "{:?}",
        hists.records
    );
    assert_documented(&hists.records);
    let mut kill = Run::start(&example("kill.bpf.o"), &["-d", "300ms"]);
    kill.wait_attached(&["tracepoint__syscalls__sys_enter_kill"]);
    let mut sleeper = ChildGuard::spawn(Command::new("/bin/sleep").arg("60"));
    // SAFETY: kill has no memory preconditions; the pid is our unreaped child.
    unsafe { libc::kill(sleeper.pid() as i32, libc::SIGKILL) };
    sleeper.wait();
    let maps = kill.finish();
    assert!(
        maps.records.iter().any(|r| r["type"] == "map"),
        "{:?}",
        maps.records
    );
    assert_documented(&maps.records);
}
