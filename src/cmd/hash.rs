//! The hash command family.
use super::spec::CommandSpec;

pub const COMMANDS: &[CommandSpec] = &[];
