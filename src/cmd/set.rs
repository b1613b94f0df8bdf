//! The set command family.
use super::spec::CommandSpec;

pub const COMMANDS: &[CommandSpec] = &[];
