//! bpfkit-runtime
