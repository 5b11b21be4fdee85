fn main() {
    println!("bpfkit");
}
