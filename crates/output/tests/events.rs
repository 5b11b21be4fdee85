//! Events of clang-built BTF types formatted as tables and JSON lines.

mod common;

use bpfkit_output::clock::WallClock;
use bpfkit_output::semantic::Render;
use bpfkit_output::{ColumnSpec, EventFormatter, FormatOptions, Mode, TableSpec};
use common::put;

fn json_opts() -> FormatOptions {
    FormatOptions {
        mode: Mode::Json,
        ..FormatOptions::default()
    }
}

fn exec_event(pid: i32, retval: i32, comm: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 36];
    put(&mut b, 0, &pid.to_le_bytes());
    put(&mut b, 4, &1i32.to_le_bytes());
    put(&mut b, 12, &retval.to_le_bytes());
    put(&mut b, 17, comm);
    b
}

fn run(f: &mut EventFormatter, events: &[Vec<u8>]) -> String {
    let mut out = Vec::new();
    for e in events {
        f.write_event(e, &mut out).unwrap();
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn execsnoop_table() {
    let Some(btf) = common::btf("execsnoop_table") else {
        return;
    };
    let ty = common::ty(btf, "exec_event");
    let mut f = EventFormatter::new(btf, ty, &FormatOptions::default()).unwrap();
    let text = run(
        &mut f,
        &[exec_event(1234, -2, b"bash"), exec_event(7, 0, b"true")],
    );
    assert_eq!(
        text,
        "PID     PPID    UID    RETVAL  IS_EXIT COMM\n\
         1234    1       0      -ENOENT false   bash\n\
         7       1       0      0       false   true\n"
    );
}

#[test]
fn execsnoop_json() {
    let Some(btf) = common::btf("execsnoop_json") else {
        return;
    };
    let ty = common::ty(btf, "exec_event");
    let mut f = EventFormatter::new(btf, ty, &json_opts()).unwrap();
    let text = run(&mut f, &[exec_event(1234, -2, b"bash")]);
    assert_eq!(
        text,
        // The number in `data`, the table's name for it in `decoded`.
        "{\"type\":\"event\",\"map\":\"events\",\"data\":{\"pid\":1234,\"ppid\":1,\"uid\":0,\"retval\":-2,\"is_exit\":false,\"comm\":\"bash\"},\"decoded\":{\"retval\":\"-ENOENT\"}}\n"
    );
}

#[test]
fn table_spec_picks_renames_and_orders_columns() {
    let Some(btf) = common::btf("table_spec") else {
        return;
    };
    let ty = common::ty(btf, "exec_event");
    let opts = FormatOptions {
        table: TableSpec {
            columns: Some(vec![
                ColumnSpec::new("comm").header("PCOMM"),
                ColumnSpec::new("pid"),
                ColumnSpec::new("ppid"),
                ColumnSpec::new("retval")
                    .header("RET")
                    .width(3)
                    .render(Render::Plain),
            ]),
        },
        ..FormatOptions::default()
    };
    let mut f = EventFormatter::new(btf, ty, &opts).unwrap();
    let text = run(&mut f, &[exec_event(1234, -2, b"bash")]);
    assert_eq!(
        text,
        "PCOMM            PID     PPID    RET\nbash             1234    1       -2\n"
    );
    let bad = FormatOptions {
        table: TableSpec {
            columns: Some(vec![ColumnSpec::new("nope")]),
        },
        ..FormatOptions::default()
    };
    let err = EventFormatter::new(btf, ty, &bad)
        .err()
        .expect("unknown field")
        .to_string();
    assert!(
        err.contains("no field 'nope'") && err.contains("retval"),
        "{err}"
    );
}

#[test]
fn time_column_and_short_events() {
    let Some(btf) = common::btf("time_column") else {
        return;
    };
    let ty = common::ty(btf, "exec_event");
    let opts = FormatOptions {
        time: true,
        ..FormatOptions::default()
    };
    let mut f = EventFormatter::new(btf, ty, &opts).unwrap();
    let text = run(&mut f, &[exec_event(1, 0, b"x")]);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("TIME     PID"), "{text}");
    let hms = &lines[1][..8];
    assert!(
        hms.as_bytes()[2] == b':' && hms.as_bytes()[5] == b':',
        "{text}"
    );
    // Records may end inside the last member when it is an array (comm,
    // at 17): what is there decodes, anything shorter is an error.
    let mut cut = exec_event(1, 0, b"xy");
    cut.truncate(18);
    let text = String::from_utf8(f.format_event(&cut).unwrap().to_vec()).unwrap();
    assert!(text.trim_end().ends_with(" x"), "{text}");
    let err = f.format_event(&[0u8; 16]).unwrap_err().to_string();
    assert!(err.contains("needs 17 bytes, got 16"), "{err}");
}

fn tcp_event(af: u32, saddr: &[u8], daddr: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 72];
    put(&mut b, 0, saddr);
    put(&mut b, 16, daddr);
    put(&mut b, 32, b"curl");
    put(&mut b, 48, &5u64.to_le_bytes());
    put(&mut b, 56, &af.to_le_bytes());
    put(&mut b, 60, &42u32.to_le_bytes());
    put(&mut b, 68, &4000u16.to_le_bytes()); // host order
    put(&mut b, 70, &80u16.to_be_bytes()); // network order
    b
}

