//! A reader that goes away (`kms audit list | head -1`): the command stops quietly, as `ls | head`
//! does. Rust ignores SIGPIPE, so a write to a closed pipe is an error, and `println!` panics on
//! it; resetting the signal's disposition would need `unsafe` (this crate forbids it), so the
//! panic is caught instead: the process exits with 141 (128 + SIGPIPE, what a shell reports for a
//! command the signal stopped) and prints nothing. Every other panic goes to the default hook.

/// Installs the hook; for the commands, not `kms serve`.
pub fn exit_quietly_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("os error 32") {
            std::process::exit(141);
        }
        default(info);
    }));
}
