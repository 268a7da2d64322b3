//! Writes the seed inputs of every fuzz target to `fuzz/corpus/<target>/`.
//!
//! `cargo run -p hedui-fuzz --example write_seeds` from the workspace root.

fn main() -> std::io::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    for (name, _) in hedui_fuzz::TARGETS {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir)?;
        for (i, seed) in hedui_fuzz::seeds(name).iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i:02}")), seed)?;
        }
        println!("{name}: {} seeds", hedui_fuzz::seeds(name).len());
    }
    Ok(())
}
