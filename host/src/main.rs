fn main() -> std::process::ExitCode {
    rampart_host::cli::main()
}
