//! bpfkit-build
