//! bpfkit-sys: raw bpf(2) syscall wrappers.
