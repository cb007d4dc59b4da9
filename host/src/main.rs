// A scan makes and frees millions of small strings and findings: mimalloc
// takes about a tenth off a 10k-pod scan's wall time compared with the C
// library's allocator (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // No transparent huge pages for this process. mimalloc asks for them on
    // its large regions, and the first touch of a 2 MiB page was several
    // times slower than of the same memory in 4 KiB pages on the virtual
    // machines measured: a 150k-pod scan spent a fifth of its time there
    // (docs/performance.md). A scan touches each byte it allocates a few
    // times at most, so it gains nothing back from fewer TLB misses.
    // Where the kernel refuses, the scan is only slower.
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    rampart_host::cli::main()
}
