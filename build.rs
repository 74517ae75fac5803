// refinery embeds the migration files at compile time, but cargo does not watch the folder:
// without this a new migration file would not trigger a rebuild.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
