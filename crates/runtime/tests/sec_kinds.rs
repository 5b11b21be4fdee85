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
