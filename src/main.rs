fn main() -> std::process::ExitCode {
    voki::cli::run()
}
