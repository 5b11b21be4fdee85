//! Map snapshots: per-key histograms (runqlat -P) and sorted tables.

mod common;

use bpfkit_output::hist::HistKind;
use bpfkit_output::{MapView, Mode, SnapshotOptions, render_map};
use common::put;

fn hist_value(slots: &[u32], comm: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; 120];
    for (i, s) in slots.iter().enumerate() {
        put(&mut v, i * 4, &s.to_le_bytes());
    }
    put(&mut v, 104, comm);
    v
}

fn render(
    btf: &bpfkit_btf::Btf,
    view: &MapView,
    entries: &[(Vec<u8>, Vec<u8>)],
    opts: &SnapshotOptions,
) -> String {
    let mut out = Vec::new();
    render_map(btf, view, entries, opts, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// `hists` as runqlat -P has it: a `struct hist` per `struct hist_key`.
fn hists_view(btf: &bpfkit_btf::Btf) -> MapView<'static> {
    MapView {
        name: "hists",
        key_ty: Some(common::ty(btf, "hist_key")),
        value_ty: common::ty(btf, "hist"),
    }
}

/// `counts`: a `__u64` per `struct count_key` (pid, comm).
fn counts_view(btf: &bpfkit_btf::Btf) -> MapView<'static> {
    MapView {
        name: "counts",
        key_ty: Some(common::ty(btf, "count_key")),
        value_ty: common::ty(btf, "__u64"),
    }
}

/// The two blocks below are `runqlat -P 1 1` output captured on this
/// machine (libbpf-tools 0.26).
const RUNQLAT_P: &str = "
pid = 36 kcompactd0
     usecs               : count    distribution
         0 -> 1          : 0        |                                        |
         2 -> 3          : 0        |                                        |
         4 -> 7          : 0        |                                        |
         8 -> 15         : 0        |                                        |
        16 -> 31         : 2        |****************************************|

pid = 41 kworker/1:1
     usecs               : count    distribution
         0 -> 1          : 7        |****************************************|
         2 -> 3          : 6        |**********************************      |
         4 -> 7          : 3        |*****************                       |
         8 -> 15         : 2        |***********                             |
        16 -> 31         : 4        |**********************                  |
        32 -> 63         : 0        |                                        |
        64 -> 127        : 1        |*****                                   |
       128 -> 255        : 1        |*****                                   |
       256 -> 511        : 1        |*****                                   |
";

fn runqlat_entries() -> Vec<(Vec<u8>, Vec<u8>)> {
    vec![
        (
            41u32.to_le_bytes().to_vec(),
            hist_value(&[7, 6, 3, 2, 4, 0, 1, 1, 1], b"kworker/1:1"),
        ),
        (
            36u32.to_le_bytes().to_vec(),
            hist_value(&[0, 0, 0, 0, 2], b"kcompactd0"),
        ),
    ]
}

#[test]
fn per_pid_histograms_like_runqlat() {
    let Some(btf) = common::btf("per_pid_histograms") else {
        return;
    };
    let view = hists_view(btf);
    let opts = SnapshotOptions {
        unit: Some("usecs".into()),
        ..SnapshotOptions::default()
    };
    assert_eq!(render(btf, &view, &runqlat_entries(), &opts), RUNQLAT_P);
    // Without a unit anywhere in the names, the label is "value".
    let text = render(btf, &view, &runqlat_entries(), &SnapshotOptions::default());
    assert!(
        text.contains("\n     value               : count    distribution\n"),
        "{text}"
    );
}

#[test]
fn per_pid_histograms_json() {
    let Some(btf) = common::btf("per_pid_histograms_json") else {
        return;
    };
    let view = hists_view(btf);
    let opts = SnapshotOptions {
        mode: Mode::Json,
        unit: Some("usecs".into()),
        ..SnapshotOptions::default()
    };
    let text = render(btf, &view, &runqlat_entries(), &opts);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["type"], "hist");
    assert_eq!(lines[0]["key"], serde_json::json!({"pid": 36}));
    assert_eq!(
        lines[0]["labels"],
        serde_json::json!({"comm": "kcompactd0"})
    );
    assert_eq!(
        lines[0]["buckets"][4],
        serde_json::json!({"low": 16, "high": 31, "count": 2})
    );
    assert_eq!(lines[1]["buckets"].as_array().unwrap().len(), 9);
}

