//! The SEC() kinds aya cannot load or attach by itself: uprobe.multi
//! (loaded by bpfkit with its attach type), syscall (run once), sockops,
//! sk_msg/sk_skb on a sockmap, cgroup/* hooks, and the kinds this kernel
//! lacks, which must fail with one error naming what is missing.

mod common;

use bpfkit_runtime::{LoadOptions, Session};
use common::{assert_unloaded, build, global_u64, setup, tgid_param};

/// Probed by `uprobe_multi_counts_by_cookie_and_sees_returns` (cookie 1:
/// first in name order).
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn bpfkit_multi_one(x: u64) -> u64 {
    std::hint::black_box(x) + 1
}

/// Cookie 2.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn bpfkit_multi_two(x: u64) -> u64 {
    std::hint::black_box(x) * 2
}

#[test]
fn uprobe_multi_counts_by_cookie_and_sees_returns() {
    let Some(clang) = setup("uprobe_multi_counts_by_cookie_and_sees_returns") else {
        return;
    };
    let object = build(&clang, "uprobe_multi");
    let exe = std::env::current_exe().expect("test binary path");
    let target = format!("{}:bpfkit_multi_*", exe.display());
    let mut opts = LoadOptions::default();
    opts.params.extend([tgid_param(std::process::id())]);
    opts.attach_overrides
        .insert("on_entry".into(), target.clone());
    opts.attach_overrides.insert("on_return".into(), target);
    let session = Session::load(&object, &opts).expect("load");
    let hooks: Vec<&str> = session
        .attachments()
        .iter()
        .map(|a| a.hook.as_str())
        .collect();
    println!("{hooks:#?}");
    assert!(
        hooks[0].starts_with("uprobe.multi:/")
            && hooks[0].contains("(2 functions; cookies 1=bpfkit_multi_one, 2=bpfkit_multi_two)"),
        "{}",
        hooks[0]
    );
    assert!(hooks[1].starts_with("uretprobe.multi:/"), "{}", hooks[1]);
    for _ in 0..3 {
        bpfkit_multi_one(1);
    }
    bpfkit_multi_two(5);
    let last = bpfkit_multi_two(21);
    assert_eq!(last, 42);
    assert_eq!(global_u64(&session, "cookie1_calls"), 3);
    assert_eq!(global_u64(&session, "cookie2_calls"), 2);
    assert_eq!(global_u64(&session, "other_cookie_calls"), 0);
    assert_eq!(global_u64(&session, "returns"), 5);
    assert_eq!(global_u64(&session, "last_return"), 42);
    let ids = session.program_ids();
    assert_eq!(ids.len(), 2, "{ids:?}");
    drop(session);
    assert_unloaded(&ids);
    // Detached: calls are no longer seen (a fresh session starts at 0 and
    // only counts its own).
}

#[test]
fn uprobe_multi_without_a_match_names_the_pattern() {
    let Some(clang) = setup("uprobe_multi_without_a_match_names_the_pattern") else {
        return;
    };
    let object = build(&clang, "uprobe_multi");
    let exe = std::env::current_exe().expect("test binary path");
    let mut opts = LoadOptions::default();
    opts.disabled.insert("on_return".into());
    opts.attach_overrides.insert(
        "on_entry".into(),
        format!("{}:no_such_function_xyz*", exe.display()),
    );
    let e = Session::load(&object, &opts)
        .err()
        .expect("no function matches");
    let text = e.to_string();
    assert!(
        text.contains("no function matching 'no_such_function_xyz*'"),
        "{text}"
    );
    // A bare SEC("uprobe.multi") without --attach says how to give a target.
    let opts = LoadOptions::default();
    let e = Session::load(&object, &opts).err().expect("no target");
    assert!(
        e.to_string().contains("--attach on_entry=BINARY:PATTERN"),
        "{e}"
    );
}

