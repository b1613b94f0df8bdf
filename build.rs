//! Compiles the small C helper for long double arithmetic (INCRBYFLOAT).
fn main() {
    println!("cargo:rerun-if-changed=src/util/ld.c");
    cc::Build::new()
        .file("src/util/ld.c")
        .warnings(true)
        .compile("ferrodis_ld");
}