#[test]
fn single_hinted_histogram_has_no_label() {
    let Some(btf) = common::btf("single_histogram") else {
        return;
    };
    let view = MapView {
        name: "lat_us",
        key_ty: Some(common::ty(btf, "__u32")),
        value_ty: common::ty(btf, "hinted_hist"),
    };
    let mut value = vec![0u8; 64];
    put(&mut value, 8, &4u64.to_le_bytes());
    put(&mut value, 16, &1u64.to_le_bytes());
    let text = render(
        btf,
        &view,
        &[(vec![0; 4], value.clone())],
        &SnapshotOptions::default(),
    );
    assert_eq!(
        text,
        "     usecs               : count    distribution
         0 -> 1          : 0        |                                        |
         2 -> 3          : 4        |****************************************|
         4 -> 7          : 1        |**********                              |
"
    );
    let opts = SnapshotOptions {
        hist: Some(HistKind::Linear { base: 0, step: 5 }),
        unit: Some("msecs".into()),
        ..SnapshotOptions::default()
    };
    let text = render(btf, &view, &[(vec![0; 4], value)], &opts);
    assert_eq!(
        text,
        "     msecs         : count     distribution
        5          : 4        |****************************************|
        10         : 1        |**********                              |
"
    );
}

fn count_entries() -> Vec<(Vec<u8>, Vec<u8>)> {
    let key = |pid: u32, comm: &[u8]| {
        let mut k = vec![0u8; 20];
        put(&mut k, 0, &pid.to_le_bytes());
        put(&mut k, 4, comm);
        k
    };
    vec![
        (key(100, b"bash"), 30u64.to_le_bytes().to_vec()),
        (key(7, b"sshd"), 5u64.to_le_bytes().to_vec()),
        (key(4242, b"make"), 1234u64.to_le_bytes().to_vec()),
    ]
}

#[test]
fn counts_sorted_by_value_with_top_n() {
    let Some(btf) = common::btf("counts_table") else {
        return;
    };
    let view = counts_view(btf);
    let opts = SnapshotOptions {
        top: Some(2),
        ..SnapshotOptions::default()
    };
    assert_eq!(
        render(btf, &view, &count_entries(), &opts),
        "PID     COMM             VALUE\n\
         4242    make             1234\n\
         100     bash             30\n"
    );
}

#[test]
fn counts_json() {
    let Some(btf) = common::btf("counts_json") else {
        return;
    };
    let view = counts_view(btf);
    let opts = SnapshotOptions {
        mode: Mode::Json,
        ..SnapshotOptions::default()
    };
    let text = render(btf, &view, &count_entries(), &opts);
    assert_eq!(text.lines().count(), 1);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["type"], "map");
    assert_eq!(v["map"], "counts");
    assert_eq!(
        v["entries"][0],
        serde_json::json!({"key": {"pid": 4242, "comm": "make"}, "value": 1234})
    );
    assert_eq!(v["entries"].as_array().unwrap().len(), 3);
}

#[test]
fn short_entries_are_errors() {
    let Some(btf) = common::btf("short_entries") else {
        return;
    };
    let view = counts_view(btf);
    let mut out = Vec::new();
    let entries = vec![(vec![0u8; 3], vec![0u8; 8])];
    assert!(render_map(btf, &view, &entries, &SnapshotOptions::default(), &mut out).is_err());
    let entries = vec![(vec![0u8; 20], vec![0u8; 7])];
    assert!(render_map(btf, &view, &entries, &SnapshotOptions::default(), &mut out).is_err());
}

