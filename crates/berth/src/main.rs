//! `berth`: the command line. It parses arguments, calls a library, prints; nothing else.

fn main() {}
