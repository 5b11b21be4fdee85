//! bpfkit-tools
