//! bpfkit-output