/// A TCP exchange on loopback between sockets the sockops program put into
/// the sockmap: `ping` one way, `pong` back. Returns the bytes each side
/// read.
fn exchange_through_sockmap(object: &bpfkit_object::Object) -> (Session, Vec<u8>, Vec<u8>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("address").port();
    let mut opts = LoadOptions::default();
    opts.params
        .insert("target_port".into(), port.to_ne_bytes().to_vec());
    let session = Session::load(object, &opts).expect("load");
    let mut client = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let (mut server, _) = listener.accept().expect("accept");
    for s in [&client, &server] {
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .expect("timeout");
    }
    client.write_all(b"ping bpfkit").expect("send ping");
    let mut got_ping = vec![0u8; 11];
    server.read_exact(&mut got_ping).expect("read ping");
    server.write_all(b"pong").expect("send pong");
    let mut got_pong = vec![0u8; 4];
    client.read_exact(&mut got_pong).expect("read pong");
    (session, got_ping, got_pong)
}

fn hooks_of(session: &Session) -> Vec<String> {
    session
        .attachments()
        .iter()
        .map(|a| format!("{} {}", a.program, a.hook))
        .collect()
}

#[test]
fn sockops_fills_a_sockmap_that_sk_msg_and_sk_skb_see() {
    let Some(clang) = setup("sockops_fills_a_sockmap_that_sk_msg_and_sk_skb_see") else {
        return;
    };
    for (name, skb_hook) in [
        ("sockmap", "sk_skb:verdict on map sockets"),
        ("sockmap_stream", "sk_skb:stream_verdict on map sockets"),
    ] {
        let object = build(&clang, name);
        let (session, ping, pong) = exchange_through_sockmap(&object);
        let hooks = hooks_of(&session);
        println!("{hooks:#?}");
        assert!(
            hooks.contains(&"on_sockops sockops on the root cgroup".to_string()),
            "{hooks:?}"
        );
        assert!(
            hooks.contains(&"on_msg sk_msg on map sockets".to_string()),
            "{hooks:?}"
        );
        assert!(hooks.contains(&format!("on_skb {skb_hook}")), "{hooks:?}");
        assert_eq!(ping, b"ping bpfkit", "{name}");
        assert_eq!(pong, b"pong", "{name}");
        assert_eq!(global_u64(&session, "active_established"), 1, "{name}");
        assert_eq!(global_u64(&session, "passive_established"), 1, "{name}");
        assert_eq!(global_u64(&session, "msg_bytes"), 15, "{name}");
        assert!(global_u64(&session, "msgs") >= 2, "{name}");
        assert_eq!(global_u64(&session, "skb_bytes"), 15, "{name}");
        assert!(global_u64(&session, "skbs") >= 2, "{name}");
        let ids = session.program_ids();
        assert_eq!(ids.len(), if name == "sockmap" { 3 } else { 4 });
        drop(session);
        assert_unloaded(&ids);
    }
}

#[test]
fn cgroup_connect4_rewrites_and_sock_create_counts() {
    let Some(clang) = setup("cgroup_connect4_rewrites_and_sock_create_counts") else {
        return;
    };
    let object = build(&clang, "cgroup_sock");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let to_port = listener.local_addr().expect("address").port();
    // A port nothing listens on at 127.0.0.2: only the rewrite connects.
    let from_port = to_port.wrapping_add(1).max(1024);
    let mut opts = LoadOptions::default();
    opts.params
        .insert("from_port".into(), from_port.to_ne_bytes().to_vec());
    opts.params
        .insert("to_port".into(), to_port.to_ne_bytes().to_vec());
    let session = Session::load(&object, &opts).expect("load");
    let hooks = hooks_of(&session);
    println!("{hooks:#?}");
    assert_eq!(
        hooks,
        [
            "on_connect4 cgroup:connect4 on the root cgroup",
            "on_sock_create cgroup:sock_create on the root cgroup"
        ]
    );
    let client = std::net::TcpStream::connect(("127.0.0.2", from_port)).expect("rewritten connect");
    let (server, _) = listener.accept().expect("accept");
    assert_eq!(
        server.peer_addr().expect("peer").port(),
        client.local_addr().expect("local").port()
    );
    assert_eq!(global_u64(&session, "connects_rewritten"), 1);
    for _ in 0..3 {
        // SAFETY: plain socket(2); the fd is closed right away.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 136) };
        assert!(
            fd >= 0,
            "UDP-Lite socket: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: fd is ours.
        unsafe { libc::close(fd) };
    }
    assert_eq!(global_u64(&session, "udplite_sockets"), 3);
    let ids = session.program_ids();
    drop(session);
    assert_unloaded(&ids);
    // Detached: the same connect now finds nobody listening.
    assert!(std::net::TcpStream::connect(("127.0.0.2", from_port)).is_err());
}

#[test]
fn syscall_program_runs_once_with_its_context() {
    let Some(clang) = setup("syscall_program_runs_once_with_its_context") else {
        return;
    };
    let object = build(&clang, "syscall");
    let ctx: Vec<u8> = [2u32, 40, 0].iter().flat_map(|v| v.to_ne_bytes()).collect();
    let opts = LoadOptions {
        syscall_ctx: ctx,
        ..LoadOptions::default()
    };
    let session = Session::load(&object, &opts).expect("load");
    assert_eq!(
        hooks_of(&session),
        ["add syscall (run once with BPF_PROG_RUN)"]
    );
    assert_eq!(global_u64(&session, "runs"), 0, "not run before asked");
    let runs = session.run_syscall_programs().expect("run");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].program, "add");
    assert_eq!(runs[0].retval, 42);
    assert_eq!(runs[0].ctx_out[8..12], 42u32.to_ne_bytes());
    assert_eq!(global_u64(&session, "runs"), 1);
    let ids = session.program_ids();
    assert_eq!(ids.len(), 1);
    drop(session);
    assert_unloaded(&ids);
}