#[test]
fn ports_the_flow_says_are_network_order_swap_unless_hint_or_name_says_host() {
    let Some(btf) = common::btf("ports_the_flow_says_are_network_order") else {
        return;
    };
    let ty = common::ty(btf, "flow_ports");
    let opts = FormatOptions {
        network_order_offsets: vec![0, 2, 4, 6],
        ..json_opts()
    };
    let mut f = EventFormatter::new(btf, ty, &opts).unwrap();
    let mut record = Vec::new();
    record.extend(47001u16.to_be_bytes()); // sport: flow says network
    record.extend(443u16.to_be_bytes()); // dport: flow says network
    record.extend(8080u16.to_le_bytes()); // hport: bpfkit_port_host_t
    record.extend(5000u16.to_le_bytes()); // lport: host order by name
    let text = run(&mut f, &[record.clone()]);
    assert!(
        text.contains(r#""sport":47001,"dport":443,"hport":8080,"lport":5000"#),
        "{text}"
    );
    // Without the flow, plain __u16 ports are host order.
    let mut plain = EventFormatter::new(btf, ty, &json_opts()).unwrap();
    let text = run(&mut plain, &[record]);
    assert!(text.contains(r#""sport":39351,"dport":47873"#), "{text}");
}

#[test]
fn tcpconnect_addresses_by_family() {
    let Some(btf) = common::btf("tcpconnect") else {
        return;
    };
    let ty = common::ty(btf, "tcp_event");
    let mut f = EventFormatter::new(btf, ty, &json_opts()).unwrap();
    assert_eq!(
        f.fields(),
        [
            "saddr", "daddr", "task", "ts_us", "af", "pid", "uid", "lport", "dport"
        ]
    );
    let mut v6 = [0u8; 16];
    v6[15] = 1;
    let mut fe80 = [0u8; 16];
    fe80[..2].copy_from_slice(&[0xfe, 0x80]);
    fe80[15] = 2;
    let text = run(
        &mut f,
        &[
            tcp_event(2, &[10, 0, 0, 1], &[10, 0, 0, 2]),
            tcp_event(10, &v6, &fe80),
        ],
    );
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines[0]["data"],
        serde_json::json!({"saddr": "10.0.0.1", "daddr": "10.0.0.2", "task": "curl", "ts_us": 5,
                           "af": 2, "pid": 42, "uid": 0, "lport": 4000, "dport": 80})
    );
    assert_eq!(lines[1]["data"]["saddr"], "::1");
    assert_eq!(lines[1]["data"]["daddr"], "fe80::2");

    let mut t = EventFormatter::new(btf, ty, &FormatOptions::default()).unwrap();
    let text = run(&mut t, &[tcp_event(2, &[10, 0, 0, 1], &[10, 0, 0, 2])]);
    let row = text.lines().nth(1).unwrap();
    assert!(
        row.starts_with("10.0.0.1                  10.0.0.2                  curl"),
        "{row}"
    );
    assert!(row.contains(" AF_INET "), "{row}");
    assert!(row.ends_with("42      0      4000  80"), "{row}");
}

fn hinted_event() -> Vec<u8> {
    let mut b = vec![0u8; 120];
    put(&mut b, 0, &[192, 168, 1, 1]);
    put(&mut b, 4, &8080u16.to_be_bytes());
    put(&mut b, 6, &10u16.to_le_bytes());
    put(&mut b, 8, &(-13i64).to_le_bytes());
    put(&mut b, 16, &15i32.to_le_bytes());
    put(&mut b, 24, &257i64.to_le_bytes());
    put(&mut b, 32, &1500u64.to_le_bytes());
    put(&mut b, 40, &1_000_000_000u64.to_le_bytes());
    put(&mut b, 48, &0xffff_ffff_8100_0000u64.to_le_bytes());
    put(
        &mut b,
        56,
        &[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    );
    put(&mut b, 72, b"ls\0-l\0/tmp\0");
    put(&mut b, 104, b"ls");
    b
}

#[test]
fn typedef_hints_json() {
    let Some(btf) = common::btf("hints_json") else {
        return;
    };
    let ty = common::ty(btf, "hinted");
    let mut f = EventFormatter::new(btf, ty, &json_opts()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&run(&mut f, &[hinted_event()])).unwrap();
    assert_eq!(
        v["data"],
        serde_json::json!({"server": "192.168.1.1", "port": 8080, "fam": 10, "result": -13,
            "sig_no": 15, "nr": 257, "took": 1500, "when": 1_000_000_000u64,
            "where": "0xffffffff81000000", "peer": "2001:db8::1", "args": "ls -l /tmp", "name": "ls"})
    );
}

#[test]
fn typedef_hints_table() {
    let Some(btf) = common::btf("hints_table") else {
        return;
    };
    let ty = common::ty(btf, "hinted");
    let mut f = EventFormatter::new(btf, ty, &FormatOptions::default()).unwrap();
    f.set_clock(WallClock::with_offsets(1_700_000_000_000_000_000, 0));
    let text = run(&mut f, &[hinted_event()]);
    let row = text.lines().nth(1).unwrap();
    let mut when = Vec::new();
    WallClock::with_offsets(0, 0).write_local_time(1_700_000_001_000_000_000, &mut when);
    let when = String::from_utf8(when).unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells,
        [
            "192.168.1.1",
            "8080",
            "AF_INET6",
            "-EACCES",
            "SIGTERM",
            "openat",
            "1.50ms",
            when.as_str(),
            "0xffffffff81000000",
            "2001:db8::1",
            "ls",
            "-l",
            "/tmp",
            "ls"
        ],
        "{row}"
    );
}

#[test]
fn nested_structs_enums_bitfields() {
    let Some(btf) = common::btf("nested") else {
        return;
    };
    let ty = common::ty(btf, "mixed");
    let mut b = vec![0u8; 48];
    put(&mut b, 0, &7i32.to_le_bytes());
    put(&mut b, 4, b"ab");
    put(&mut b, 8, &(-1i32).to_le_bytes());
    // low:3 = 5, high:5 = -3 (0b11101) at bits 96..104.
    b[12] = 0b1110_1101;
    put(&mut b, 16, &1i32.to_le_bytes());
    put(&mut b, 20, b"x");
    put(&mut b, 24, &2i32.to_le_bytes());
    put(&mut b, 28, b"y");
    for (i, w) in [1u32, 2, 3, 4].iter().enumerate() {
        put(&mut b, 32 + 4 * i, &w.to_le_bytes());
    }
    let mut f = EventFormatter::new(btf, ty, &json_opts()).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&run(&mut f, std::slice::from_ref(&b))).unwrap();
    assert_eq!(
        v["data"],
        serde_json::json!({"in": {"a": 7, "tag": "ab"}, "st": "DEAD", "low": 5, "high": -3,
            "pair": [{"a": 1, "tag": "x"}, {"a": 2, "tag": "y"}], "addr6": "100:0:200:0:300:0:400:0"})
    );
    let mut t = EventFormatter::new(btf, ty, &FormatOptions::default()).unwrap();
    let text = run(&mut t, &[b]);
    let row = text.lines().nth(1).unwrap();
    assert!(
        row.starts_with("{.a = 7, .tag = \"ab\"} DEAD       5     -3    [{.a = 1, .tag = \"x\"}, {.a = 2, .tag = \"y\"}] 100:0:200:0:300:0:400:0"),
        "{row}"
    );
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    let Some(btf) = common::btf("truncation") else {
        return;
    };
    // (type, size, shortest record: where a trailing array starts, or the
    // number arrays right before it)
    for (name, size, min) in [
        ("stacks_last", 88, 24),
        ("exec_event", 36, 17),
        ("tcp_event", 72, 72),
        ("hinted", 120, 104),
        ("mixed", 48, 32),
    ] {
        let ty = common::ty(btf, name);
        for mode in [Mode::Json, Mode::Table] {
            let opts = FormatOptions {
                mode,
                ..FormatOptions::default()
            };
            let mut f = EventFormatter::new(btf, ty, &opts).unwrap();
            for len in 0..size {
                let result = f.format_event(&vec![0xff; len]);
                assert_eq!(result.is_err(), len < min, "{name} {len}");
            }
            f.format_event(&vec![0xff; size]).unwrap();
        }
    }
}

#[test]
fn vmlinux_struct_as_event() {
    let Ok(btf) = bpfkit_btf::Btf::vmlinux() else {
        eprintln!("skipping: no vmlinux BTF");
        return;
    };
    // A large kernel struct with nested unions, bitfields and arrays.
    let ty = btf.find_struct("task_struct").unwrap();
    let size = btf.size_of(ty).unwrap() as usize;
    let mut f = EventFormatter::new(&btf, ty, &json_opts()).unwrap();
    let line = f.format_event(&vec![0u8; size]).unwrap().to_vec();
    let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
    assert_eq!(v["data"]["pid"], 0);
    assert_eq!(v["data"]["comm"], "");
}

#[test]
fn invalid_utf8_and_full_length_names() {
    let Some(btf) = common::btf("invalid_utf8") else {
        return;
    };
    let ty = common::ty(btf, "exec_event");
    let events = [
        exec_event(1, 0, b"a\xffb"),
        exec_event(2, 0, b"0123456789abcdef"),
    ];
    let mut t = EventFormatter::new(btf, ty, &FormatOptions::default()).unwrap();
    let text = run(&mut t, &events);
    assert!(
        text.ends_with(" a\\xffb\n2       1       0      0       false   0123456789abcdef\n"),
        "{text}"
    );
    let mut j = EventFormatter::new(btf, ty, &json_opts()).unwrap();
    let text = run(&mut j, &events);
    let comms: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["data"]["comm"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(comms, ["a\\xffb", "0123456789abcdef"]);
}

#[test]
fn custom_right_aligned_and_forced_renders() {
    let Some(btf) = common::btf("custom_columns") else {
        return;
    };
    let ty = common::ty(btf, "exec_event");
    let opts = FormatOptions {
        table: TableSpec {
            columns: Some(vec![
                ColumnSpec::new("pid").right(),
                ColumnSpec::new("ppid").render(Render::Octal).header("MODE"),
                ColumnSpec::new("retval")
                    .render(Render::ErrnoName)
                    .header("ERR"),
                ColumnSpec::new("uid").render(Render::Names(&["root", "daemon"])),
                ColumnSpec::new("pid")
                    .render(Render::Scaled {
                        divisor: 1000,
                        decimals: 2,
                    })
                    .header("KPID"),
                ColumnSpec::custom("TWICE", |r, out| {
                    let pid = r.num("pid").unwrap_or(0);
                    out.extend_from_slice((pid * 2).to_string().as_bytes());
                })
                .width(6)
                .right(),
                ColumnSpec::new("comm"),
            ]),
        },
        ..FormatOptions::default()
    };
    let mut f = EventFormatter::new(btf, ty, &opts).unwrap();
    let text = run(&mut f, &[exec_event(1234, 2, b"bash")]);
    assert_eq!(
        text,
        "    PID MODE    ERR     UID     KPID     TWICE COMM\n   \
            1234 01      ENOENT  root    1.23      2468 bash\n"
    );
    // A render that cannot show the field is refused up front.
    let bad = FormatOptions {
        table: TableSpec {
            columns: Some(vec![ColumnSpec::new("comm").render(Render::Ipv4)]),
        },
        ..FormatOptions::default()
    };
    let err = EventFormatter::new(btf, ty, &bad)
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("'comm' cannot be shown as Ipv4"), "{err}");
}

#[test]
fn detailed_mode() {
    let Some(btf) = common::btf("detailed_mode") else {
        return;
    };
    let ty = common::ty(btf, "exec_event");
    let opts = FormatOptions {
        mode: Mode::Detailed,
        ..FormatOptions::default()
    };
    let mut f = EventFormatter::new(btf, ty, &opts).unwrap();
    let text = run(&mut f, &[exec_event(1234, -2, b"bash")]);
    assert_eq!(
        text,
        "PID:     1234\nPPID:    1\nUID:     0\nRETVAL:  -ENOENT\nIS_EXIT: false\nCOMM:    bash\n\n"
    );
}

#[test]
fn formatters_can_move_to_reader_threads() {
    fn assert_send<T: Send>() {}
    assert_send::<EventFormatter>();
    assert_send::<bpfkit_output::WriteSink<std::io::Stdout>>();
}

#[test]
fn enum_fields_take_number_renders() {
    let Some(btf) = common::btf("enum_renders") else {
        return;
    };
    let ty = common::ty(btf, "mixed");
    let mut b = vec![0u8; 48];
    put(&mut b, 8, &5i32.to_le_bytes());
    // tcpretrans shows its `type` enum with a table of names.
    let columns = vec![
        ColumnSpec::new("st").render(Render::Names(&["zero", "one", "two", "3", "4", "five"])),
        ColumnSpec::new("st").render(Render::Hex).header("HEX"),
        ColumnSpec::new("st")
            .render(Render::Scaled {
                divisor: 2,
                decimals: 1,
            })
            .header("HALF"),
    ];
    for mode in [Mode::Table, Mode::Json, Mode::Detailed] {
        let opts = FormatOptions {
            mode,
            table: TableSpec {
                columns: Some(columns.clone()),
            },
            ..FormatOptions::default()
        };
        let mut f = EventFormatter::new(btf, ty, &opts)
            .unwrap_or_else(|e| panic!("{mode:?}: an enum takes number renders: {e}"));
        let text = run(&mut f, std::slice::from_ref(&b));
        match mode {
            Mode::Table => assert_eq!(
                text.lines().nth(1),
                Some("five       0x5                2.5")
            ),
            // JSON keeps the enum's own names.
            Mode::Json => assert!(text.contains("\"st\":\"RUNNING\""), "{text}"),
            Mode::Detailed => assert!(text.starts_with("ST:   five\n"), "{text}"),
        }
    }
}

/// `ColumnSpec::json`: a custom column's text as a member of JSON events,
/// a string (escaped) or, when the cell writes JSON, as it is; other
/// custom columns stay out of JSON.
#[test]
fn custom_columns_marked_json_are_event_members() {
    let Some(btf) = common::btf("custom_columns_marked_json") else {
        return;
    };
    let ty = common::ty(btf, "exec_event");
    let opts = FormatOptions {
        table: TableSpec {
            columns: Some(vec![
                ColumnSpec::custom("MSG", |r, out| {
                    let pid = r.num("pid").unwrap_or(0);
                    out.extend_from_slice(format!("pid \"{pid}\"\n").as_bytes());
                })
                .json("message", false),
                ColumnSpec::custom("LIST", |_, out| out.extend_from_slice(b"[1,2]"))
                    .json("list", true),
                ColumnSpec::custom("HIDDEN", |_, out| out.extend_from_slice(b"x")),
            ]),
        },
        ..json_opts()
    };
    let mut f = EventFormatter::new(btf, ty, &opts).unwrap();
    let text = run(&mut f, &[exec_event(42, 0, b"sh")]);
    let line: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!(line["message"], "pid \"42\"\n", "{text}");
    assert_eq!(line["list"], serde_json::json!([1, 2]), "{text}");
    assert_eq!(line["data"]["pid"], 42, "{text}");
    assert!(
        line.get("HIDDEN").is_none() && !text.contains("\"x\""),
        "{text}"
    );
}