#[test]
fn per_cpu_values_are_summed_field_by_field() {
    let Some(btf) = common::btf("per_cpu_sum") else {
        return;
    };
    let hist = common::ty(btf, "hist");
    let cpu0 = hist_value(&[1, 2, 3], b"");
    let cpu1 = hist_value(&[10, 0, 5, 7], b"bash");
    let sum = bpfkit_output::snapshot::sum_per_cpu(btf, hist, &[&cpu0, &cpu1]).unwrap();
    assert_eq!(
        sum,
        hist_value(&[11, 2, 8, 7], b""),
        "comm comes from the first used CPU"
    );
    let u64t = common::ty(btf, "__u64");
    let sum = bpfkit_output::snapshot::sum_per_cpu(
        btf,
        u64t,
        &[&5u64.to_le_bytes(), &u64::MAX.to_le_bytes()],
    )
    .unwrap();
    assert_eq!(sum, 4u64.to_le_bytes(), "wraps like the kernel's counters");
    assert!(bpfkit_output::snapshot::sum_per_cpu(btf, u64t, &[&[0u8; 7]]).is_err());
}

#[test]
fn table_columns_sort_and_custom_cells() {
    let Some(btf) = common::btf("table_columns") else {
        return;
    };
    let view = counts_view(btf);
    let opts = SnapshotOptions {
        columns: Some(vec![
            bpfkit_output::ColumnSpec::new("key.comm").header("COMM"),
            bpfkit_output::ColumnSpec::new("key.pid"),
            bpfkit_output::ColumnSpec::new("")
                .header("COUNT")
                .width(6)
                .right(),
            bpfkit_output::ColumnSpec::custom("X2", |r, out| {
                let n = r.num("").unwrap_or(0) + r.num("key.pid").unwrap_or(0);
                out.extend_from_slice(n.to_string().as_bytes());
            }),
        ]),
        sort_by: Some("key.pid".into()),
        ..SnapshotOptions::default()
    };
    assert_eq!(
        render(btf, &view, &count_entries(), &opts),
        "COMM             PID      COUNT X2\n\
         make             4242      1234 5476\n\
         bash             100         30 130\n\
         sshd             7            5 12\n"
    );
}

#[test]
fn histogram_labels_by_spec() {
    let Some(btf) = common::btf("histogram_labels") else {
        return;
    };
    let view = hists_view(btf);
    let opts = SnapshotOptions {
        unit: Some("usecs".into()),
        labels: Some(vec![
            bpfkit_output::ColumnSpec::new("key.pid").header("tid"),
            bpfkit_output::ColumnSpec::new("comm").header(""),
        ]),
        ..SnapshotOptions::default()
    };
    let text = render(btf, &view, &runqlat_entries(), &opts);
    assert!(
        text.starts_with("\ntid = 36 kcompactd0\n     usecs"),
        "{text}"
    );
    assert!(text.contains("\ntid = 41 kworker/1:1\n"), "{text}");
}

/// What built-in tools ask for: histograms labelled even when alone,
/// empty keys left out, and a table of a value that also has slots.
#[test]
fn tool_options_label_skip_empty_and_force_a_table() {
    let Some(btf) = common::btf("tool_options") else {
        return;
    };
    let view = hists_view(btf);
    let mut entries = runqlat_entries();
    entries.truncate(1);
    entries.push((7u32.to_le_bytes().to_vec(), hist_value(&[], b"idle")));
    let labels = vec![
        bpfkit_output::ColumnSpec::new("key.pid").header("pid"),
        bpfkit_output::ColumnSpec::new("comm").header(""),
    ];
    let opts = SnapshotOptions {
        unit: Some("usecs".into()),
        labels: Some(labels),
        skip_empty: true,
        ..SnapshotOptions::default()
    };
    let text = render(btf, &view, &entries, &opts);
    assert!(
        text.starts_with("\npid = 41 kworker/1:1\n     usecs"),
        "{text}"
    );
    assert!(!text.contains("idle"), "{text}");
    let table = SnapshotOptions {
        columns: Some(vec![
            bpfkit_output::ColumnSpec::new("key.pid").header("PID"),
            bpfkit_output::ColumnSpec::new("comm").header("COMM"),
        ]),
        force_table: true,
        skip_empty: true,
        ..SnapshotOptions::default()
    };
    let text = render(btf, &view, &entries, &table);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("PID"), "{text}");
    assert!(
        text.contains("kworker/1:1") && text.contains("idle"),
        "{text}"
    );
}