/// kprobe.multi needs kprobes, struct_ops and fsession trampolines (and
/// bpfkit registers no struct_ops map and creates no fsession link yet):
/// alone, each fails before anything is loaded, with one line that names
/// the program, its SEC() and what is missing.
#[test]
fn hooks_this_kernel_lacks_fail_with_one_clear_error() {
    let Some(clang) = setup("hooks_this_kernel_lacks_fail_with_one_clear_error") else {
        return;
    };
    let object = build(&clang, "gaps");
    let kernel = bpfkit_runtime::features::kernel();
    let cases = [
        (
            "on_unlink_multi",
            "kprobe.multi/do_unlinkat",
            "kprobe.multi links",
            !kernel.kprobes,
        ),
        (
            "cong_avoid",
            "struct_ops/bpfkit_cong_avoid",
            "struct_ops",
            true,
        ),
        ("unlink_session", "fsession/do_unlinkat", "fsession", true),
    ];
    let programs: Vec<&str> = cases.iter().map(|c| c.0).collect();
    for (program, section, feature, lacking) in cases {
        if !lacking {
            println!("skipping {program}: this kernel has kprobes");
            continue;
        }
        let mut opts = LoadOptions::default();
        opts.disabled.extend(
            programs
                .iter()
                .filter(|&&p| p != program)
                .map(|p| p.to_string()),
        );
        let e = Session::load(&object, &opts)
            .err()
            .unwrap_or_else(|| panic!("{program} loaded"));
        let text = e.to_string();
        println!("{text}");
        // "this kernel has no ..." here; on kernels with trampolines,
        // "bpfkit does not ... yet".
        assert!(
            text.starts_with(&format!("program '{program}' ({section}): ")),
            "{text}"
        );
        assert!(text.contains(feature), "{text}");
        assert_eq!(text.lines().count(), 1, "{text}");
        // Skipping unsupported hooks leaves the program out with the same reason.
        opts.skip_unsupported = true;
        let session = Session::load(&object, &opts).expect("load with skipping");
        assert!(session.attachments().is_empty());
        assert_eq!(session.skipped().len(), 3);
        assert!(
            session
                .skipped()
                .iter()
                .any(|s| s.program == program && s.reason == text),
            "{:?}",
            session.skipped()
        );
    }
}

#[test]
fn sockmap_programs_take_their_map_from_attach() {
    let Some(clang) = setup("sockmap_programs_take_their_map_from_attach") else {
        return;
    };
    let object = build(&clang, "sockmap");
    let mut opts = LoadOptions::default();
    opts.attach_overrides
        .insert("on_msg".into(), "sockets".into());
    let session = Session::load(&object, &opts).expect("load");
    assert!(
        hooks_of(&session).contains(&"on_msg sk_msg on map sockets".to_string()),
        "{:?}",
        hooks_of(&session)
    );
    drop(session);
    opts.attach_overrides
        .insert("on_skb".into(), "nosuch".into());
    let e = Session::load(&object, &opts).err().expect("no such map");
    assert_eq!(
        e.to_string(),
        "--attach on_skb=nosuch: no sockmap or sockhash 'nosuch' (this object has: sockets)"
    );
}
